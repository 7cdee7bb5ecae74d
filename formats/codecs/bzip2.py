"""Codec 3: bzip2 (Burrows-Wheeler transform coder), block size 9, stdlib :mod:`bz2`."""

from __future__ import annotations

import bz2

from formats.errors import CodecError
from formats.ids import CodecId

LEVEL = 9


class Bzip2Codec:
    """bzip2, compresslevel 9, exactly one stream (wire id 3).

    Example:
        >>> c = Bzip2Codec()
        >>> c.decode(c.encode(b"abcabc", 1), 6, 1)
        b'abcabc'
    """

    codec_id = int(CodecId.BZIP2)
    name = "bzip2"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return bz2.compress(bytes(data), compresslevel=LEVEL)

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        dec = bz2.BZ2Decompressor()
        try:
            out = dec.decompress(bytes(payload), max_length=out_size + 1)
        except (OSError, ValueError, EOFError) as exc:
            raise CodecError(f"bzip2 payload is corrupt ({exc})") from None
        if len(out) > out_size:
            raise CodecError(f"bzip2 payload decodes to more than the {out_size} bytes declared")
        if not dec.eof:
            raise CodecError("bzip2 payload is truncated (stream does not end)")
        if dec.unused_data:
            raise CodecError(f"bzip2 payload has {len(dec.unused_data)} bytes of trailing data")
        if len(out) != out_size:
            raise CodecError(f"bzip2 payload decodes to {len(out)} bytes but the tensor needs {out_size}")
        return out
