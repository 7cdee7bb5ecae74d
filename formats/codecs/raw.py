"""Codec 0: the payload is the data itself."""

from __future__ import annotations

from formats.errors import CodecError
from formats.ids import CodecId


class RawCodec:
    """Identity codec (wire id 0)."""

    codec_id = int(CodecId.RAW)
    name = "raw"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return bytes(data)

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        if len(payload) != out_size:
            raise CodecError(
                f"raw payload is {len(payload)} bytes but the tensor needs {out_size}; the file is corrupt"
            )
        return bytes(payload)
