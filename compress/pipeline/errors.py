"""Errors raised by the joint-sparse pipeline."""

from __future__ import annotations

from compress.errors import CompressError


class PipelineInvariantError(CompressError):
    """An invariant of the pipeline was broken (e.g. a pruned weight became non-zero).

    Raised instead of silently writing an artifact whose pruned set differs from the quantizer's.
    """
