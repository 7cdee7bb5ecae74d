"""Shared validation of command-line paths."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

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


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_F = TypeVar("_F", bound=Callable[..., Any])


class ByteSize(click.ParamType):
    """A byte count: an integer, optionally with a binary unit (``K``, ``M``, ``G``, ``T``; ``iB``/``B`` optional).

    Example:
        >>> ByteSize().convert("16GiB", None, None) == 16 << 30
        True
    """

    name = "BYTES"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        found = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)(?:i?B)?\s*", str(value), re.IGNORECASE)
        if found is None:
            self.fail(f"{value!r} is not a byte count such as 8589934592, 8G or 8GiB", param, ctx)
        return int(found.group(1)) * _UNITS[found.group(2).upper()]


def max_decoded_bytes_option(command: _F) -> _F:
    """The ``--max-decoded-bytes`` option of the commands that decode a ``.dsz`` file."""
    return click.option(
        "--max-decoded-bytes", type=ByteSize(), default=None, metavar="BYTES",
        help="Decode files whose tensors total up to BYTES (e.g. 64G) even when that is far more than "
             "the file's size allows by default (256 MiB, or 16384 x the file size if larger), "
             "a guard against decompression bombs. Only for files you trust.",
    )(command)


def reader_limits(max_decoded_bytes: int | None) -> Any:
    """The reader limits for ``--max-decoded-bytes`` (the defaults when it is not given).

    Example:
        >>> reader_limits(1 << 40).max_file_decoded_bytes(10) == 1 << 40
        True
    """
    from formats.container.limits import DEFAULT_LIMITS

    return DEFAULT_LIMITS if max_decoded_bytes is None else DEFAULT_LIMITS.with_decoded_cap(max_decoded_bytes)
