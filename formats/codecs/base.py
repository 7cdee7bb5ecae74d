"""The codec contract: bytes in, bytes out, with a hard cap on decoded size."""

from __future__ import annotations

from typing import Protocol


class Codec(Protocol):
    """One lossless coder behind a wire id (see :class:`formats.ids.CodecId`).

    ``encode`` takes the little-endian bytes of a symbol/element stream whose
    elements are ``itemsize`` bytes wide (1, 2, 4 or 8). Codecs that model
    symbols (rANS) use ``itemsize`` as the symbol width; byte-oriented codecs
    ignore it. ``decode`` MUST return exactly ``out_size`` bytes or raise
    :class:`formats.errors.CodecError`; it MUST NOT allocate more than
    ``out_size`` bytes of output (plus a constant) whatever the payload says.
    """

    codec_id: int
    name: str

    def encode(self, data: bytes, itemsize: int) -> bytes: ...

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes: ...
