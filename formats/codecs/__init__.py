"""Codec registry: wire id -> codec, built from the constants in :mod:`formats.ids`.

Example:
    >>> from formats.codecs import get_codec
    >>> get_codec(0).decode(get_codec(0).encode(b"abc", 1), 3, 1)
    b'abc'
"""

from __future__ import annotations

from formats.codecs.base import Codec
from formats.codecs.brotli_codec import BrotliCodec
from formats.codecs.bzip2 import Bzip2Codec
from formats.codecs.lzma_codec import LzmaCodec
from formats.codecs.lzw import LzwCodec
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
}


def get_codec(codec_id: int) -> Codec:
    """Return the codec for a wire id, or raise :class:`UnknownIdError`."""
    try:
        return CODECS[int(codec_id)]
    except KeyError:
        known = ", ".join(f"{int(k)}={c.name}" for k, c in sorted(CODECS.items()))
        raise UnknownIdError(
            f"unknown codec id {codec_id} (known: {known}); the file needs a newer dualsparse"
        ) from None


__all__ = ["CODECS", "Codec", "get_codec"]
