"""The hooks a recipe run reports through (no torch: the CLI imports this before it needs torch)."""

from __future__ import annotations

__all__ = ["Progress"]


class Progress:
    """Hooks :func:`run_recipe` calls as it goes; this base class ignores them (the CLI draws bars)."""

    def note(self, text: str) -> None:
        """A one-line message (stage start, resume point)."""

    def stage(self, name: str, total: int) -> None:
        """A long stage of ``total`` steps starts."""

    def advance(self, position: int) -> None:
        """The current stage reached step ``position``."""

    def done(self) -> None:
        """The current long stage ended."""
