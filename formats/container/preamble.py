"""The fixed 40-byte preamble of a ``.dsz`` file (spec: "Preamble").

::

    offset size field
         0    8 magic            89 44 53 5A 0D 0A 1A 0A  ("\\x89DSZ\\r\\n\\x1a\\n")
         8    2 major            u16 LE, 1
        10    2 minor            u16 LE, 0
        12    4 flags            u32 LE, MUST be 0 (must-understand feature bits)
        16    8 header_length    u64 LE, bytes of the msgpack header
        24    8 payload_length   u64 LE, bytes of the payload section
        32    4 header_crc32     u32 LE, CRC-32 of bytes [8, 32) then of the header
        36    4 reserved         u32 LE, MUST be 0
        40      header, then payloads; the file ends exactly at 40 + header + payloads
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
FORMAT_MAJOR = 1
FORMAT_MINOR = 0
PREAMBLE_SIZE = 40
_FIELDS = struct.Struct("<HHIQQ")  # major, minor, flags, header_length, payload_length
_TAIL = struct.Struct("<II")  # header_crc32, reserved


@dataclass(frozen=True)
class Preamble:
    """Decoded preamble fields."""

    major: int
    minor: int
    header_length: int
    payload_length: int
    header_crc32: int

    @property
    def file_length(self) -> int:
        """Exact length of the whole file."""
        return PREAMBLE_SIZE + self.header_length + self.payload_length


def header_crc32(fields: bytes, header: bytes) -> int:
    """CRC-32 (zlib / ISO-HDLC) of the preamble bytes [8, 32) followed by the header."""
    return zlib.crc32(header, zlib.crc32(fields)) & 0xFFFFFFFF


def pack_preamble(header: bytes, payload_length: int) -> bytes:
    """Preamble for a header and a payload section of ``payload_length`` bytes."""
    fields = _FIELDS.pack(FORMAT_MAJOR, FORMAT_MINOR, 0, len(header), payload_length)
    return MAGIC + fields + _TAIL.pack(header_crc32(fields, header), 0)


def parse_preamble(data: bytes, file_length: int, limits: Limits) -> Preamble:
    """Check magic, version, reserved fields, sizes against limits and the file length.

    Args:
        data: the first ``min(40, file_length)`` bytes of the file.
        file_length: length of the whole file.
        limits: caps (only ``max_header_bytes`` is used here).

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
    major, minor, flags, header_length, payload_length = _FIELDS.unpack_from(data, len(MAGIC))
    crc, reserved = _TAIL.unpack_from(data, len(MAGIC) + _FIELDS.size)
    if major != FORMAT_MAJOR:
        raise UnsupportedVersionError(
            f"file format version {major}.{minor} is not supported (this reader reads major "
            f"{FORMAT_MAJOR}); upgrade dualsparse"
        )
    if flags != 0 or reserved != 0:
        raise HeaderError(f"preamble flags {flags:#x} / reserved {reserved:#x} must be 0 in version 1")
    if header_length > limits.max_header_bytes:
        raise LimitError(f"header is {header_length} bytes, above the limit of {limits.max_header_bytes}")
    preamble = Preamble(major, minor, header_length, payload_length, crc)
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


def check_header_crc(preamble_bytes: bytes, header: bytes, preamble: Preamble) -> None:
    """Raise :class:`ChecksumError` if the header CRC does not match."""
    actual = header_crc32(bytes(preamble_bytes[len(MAGIC) : len(MAGIC) + _FIELDS.size]), header)
    if actual != preamble.header_crc32:
        raise ChecksumError(
            f"header checksum is {actual:#010x}, preamble says {preamble.header_crc32:#010x}; "
            "the file is corrupt"
        )
