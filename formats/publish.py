"""Temporary files beside a target and how they become the target: the primitives of atomic output.

Every writer of the project (the ``.dsz`` :class:`~formats.container.writer.Writer`, and the tool's
checkpoints and exports through :func:`compress.atomic.atomic_output`) writes to a temporary file in the
target's directory and then *publishes* it:

- ``replace=True``: :func:`os.replace`, atomic, over whatever is there;
- ``replace=False``: :func:`os.link` to the target, which fails if the target exists *at that instant*, so
  two writers racing for one name cannot silently replace each other (a check made before writing
  could not promise that); :class:`FileExistsError` then reaches the caller and the temporary is removed.

Temporary names carry the writer's process id (``.NAME.tmp-PID-XXXX.spool``): a later writer to the same
target removes the ones whose process is gone (e.g. after ``kill -9``), see :func:`sweep_stale`.
A published file gets the mode a plain ``open`` would give (``0o666`` less the umask), not the 0600 of
:func:`tempfile.mkstemp`.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

__all__ = ["new_temporary", "publish", "sweep_stale", "temporary_prefix"]

_PID = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)-")


def temporary_prefix(target: str | os.PathLike[str]) -> str:
    """Prefix of this process's temporary files for ``target``.

    Example:
        >>> temporary_prefix("/data/model.dsz") == f".model.dsz.tmp-{os.getpid()}-"
        True
    """
    return f".{os.path.basename(os.fspath(target))}.tmp-{os.getpid()}-"


def new_temporary(target: str | os.PathLike[str], suffix: str) -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file beside ``target`` (after removing stale ones).

    Example:
        >>> import tempfile
        >>> fd, path = new_temporary(os.path.join(tempfile.mkdtemp(), "m.dsz"), ".part")
        >>> os.close(fd); os.path.basename(path).startswith(".m.dsz.tmp-")
        True
    """
    directory = os.path.dirname(os.path.abspath(os.fspath(target)))
    sweep_stale(target)
    return tempfile.mkstemp(prefix=temporary_prefix(target), suffix=suffix, dir=directory)


def sweep_stale(target: str | os.PathLike[str]) -> list[str]:
    """Remove the temporary files of ``target`` left by processes that no longer run; returns their paths.

    Only names of this module's pattern for this very target are considered, and only when their process
    id is not alive on this machine (a file of a live writer is never touched).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> dead = os.path.join(folder, ".m.dsz.tmp-999999999-ab.spool")
        >>> open(dead, "wb").close()
        >>> [os.path.basename(p) for p in sweep_stale(os.path.join(folder, "m.dsz"))]
        ['.m.dsz.tmp-999999999-ab.spool']
    """
    path = Path(os.path.abspath(os.fspath(target)))
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _PID.match(entry.name)
        if match is None or match["name"] != path.name or _alive(int(match["pid"])):
            continue
        try:
            entry.unlink()
            removed.append(str(entry))
        except OSError:
            pass
    return removed


def publish(temporary: str | os.PathLike[str], target: str | os.PathLike[str], *, replace: bool) -> None:
    """Make the finished ``temporary`` file the ``target`` (see the module docstring); fsyncs the directory.

    Raises:
        FileExistsError: ``replace=False`` and ``target`` exists (``temporary`` is then removed).

    Example:
        >>> import tempfile
        >>> fd, tmp = new_temporary(os.path.join(tempfile.mkdtemp(), "m.bin"), ".part"); os.close(fd)
        >>> publish(tmp, os.path.join(os.path.dirname(tmp), "m.bin"), replace=False)
    """
    temporary, target = os.fspath(temporary), os.fspath(target)
    os.chmod(temporary, 0o666 & ~_umask())
    try:
        if replace:
            os.replace(temporary, target)
        else:
            _link_exclusive(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    _fsync_dir(os.path.dirname(os.path.abspath(target)))


def _link_exclusive(temporary: str, target: str) -> None:
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: claim the name exclusively, then move into it
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        os.replace(temporary, target)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists under another user, or cannot tell: leave it alone
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
