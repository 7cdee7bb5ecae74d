"""Pick and run the codec of one payload, honouring the decompression-bomb rule."""

from __future__ import annotations

from formats import codecs
from formats.container.limits import Limits
from formats.errors import LimitError, UnknownIdError
from formats.ids import CodecId

AUTO = "auto"


def resolve_codec(codec: str | int) -> int | None:
    """Codec id for a name or id; None for ``"auto"``.

    Raises:
        UnknownIdError: no codec of that name or id is available.
    """
    if isinstance(codec, str):
        if codec.lower() == AUTO:
            return None
        from_name = getattr(codecs, "codec_id_from_name", None)
        if from_name is not None:
            return int(from_name(codec))
        for cid, impl in codecs.CODECS.items():
            if impl.name.lower() == codec.lower():
                return int(cid)
        known = ", ".join(sorted(c.name for c in codecs.CODECS.values()))
        raise UnknownIdError(f"unknown codec name {codec!r} (available: auto, {known})")
    codecs.get_codec(int(codec))  # raises UnknownIdError for unknown ids
    return int(codec)


def fits(codec_id: int, data_size: int, payload_size: int, limits: Limits, decoded_size: int = 0) -> bool:
    """True if a reader with ``limits`` accepts a payload of ``payload_size`` bytes that decodes to
    ``data_size`` stored bytes and a tensor of ``decoded_size`` bytes."""
    if codec_id == CodecId.RAW and payload_size != data_size:
        return False
    return max(data_size, decoded_size) <= limits.max_decoded_bytes(payload_size)


def encode_payload(
    data: bytes, itemsize: int, codec: str | int, limits: Limits, decoded_size: int = 0
) -> tuple[int, bytes]:
    """Encode ``data`` with the chosen codec, or the smallest acceptable one for ``"auto"``.

    ``decoded_size`` is the byte size of the decoded tensor, which the expansion rule
    bounds together with ``len(data)``.

    "auto" asks :func:`formats.codecs.encode_auto` (candidates ranked by estimated size, the best one or two
    coded, the smaller kept) over :func:`formats.codecs.default_candidates`; a winner that would break the
    expansion rule is dropped and the choice repeated, so RAW is the last resort.

    Raises:
        LimitError: an explicitly chosen codec compresses beyond the expansion rule.
    """
    codec_id = resolve_codec(codec)
    if codec_id is not None:
        payload = codecs.get_codec(codec_id).encode(data, itemsize)
        if not fits(codec_id, len(data), len(payload), limits, decoded_size):
            raise LimitError(
                f"codec {codec!r} packs {len(data)} bytes into {len(payload)}, beyond the expansion limit "
                "readers enforce; use codec='auto' or another codec"
            )
        return codec_id, payload
    candidates = codecs.default_candidates(len(data))
    encode_auto = getattr(codecs, "encode_auto", None)
    while candidates:
        if encode_auto is not None:
            codec_id, payload = encode_auto(data, itemsize, candidates)
            codec_id = int(codec_id)
        else:
            codec_id, payload = _smallest(data, itemsize, candidates)
        if fits(codec_id, len(data), len(payload), limits, decoded_size):
            return codec_id, payload
        candidates.remove(codec_id)
    if not fits(CodecId.RAW, len(data), len(data), limits, decoded_size):
        raise LimitError(f"{decoded_size} decoded bytes from {len(data)} stored bytes break the expansion limit")
    return int(CodecId.RAW), bytes(data)


def _smallest(data: bytes, itemsize: int, candidates: list[int]) -> tuple[int, bytes]:
    best: tuple[int, bytes] | None = None
    for cid in candidates:
        payload = codecs.get_codec(cid).encode(data, itemsize)
        if best is None or len(payload) < len(best[1]):
            best = (cid, payload)
    if best is None:
        raise ValueError("no codec candidates")
    return best
