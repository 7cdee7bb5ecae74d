"""Error classes raised by every reader, writer and codec in :mod:`formats`.

One base class, :class:`FormatError`, which also subclasses :class:`ValueError`, so
callers can catch either. Each subclass names one family of defects; the message
names the offending value and what to do about it.
"""

from __future__ import annotations


class FormatError(ValueError):
    """Base class of every error that a malformed or unsupported ``.dsz`` file raises."""


class BadMagicError(FormatError):
    """The file does not start with the ``.dsz`` magic bytes (not a .dsz file, or text-mode damage)."""


class UnsupportedVersionError(FormatError):
    """The file's major version is newer than this reader supports."""


class TruncatedError(FormatError):
    """The file or a payload ends before the length its structure declares."""


class HeaderError(FormatError):
    """The msgpack header is malformed, too large, too deeply nested, or has missing/extra fields."""


class ChecksumError(FormatError):
    """A stored checksum or hash does not match the bytes it covers."""


class UnknownIdError(FormatError):
    """A wire identifier (codec, dtype, tensor kind, PRNG) is not one this reader knows."""


class LayoutError(FormatError):
    """Byte ranges overlap, leave gaps, run out of range, or tensor names repeat."""


class LimitError(FormatError):
    """A declared size exceeds a hard limit or what the file's bytes can justify (decompression bomb)."""


class CodecError(FormatError):
    """A codec payload is corrupt or decodes to a length other than the declared one."""


class TensorNotFoundError(FormatError, KeyError):
    """A tensor name asked for is not in the file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
