"""Write decoded tensors to interchange files (.safetensors, .pt/.pth, .npz), atomically.

Shapes are kept exactly (a 0-d tensor stays 0-d), bfloat16 stays bfloat16 in the formats that hold it
(``.safetensors``, ``.pt``), and a name a format cannot hold is an error, never a silent change. torch
is imported only to write ``.pt`` / ``.safetensors`` (``.npz`` needs numpy alone).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from compress.atomic import atomic_output
from compress.errors import OutputError

if TYPE_CHECKING:
    import torch

OUTPUT_SUFFIXES = (".safetensors", ".pt", ".pth", ".npz")


def write_tensors(path: str | Path, tensors: Mapping[str, np.ndarray | torch.Tensor], *, replace: bool = True,
                  bfloat16: Collection[str] = ()) -> None:
    """Write ``name -> tensor`` to ``path`` in the format its suffix names.

    The file is written to a temporary name in the same directory and published into place
    (:func:`compress.atomic.atomic_output`), so an interrupted run never leaves a partial file.

    Args:
        path: output path ending in ``.safetensors``, ``.pt`` / ``.pth`` (a state_dict for
            ``torch.load(weights_only=True)``) or ``.npz`` (no pickled objects).
        tensors: numpy arrays or torch tensors.
        replace: False: never replace an existing ``path``, even one that appears meanwhile.
        bfloat16: names of float32 arrays that hold bfloat16 values exactly (a ``.dsz`` file's bfloat16
            tensors as :func:`formats.load` widens them): written back as bfloat16 to ``.pt`` and
            ``.safetensors``, as float32 to ``.npz``.

    Raises:
        OutputError: unknown suffix; a bfloat16 torch tensor, or a name holding a NUL, asked for in ``.npz``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
        >>> write_tensors(path, {"scale": np.float32(2.0), "fc.weight": np.zeros((2, 2), np.float32)})
        >>> np.load(path)["scale"].shape
        ()
    """
    path = Path(path)
    if path.suffix not in OUTPUT_SUFFIXES:
        raise OutputError(f"cannot write {path}: suffix must be one of {', '.join(OUTPUT_SUFFIXES)}")
    if path.suffix == ".npz":
        arrays = {_npz_name(name): _to_numpy(name, t) for name, t in tensors.items()}
        with atomic_output(path, replace=replace) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return
    import torch

    state = {name: _to_torch(t, name in bfloat16) for name, t in tensors.items()}
    with atomic_output(path, replace=replace) as tmp:
        if path.suffix == ".safetensors":
            from safetensors.torch import save_file

            save_file(state, str(tmp))
        else:
            torch.save(state, tmp)


def _npz_name(name: str) -> str:
    if "\0" in name:
        raise OutputError(f"tensor name {name!r} holds a NUL character, which .npz cannot store; write .safetensors "
                          "or .pt")
    return name


def _is_torch(tensor: Any) -> bool:
    return type(tensor).__module__.split(".")[0] == "torch"


def _to_torch(tensor: Any, bfloat16: bool) -> torch.Tensor:
    import torch

    if _is_torch(tensor):
        return tensor.detach().cpu().contiguous()
    array = np.array(tensor, copy=True, order="C")  # np.ascontiguousarray would make a 0-d array 1-d
    out = torch.from_numpy(array)
    return out.to(torch.bfloat16) if bfloat16 and out.dtype == torch.float32 else out


def _to_numpy(name: str, tensor: Any) -> np.ndarray:
    if not _is_torch(tensor):
        return np.asarray(tensor, order="C")  # np.ascontiguousarray would make a 0-d array 1-d
    import torch

    if tensor.dtype == torch.bfloat16:
        raise OutputError(f"tensor {name!r} is bfloat16, which .npz cannot hold; write .safetensors or .pt")
    return tensor.detach().cpu().contiguous().numpy()
