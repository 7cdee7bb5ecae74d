"""Errors of the training-time side. One base class that is also a :class:`ValueError`."""

from __future__ import annotations


class CompressError(ValueError):
    """Base class of user-facing errors raised by :mod:`compress` (bad input, bad recipe, ...)."""


class CheckpointError(CompressError):
    """A model checkpoint cannot be read or holds no usable tensors."""


class RecipeError(CompressError):
    """A compression recipe or option is invalid."""


class OutputError(CompressError):
    """An output path is unusable (unknown extension, would overwrite an input, ...)."""
