"""Codec 2: Brotli at quality 11 (generic mode, default window)."""

from __future__ import annotations

import brotli

from formats.errors import CodecError
from formats.ids import CodecId

QUALITY = 11


class BrotliCodec:
    """Brotli, quality 11, one stream (wire id 2).

    Example:
        >>> c = BrotliCodec()
        >>> c.decode(c.encode(b"abcabc", 1), 6, 1)
        b'abcabc'
    """

    codec_id = int(CodecId.BROTLI)
    name = "brotli"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return brotli.compress(bytes(data), quality=QUALITY)

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        dec = brotli.Decompressor()
        chunks: list[bytes] = []
        total = 0
        feed = bytes(payload)
        try:
            while True:
                # output_buffer_limit caps each call (the library rounds it up to its block size, a constant)
                chunk = dec.process(feed, output_buffer_limit=out_size - total + 1)
                feed = b""
                chunks.append(chunk)
                total += len(chunk)
                if total > out_size:
                    raise CodecError(f"brotli payload decodes to more than the {out_size} bytes declared")
                if dec.is_finished() or dec.can_accept_more_data():
                    break
                if not chunk:
                    raise CodecError("brotli decoder made no progress; the payload is corrupt")
        except brotli.error as exc:
            raise CodecError(f"brotli payload is corrupt ({exc})") from None
        if not dec.is_finished():
            raise CodecError("brotli payload is truncated (stream does not end)")
        if total != out_size:
            raise CodecError(f"brotli payload decodes to {total} bytes but the tensor needs {out_size}")
        return b"".join(chunks)
