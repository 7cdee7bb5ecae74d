"""The fixed 40-byte preamble of a ``.dsz`` file (spec: "Preamble").

::

    offset size field
         0    8 magic              89 44 53 5A 0D 0A 1A 0A  ("\\x89DSZ\\r\\n\\x1a\\n")
         8    2 major              u16 LE, 2 (1: a version 1.0 file, still read)
        10    2 minor              u16 LE, 0
        12    4 flags              u32 LE, MUST be 0 (must-understand feature bits)
        16    8 header_length      u64 LE, H: stored (zlib-compressed) header bytes
        24    8 payload_length     u64 LE, P: bytes of the payload section
        32    4 header_raw_length  u32 LE, U: bytes of the msgpack header once inflated
        36    4 header_crc32       u32 LE, CRC-32 of bytes [8, 36) then of the H stored bytes
        40      stored header, then payloads; the file ends exactly at 40 + H + P
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from formats.container.limits import Limits
from formats.errors import (
    BadMagicError,
    ChecksumError,
    HeaderError,
    LayoutError,
    LimitError,
    TruncatedError,
    UnsupportedVersionError,
)

MAGIC = b"\x89DSZ\r\n\x1a\n"
FORMAT_MAJOR = 2
FORMAT_MINOR = 0
#: Majors this reader reads, each with the newest minor it knows (unknown keys are judged against it).
READ_VERSIONS = {1: 0, 2: 0}
PREAMBLE_SIZE = 40
_FIELDS = struct.Struct("<HHIQQI")  # major, minor, flags, header_length, payload_length, header_raw_length
_CRC = struct.Struct("<I")  # header_crc32


@dataclass(frozen=True)
class Preamble:
    """Decoded preamble fields."""

    major: int
    minor: int
    header_length: int
    payload_length: int
    header_raw_length: int
    header_crc32: int

    @property
    def file_length(self) -> int:
        """Exact length of the whole file."""
        return PREAMBLE_SIZE + self.header_length + self.payload_length


def header_crc32(fields: bytes, stored_header: bytes) -> int:
    """CRC-32 (zlib / ISO-HDLC) of the preamble bytes [8, 36) followed by the stored header."""
    return zlib.crc32(stored_header, zlib.crc32(fields)) & 0xFFFFFFFF


def pack_preamble(stored_header: bytes, raw_length: int, payload_length: int, major: int = FORMAT_MAJOR) -> bytes:
    """Preamble for a compressed header (``raw_length`` bytes inflated) and ``payload_length`` payload bytes."""
    fields = _FIELDS.pack(major, READ_VERSIONS[major], 0, len(stored_header), payload_length, raw_length)
    return MAGIC + fields + _CRC.pack(header_crc32(fields, stored_header))


def parse_preamble(data: bytes, file_length: int, limits: Limits) -> Preamble:
    """Check magic, version, reserved fields, sizes against limits and the file length.

    Args:
        data: the first ``min(40, file_length)`` bytes of the file.
        file_length: length of the whole file.
        limits: caps (only ``max_header_bytes`` is used here: it bounds both the stored
            and the declared inflated header length, checked before anything is read).

    Returns:
        The preamble; the header CRC is checked later by :func:`check_header_crc`.

    Raises:
        BadMagicError, TruncatedError, UnsupportedVersionError, HeaderError, LimitError, LayoutError.
    """
    head = bytes(data[: len(MAGIC)])
    if head != MAGIC[: len(head)]:
        raise BadMagicError(
            f"file starts with {head!r}, not the .dsz magic {MAGIC!r}; not a .dsz file, or it was "
            "damaged by a text-mode transfer"
        )
    if file_length < PREAMBLE_SIZE:
        raise TruncatedError(f"file is {file_length} bytes, shorter than the {PREAMBLE_SIZE}-byte preamble")
    major, minor, flags, header_length, payload_length, raw_length = _FIELDS.unpack_from(data, len(MAGIC))
    (crc,) = _CRC.unpack_from(data, len(MAGIC) + _FIELDS.size)
    if major not in READ_VERSIONS:
        raise UnsupportedVersionError(
            f"file format version {major}.{minor} is not supported (this reader reads majors "
            f"{', '.join(map(str, READ_VERSIONS))}); upgrade dualsparse"
        )
    if flags != 0:
        raise HeaderError(f"preamble flags {flags:#x} must be 0 in versions 1 and 2 (no feature bits are defined)")
    if header_length > limits.max_header_bytes:
        raise LimitError(f"header is {header_length} bytes, above the limit of {limits.max_header_bytes}")
    if raw_length > limits.max_header_bytes:
        raise LimitError(
            f"header declares {raw_length} inflated bytes, above the limit of {limits.max_header_bytes}"
        )
    if raw_length == 0 or header_length == 0:
        raise HeaderError("preamble declares an empty header; a header is one msgpack map, at least 1 byte")
    preamble = Preamble(major, minor, header_length, payload_length, raw_length, crc)
    if file_length < preamble.file_length:
        raise TruncatedError(
            f"file is {file_length} bytes but its preamble declares {preamble.file_length}; it was cut short"
        )
    if file_length > preamble.file_length:
        raise LayoutError(
            f"file is {file_length} bytes but its preamble declares {preamble.file_length}; "
            "trailing bytes are not allowed"
        )
    return preamble


def check_header_crc(preamble_bytes: bytes, stored_header: bytes, preamble: Preamble) -> None:
    """Raise :class:`ChecksumError` if the header CRC does not match."""
    actual = header_crc32(bytes(preamble_bytes[len(MAGIC) : len(MAGIC) + _FIELDS.size]), stored_header)
    if actual != preamble.header_crc32:
        raise ChecksumError(
            f"header checksum is {actual:#010x}, preamble says {preamble.header_crc32:#010x}; "
            "the file is corrupt"
        )
