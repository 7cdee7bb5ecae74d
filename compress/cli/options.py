"""Shared validation of command-line paths."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import click

from compress.errors import OutputError


class InputFile(click.Path):
    """A path the command reads: a regular file when it exists (a FIFO or device would block or never end).

    Example:
        >>> InputFile().convert("no-such-file.pt", None, None)
        PosixPath('no-such-file.pt')
    """

    def __init__(self) -> None:
        super().__init__(path_type=Path, dir_okay=False)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        try:
            mode = Path(path).stat().st_mode
        except OSError:
            return path  # missing or unreadable: the command's own check says so
        if not stat.S_ISREG(mode):
            self.fail(f"{path} is not a regular file (a FIFO, device or socket?); give a file", param, ctx)
        return path


def check_output_path(output: Path, inputs: list[Path], *, force: bool, suffixes: tuple[str, ...]) -> None:
    """Refuse outputs that would clobber an input, an unasked-for existing file, or have an unknown suffix.

    Args:
        output: the path the command will write (atomically).
        inputs: paths the command reads; the output may not be one of them.
        force: allow replacing an existing output file.
        suffixes: accepted output suffixes, e.g. ``(".dsz",)``.

    Raises:
        OutputError: with a one-line reason and what to do.
    """
    if output.suffix not in suffixes:
        raise OutputError(f"output {output} has suffix {output.suffix!r}; use one of {', '.join(suffixes)}")
    for item in inputs:
        if item.exists() and output.exists() and output.resolve() == item.resolve():
            raise OutputError(f"output {output} is the input file; choose another output path")
    if output.is_dir():
        raise OutputError(f"output {output} is a directory; give a file path")
    if output.exists() and not force:
        raise OutputError(f"output {output} exists; pass --force to replace it")
    if not output.parent.is_dir():
        raise OutputError(f"directory {output.parent} does not exist; create it first")
