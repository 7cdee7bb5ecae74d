"""Codec 4: raw LZMA2 (no .xz container), preset 9 | PRESET_EXTREME, dictionary sized from the length."""

from __future__ import annotations

import lzma

from formats.errors import CodecError
from formats.ids import CodecId

PRESET = 9 | lzma.PRESET_EXTREME
MIN_DICT = 1 << 12
MAX_DICT = 1 << 26  # preset 9's dictionary


def dict_size(n: int) -> int:
    """LZMA2 dictionary size for an ``n``-byte input: the next power of two, clamped to [4 KiB, 64 MiB].

    Writer and reader both derive it from the decoded length, so nothing is stored and a reader never
    allocates a dictionary larger than the tensor it decodes (or 4 KiB).

    Args:
        n: decoded length in bytes.

    Returns:
        The dictionary size in bytes.

    Example:
        >>> dict_size(5000)
        8192
    """
    size = MIN_DICT
    while size < n and size < MAX_DICT:
        size <<= 1
    return size


def _filters(n: int) -> list[dict]:
    return [{"id": lzma.FILTER_LZMA2, "preset": PRESET, "dict_size": dict_size(n)}]


class LzmaCodec:
    """Raw LZMA2 stream ending with its end marker (wire id 4); see spec/CODECS.md.

    Example:
        >>> c = LzmaCodec()
        >>> c.decode(c.encode(b"abcabc", 1), 6, 1)
        b'abcabc'
    """

    codec_id = int(CodecId.LZMA)
    name = "lzma"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return lzma.compress(bytes(data), format=lzma.FORMAT_RAW, filters=_filters(len(data)))

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_filters(out_size))
        try:
            out = dec.decompress(bytes(payload), max_length=out_size + 1)
        except lzma.LZMAError as exc:
            raise CodecError(f"lzma payload is corrupt ({exc})") from None
        if len(out) > out_size:
            raise CodecError(f"lzma payload decodes to more than the {out_size} bytes declared")
        if not dec.eof:
            raise CodecError("lzma payload is truncated (no LZMA2 end marker)")
        if dec.unused_data:
            raise CodecError(f"lzma payload has {len(dec.unused_data)} bytes of trailing data")
        if len(out) != out_size:
            raise CodecError(f"lzma payload decodes to {len(out)} bytes but the tensor needs {out_size}")
        return out
