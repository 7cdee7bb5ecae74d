"""Atomic output files: write to a temporary name beside the target, then publish it (:mod:`formats.publish`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from compress.errors import OutputError
from formats.publish import new_temporary, publish


@contextmanager
def atomic_output(path: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s directory; on success fsync it and publish it as ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was, so an interrupted write
    never leaves a half-written file at the target. With ``replace=False`` an existing ``path`` is never
    replaced, even one that appeared while this write ran (another process racing for the name): that
    ends in :class:`~compress.errors.OutputError`. Temporaries of writers killed earlier are removed.

    Example:
        >>> import tempfile, os
        >>> target = os.path.join(tempfile.mkdtemp(), "out.bin")
        >>> with atomic_output(target) as tmp:
        ...     _ = tmp.write_bytes(b"done")
        >>> open(target, "rb").read()
        b'done'
    """
    path = Path(path)
    fd, name = new_temporary(path, ".partial")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        try:
            publish(tmp, path, replace=replace)
        except FileExistsError:
            raise appeared_error(path) from None
    finally:
        tmp.unlink(missing_ok=True)


def appeared_error(path: str | Path) -> OutputError:
    """The error of a ``replace=False`` write whose target exists by the time it is published.

    Example:
        >>> str(appeared_error("m.dsz")).startswith("output m.dsz exists now")
        True
    """
    return OutputError(f"output {path} exists now (another process wrote it while this one ran?); it was left "
                       "as it is: choose another path or pass --force")
