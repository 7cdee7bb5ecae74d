"""Errors raised by the joint-sparse pipeline."""

from __future__ import annotations

from compress.errors import CompressError


class PipelineInvariantError(CompressError):
    """An invariant of the pipeline was broken (e.g. a pruned weight became non-zero).

    Raised instead of silently writing an artifact whose pruned set differs from the quantizer's.
    """


class CheckpointMismatchError(CompressError):
    """A run checkpoint cannot be resumed: unreadable, another version, or made by another recipe/input."""


class RunStopped(CompressError):
    """The run stopped where it was asked to (``stop_after_step``); resume it with ``--resume``."""
