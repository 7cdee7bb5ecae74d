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


def check_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``, else a one-line :class:`RecipeError` naming ``what``.

    Example:
        >>> check_choice("augment", "none", ("none", "crop-flip"))
        'none'
    """
    if value not in choices:
        raise RecipeError(f"{what} must be one of {', '.join(choices)}, got {value!r}")
    return value
