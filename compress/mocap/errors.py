"""The error raised for unusable motion-capture input."""

from __future__ import annotations

from compress.errors import CompressError

__all__ = ["MocapError"]


class MocapError(CompressError):
    """A motion file or motion array cannot be used; the message names the file, the line and the problem.

    Example:
        >>> str(MocapError("walk.bvh:12: expected 3 numbers after OFFSET, got 2"))
        'walk.bvh:12: expected 3 numbers after OFFSET, got 2'
    """
