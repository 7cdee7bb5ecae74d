"""Codec 1: a single Zstandard frame at level 19 (python-zstandard)."""

from __future__ import annotations

import zstandard

from formats.errors import CodecError
from formats.ids import CodecId

LEVEL = 19
FRAME_MAGIC = b"\x28\xb5\x2f\xfd"
"""The first bytes of a Zstandard data frame (0xFD2FB528 little-endian); skippable frames differ."""


def _decode_empty(dctx: zstandard.ZstdDecompressor, payload: bytes) -> bytes:
    # decompress() returns b"" for a frame declaring size 0 without reading it; stream it instead, in
    # chunks small enough that each can only yield a few blocks, so the whole frame is validated.
    dobj = dctx.decompressobj()
    out = b""
    view = memoryview(payload)
    for start in range(0, len(view), 16):
        out += dobj.decompress(view[start : start + 16])
        if out:
            raise CodecError("zstd payload decodes to more than the 0 bytes declared")
    if not dobj.eof:
        raise CodecError("zstd payload is truncated (frame does not end)")
    if dobj.unused_data:
        raise CodecError(f"zstd payload has {len(dobj.unused_data)} bytes of trailing data")
    return out


class ZstdCodec:
    """Zstandard, level 19, one frame with its content size, no checksum (wire id 1).

    Example:
        >>> c = ZstdCodec()
        >>> c.decode(c.encode(b"abcabc", 1), 6, 1)
        b'abcabc'
    """

    codec_id = int(CodecId.ZSTD)
    name = "zstd"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        cctx = zstandard.ZstdCompressor(level=LEVEL, write_content_size=True, write_checksum=False)
        return cctx.compress(bytes(data))

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        if bytes(payload[:4]) != FRAME_MAGIC:
            raise CodecError("zstd payload does not start with a Zstandard data frame (skippable frames and "
                             "other data are not allowed, spec/CODECS.md 2)")
        try:
            declared = zstandard.frame_content_size(payload)
        except zstandard.ZstdError as exc:
            raise CodecError(f"zstd frame header is corrupt ({exc})") from None
        # python-zstandard allocates the declared content size and ignores max_output_size when the
        # header states one, so the claim is checked before anything is allocated.
        if declared == -1:
            raise CodecError("zstd frame does not declare its content size; the writer must store it")
        if declared != out_size:
            raise CodecError(f"zstd frame declares {declared} bytes but the tensor needs {out_size}")
        dctx = zstandard.ZstdDecompressor()
        try:
            if out_size == 0:
                out = _decode_empty(dctx, payload)
            else:
                out = dctx.decompress(payload, max_output_size=out_size, allow_extra_data=False)
        except zstandard.ZstdError as exc:
            raise CodecError(f"zstd payload is corrupt ({exc})") from None
        if len(out) != out_size:
            raise CodecError(f"zstd payload decodes to {len(out)} bytes but the tensor needs {out_size}")
        return out
