"""The hooks a recipe run reports through (no torch: the CLI imports this before it needs torch)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Progress"]


class Progress:
    """Hooks :func:`run_recipe` calls as it goes; this base class ignores them (the CLI draws bars)."""

    def note(self, text: str) -> None:
        """A one-line message (stage start, resume point)."""

    def stage(self, name: str, total: int) -> None:
        """A long stage of ``total`` steps starts."""

    def record(self, stage: str, row: Mapping[str, Any]) -> None:
        """A logged step of the current stage: a row of :data:`compress.pipeline.run_log.LOG_FIELDS`
        (loss, cost, R, θ, ζ, the sparsity targets in force; :func:`compress.pipeline.run_log.describe`
        makes it a readable line). Called before :meth:`advance` reaches that step."""

    def advance(self, position: int) -> None:
        """The current stage reached step ``position``."""

    def done(self) -> None:
        """The current long stage ended."""
