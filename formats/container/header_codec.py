"""The stored header is the msgpack header in a zlib stream (spec: "Header compression").

zlib (RFC 1950: a 2-byte header, DEFLATE data, Adler-32 of the inflated bytes) because
every runtime has it. The writer compresses at a fixed level, so equal headers give equal
bytes with a given zlib build. The reader knows the declared inflated length ``U``
(already capped by :class:`~formats.container.limits.Limits`) and inflates with an output
cap of ``U + 1`` bytes, so a header bomb never allocates more than the cap.
"""

from __future__ import annotations

import zlib

from formats.errors import HeaderError

#: DEFLATE level of the reference writer (part of its determinism, not of the format).
LEVEL = 9
#: zlib window bits: a zlib (RFC 1950) wrapper, windows of up to 32 KiB.
WBITS = 15


def deflate_header(raw: bytes, block_end: int = 0) -> bytes:
    """The stored form of a msgpack header: one zlib stream at level 9.

    ``block_end`` > 0 ends a DEFLATE block after that many bytes (a 2.0 header's ``checks``, spec 4.8):
    zlib then stores the incompressible check values as they are, and codes the rest with Huffman
    codes of its own. The inflated bytes are the same either way.

    Example:
        >>> inflate_header(deflate_header(b"\\x80"), 1)
        b'\\x80'
    """
    compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, WBITS, 8, zlib.Z_DEFAULT_STRATEGY)
    if block_end <= 0:
        return compressor.compress(raw) + compressor.flush()
    head = compressor.compress(raw[:block_end]) + compressor.flush(zlib.Z_BLOCK)
    return head + compressor.compress(raw[block_end:]) + compressor.flush()


def inflate_header(stored: bytes, raw_length: int) -> bytes:
    """Inflate a stored header that must decode to exactly ``raw_length`` bytes.

    Args:
        stored: the H stored header bytes (their CRC is already checked).
        raw_length: U from the preamble, >= 1 and already within the header cap.

    Returns:
        The ``raw_length`` msgpack bytes.

    Raises:
        HeaderError: not one complete zlib stream (bad header, preset dictionary, corrupt
            data, Adler-32 mismatch, early end, bytes after the stream) or an inflated size
            other than ``raw_length``.
    """
    inflater = zlib.decompressobj(WBITS)
    try:
        raw = inflater.decompress(stored, raw_length + 1)
    except zlib.error as exc:
        raise HeaderError(f"stored header is not a valid zlib stream: {exc}") from None
    if len(raw) > raw_length:
        raise HeaderError(
            f"stored header inflates to more than the {raw_length} bytes its preamble declares"
        )
    if not inflater.eof:
        raise HeaderError(
            f"stored header's zlib stream ends early (after {len(raw)} of {raw_length} declared bytes)"
        )
    if inflater.unused_data or inflater.unconsumed_tail:
        raise HeaderError("stored header has bytes after the end of its zlib stream")
    if len(raw) != raw_length:
        raise HeaderError(f"stored header inflates to {len(raw)} bytes, its preamble declares {raw_length}")
    return raw
