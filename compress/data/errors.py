"""Error raised by the dataset readers."""

from __future__ import annotations

from compress.errors import CompressError

__all__ = ["DatasetError"]


class DatasetError(CompressError):
    """A dataset file is missing, malformed, or shorter than its header promises in a way that cannot be used."""
