"""Codec registry: wire id -> codec, built from the constants in :mod:`formats.ids`.

Example:
    >>> from formats.codecs import get_codec
    >>> get_codec(0).decode(get_codec(0).encode(b"abc", 1), 3, 1)
    b'abc'
"""

from __future__ import annotations

from collections.abc import Iterable

from formats.codecs.base import Codec
from formats.codecs.brotli_codec import BrotliCodec
from formats.codecs.bzip2 import Bzip2Codec
from formats.codecs.lzma_codec import LzmaCodec
from formats.codecs.lzw import LzwCodec
from formats.codecs.rans import RansCodec
from formats.codecs.rans_ctx import RansCtxCodec
from formats.codecs.rans_zs import RansZsCodec
from formats.codecs.raw import RawCodec
from formats.codecs.zstd import ZstdCodec
from formats.errors import UnknownIdError
from formats.ids import CodecId

CODECS: dict[int, Codec] = {
    CodecId.RAW: RawCodec(),
    CodecId.ZSTD: ZstdCodec(),
    CodecId.BROTLI: BrotliCodec(),
    CodecId.BZIP2: Bzip2Codec(),
    CodecId.LZMA: LzmaCodec(),
    CodecId.LZW: LzwCodec(),
    CodecId.RANS: RansCodec(),
    CodecId.RANS_ZS: RansZsCodec(),
    CodecId.RANS_CTX: RansCtxCodec(),
}

#: Inputs longer than this leave LZW out of the default "auto" candidates (its pure-Python coder runs at
#: a few MB/s and is never the smallest on large tensors in our measurements).
LZW_AUTO_LIMIT = 1 << 20
#: Inputs shorter than this leave rANS-CTX out of the default "auto" candidates (see :func:`default_candidates`).
CTX_AUTO_MIN = 1 << 10


def codec_names() -> tuple[str, ...]:
    """Names of the registered codecs in wire-id order (what ``--codec`` accepts besides "auto").

    Example:
        >>> codec_names()[:3]
        ('raw', 'zstd', 'brotli')
    """
    return tuple(CODECS[k].name for k in sorted(CODECS))


def get_codec(codec_id: int) -> Codec:
    """Return the codec for a wire id, or raise :class:`UnknownIdError`."""
    try:
        return CODECS[int(codec_id)]
    except KeyError:
        known = ", ".join(f"{int(k)}={c.name}" for k, c in sorted(CODECS.items()))
        raise UnknownIdError(
            f"unknown codec id {codec_id} (known: {known}); the file needs a newer dualsparse"
        ) from None


def codec_id_from_name(name: str) -> int:
    """Wire id of a codec given its name (``raw``, ``zstd``, ``brotli``, ``bzip2``, ``lzma``, ``lzw``, ``rans``,
    ``rans-zs``, ``rans-ctx``).

    Args:
        name: codec name, case-insensitive.

    Returns:
        The codec's wire id.

    Raises:
        UnknownIdError: the name is not a known codec.

    Example:
        >>> codec_id_from_name("rans")
        6
    """
    key = name.strip().lower()
    for codec_id, codec in CODECS.items():
        if codec.name == key:
            return int(codec_id)
    names = ", ".join(c.name for _, c in sorted(CODECS.items()))
    raise UnknownIdError(f"unknown codec name {name!r}; choose one of: {names}")


def default_candidates(size: int) -> list[int]:
    """Codec ids tried by "auto" for an input of ``size`` bytes: every codec, minus LZW above 1 MiB and
    rANS-CTX below :data:`CTX_AUTO_MIN` bytes.

    rANS-CTX's plain mode is a codec-6 stream plus one byte, and its context mode needs more symbols than
    a small tensor has to pay for its tables: on four real files (post-training ResNet-56, the ResNet-32,
    ResNet-20 and LeNet recipe files) it won none of the 433 inputs under 1 KiB, while its fixed cost per
    call made it a fifth of the time "auto" spent.

    Args:
        size: input length in bytes.

    Returns:
        Sorted codec ids.

    Example:
        >>> default_candidates(1 << 12) == sorted(CODECS)
        True
        >>> CodecId.RANS_CTX in default_candidates(10)
        False
    """
    return [int(c) for c in sorted(CODECS)
            if not (c == CodecId.LZW and size > LZW_AUTO_LIMIT) and not (c == CodecId.RANS_CTX and size < CTX_AUTO_MIN)]


def encode_best(data: bytes, itemsize: int, candidates: Iterable[int] | None = None) -> tuple[int, bytes]:
    """Encode with each candidate and keep the smallest payload (ties -> lowest id).

    The exhaustive choice, what "auto" did before :func:`encode_auto` (which codes one or two candidates
    chosen by estimate); kept to measure what the cheaper choice costs in size.

    Args:
        data: little-endian element bytes.
        itemsize: element size in bytes.
        candidates: codec ids to try; default :func:`default_candidates` (all but LZW above 1 MiB).

    Returns:
        ``(codec_id, payload)``.

    Raises:
        UnknownIdError: a candidate id is not a known codec.

    Example:
        >>> encode_best(bytes(1000), 1)[0] != 0
        True
    """
    data = bytes(data)
    ids = default_candidates(len(data)) if candidates is None else sorted({int(c) for c in candidates})
    if not ids:
        raise ValueError("encode_best needs at least one candidate codec")
    best_id, best = -1, b""
    for codec_id in ids:
        payload = get_codec(codec_id).encode(data, itemsize)
        if best_id < 0 or len(payload) < len(best):
            best_id, best = codec_id, payload
    return best_id, best


from formats.codecs.auto import encode_auto  # noqa: E402 - auto looks codecs up in this registry

__all__ = [
    "CODECS",
    "codec_names",
    "CTX_AUTO_MIN",
    "LZW_AUTO_LIMIT",
    "Codec",
    "codec_id_from_name",
    "default_candidates",
    "encode_auto",
    "encode_best",
    "get_codec",
]
