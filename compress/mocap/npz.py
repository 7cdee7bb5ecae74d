"""Plain ``.npz`` files: written atomically, read without unpickling, errors naming the file.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> save_npz(path, x=np.arange(2))
    >>> load_npz(path, ("x",))["x"].tolist()
    [0, 1]
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from compress.mocap.errors import MocapError

__all__ = ["load_npz", "save_npz"]


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz`` via a temporary file and a rename.

    The file gets the mode a newly created file would get (``0666`` less the umask).

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> save_npz(path, x=np.arange(3))
        >>> load_npz(path, ("x",))["x"].tolist()
        [0, 1, 2]
    """
    path = Path(path)
    for name, value in arrays.items():
        if np.asarray(value).dtype.hasobject:
            raise MocapError(f"{path}: array {name!r} holds Python objects; only plain arrays are saved")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode of a new file
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load_npz(path: str | Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the ``.npz`` at ``path``, read without unpickling; errors name the file.

    Example:
        >>> load_npz("/nonexistent/x.npz", ("x",))
        Traceback (most recent call last):
        ...
        compress.mocap.errors.MocapError: /nonexistent/x.npz: cannot read: No such file or directory
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [name for name in names if name not in npz.files]
            if missing:
                raise MocapError(f"{path}: missing arrays {', '.join(missing)} (has {', '.join(npz.files)})")
            return {name: npz[name] for name in names}
    except OSError as exc:
        raise MocapError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except MocapError:
        raise
    except (ValueError, zipfile.BadZipFile) as exc:  # pickled objects, or not an npz file
        raise MocapError(f"{path}: not a plain .npz file ({str(exc).splitlines()[0]})") from None


def _umask() -> int:
    """The process's file-creation mask."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
