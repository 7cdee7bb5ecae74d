"""Shared validation of command-line paths."""

from __future__ import annotations

from pathlib import Path

from compress.errors import OutputError


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
