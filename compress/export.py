"""Write decoded tensors to interchange files (.safetensors, .pt, .npz), atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from compress.errors import OutputError

OUTPUT_SUFFIXES = (".safetensors", ".pt", ".npz")


def write_tensors(path: str | Path, tensors: Mapping[str, np.ndarray]) -> None:
    """Write ``name -> array`` to ``path`` in the format its suffix names.

    The file is written to a temporary name in the same directory and renamed into place,
    so an interrupted run never leaves a partial file at ``path``.

    Args:
        path: output path ending in ``.safetensors``, ``.pt`` (a state_dict for
            ``torch.load(weights_only=True)``) or ``.npz`` (no pickled objects).
        tensors: the arrays.

    Raises:
        OutputError: unknown suffix.

    Example:
        >>> write_tensors("/tmp/w.npz", {"fc.weight": np.zeros((2, 2), np.float32)})  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix not in OUTPUT_SUFFIXES:
        raise OutputError(f"cannot write {path}: suffix must be one of {', '.join(OUTPUT_SUFFIXES)}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        arrays = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
        if path.suffix == ".safetensors":
            from safetensors.numpy import save_file

            save_file(arrays, tmp)
        elif path.suffix == ".pt":
            torch.save({name: torch.from_numpy(array.copy()) for name, array in arrays.items()}, tmp)
        else:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
