"""Write decoded tensors to interchange files (.safetensors, .pt/.pth, .npz), atomically."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from compress.atomic import atomic_output
from compress.errors import OutputError

OUTPUT_SUFFIXES = (".safetensors", ".pt", ".pth", ".npz")


def write_tensors(path: str | Path, tensors: Mapping[str, np.ndarray | torch.Tensor], *, replace: bool = True) -> None:
    """Write ``name -> tensor`` to ``path`` in the format its suffix names.

    The file is written to a temporary name in the same directory and renamed into place
    (:func:`compress.atomic.atomic_output`), so an interrupted run never leaves a partial file.

    Args:
        path: output path ending in ``.safetensors``, ``.pt`` / ``.pth`` (a state_dict for
            ``torch.load(weights_only=True)``) or ``.npz`` (no pickled objects).
        tensors: numpy arrays or torch tensors.
        replace: False: never replace an existing ``path``, even one that appears meanwhile.

    Raises:
        OutputError: unknown suffix, or a bfloat16 tensor asked for in ``.npz``.

    Example:
        >>> write_tensors("/tmp/w.npz", {"fc.weight": np.zeros((2, 2), np.float32)})  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix not in OUTPUT_SUFFIXES:
        raise OutputError(f"cannot write {path}: suffix must be one of {', '.join(OUTPUT_SUFFIXES)}")
    if path.suffix == ".npz":
        arrays = {name: _to_numpy(name, t) for name, t in tensors.items()}
    else:
        state = {name: _to_torch(t) for name, t in tensors.items()}
    with atomic_output(path, replace=replace) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, str(tmp))
        elif path.suffix == ".npz":
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        else:
            torch.save(state, tmp)


def _to_torch(tensor: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(tensor, torch.Tensor):
        return tensor.detach().cpu().contiguous()
    return torch.from_numpy(np.ascontiguousarray(tensor).copy())


def _to_numpy(name: str, tensor: np.ndarray | torch.Tensor) -> np.ndarray:
    if not isinstance(tensor, torch.Tensor):
        return np.ascontiguousarray(tensor)
    if tensor.dtype == torch.bfloat16:
        raise OutputError(f"tensor {name!r} is bfloat16, which .npz cannot hold; write .safetensors or .pt")
    return tensor.detach().cpu().contiguous().numpy()
