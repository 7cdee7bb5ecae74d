"""Progress of a recipe run on stderr: a click bar on a terminal, a line per tenth of a stage in a log."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import click

from compress.pipeline.progress import Progress
from compress.pipeline.run_log import describe

PLAIN_LINES = 10  # a stage in a log file reports this many times


class ClickProgress(Progress):
    """:class:`compress.pipeline.progress.Progress` on stderr.

    On a terminal each long stage draws a click progress bar followed by the last logged step's loss,
    ζ, θ and sparsity targets. When stderr is a file or a pipe (CI logs, ``nohup``) a bar would print
    nothing until the stage ends, so the stage instead writes a line at every tenth of its steps with
    the elapsed time and those figures.

    Example:
        >>> import io
        >>> log = io.StringIO()
        >>> p = ClickProgress(stream=log)
        >>> p.stage("fine-tune", 20); p.record("fine-tune", {"step": 20, "loss": 0.5}); p.advance(20); p.done()
        >>> log.getvalue().splitlines()
        ['fine-tune: 20 steps', 'fine-tune: done in 0 s; step 20: loss 0.5000']
    """

    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = sys.stderr if stream is None else stream
        self._bar: object | None = None
        self._position = 0
        self._plain: tuple[str, int, float] | None = None  # name, total, start time
        self._next_line = 0
        self._row: Mapping[str, Any] | None = None

    def note(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, file=self.stream)

    def stage(self, name: str, total: int) -> None:
        if self.quiet:
            return
        self._position = 0
        self._row = None
        if _is_terminal(self.stream):
            bar = click.progressbar(length=total, label=f"{name:<10}", file=self.stream, show_pos=True,
                                    item_show_func=lambda row: None if row is None else describe(row))
            bar.__enter__()
            self._bar = bar
            return
        self._plain = (name, total, time.monotonic())
        self._next_line = _tenth(total, 1)
        click.echo(f"{name}: {total} steps", file=self.stream)

    def record(self, stage: str, row: Mapping[str, Any]) -> None:
        self._row = row

    def advance(self, position: int) -> None:
        if self._bar is not None:
            self._bar.update(position - self._position, self._row)  # type: ignore[attr-defined]
        elif self._plain is not None:
            name, total, start = self._plain
            if self._next_line <= position < total:
                line = f"{name}: {position}/{total} ({100 * position // total} %), {_elapsed(start)}{self._figures()}"
                click.echo(line, file=self.stream)
                self._next_line = _tenth(total, PLAIN_LINES * position // total + 1)
        self._position = position

    def done(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)  # type: ignore[attr-defined]
            self._bar = None
        elif self._plain is not None:
            name, _, start = self._plain
            click.echo(f"{name}: done in {_elapsed(start)}{self._figures()}", file=self.stream)
            self._plain = None

    def _figures(self) -> str:
        """``; step N: loss ... | ζ ... | target ...`` of the last logged step ('' before the first)."""
        if self._row is None:
            return ""
        return f"; step {self._row['step']}: {describe(self._row)}"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _tenth(total: int, k: int) -> int:
    """The step of the ``k``-th tenth of a stage of ``total`` steps (at least 1)."""
    return max(1, -(-k * total // PLAIN_LINES))


def _elapsed(start: float) -> str:
    seconds = int(time.monotonic() - start)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
