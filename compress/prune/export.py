"""Write a pruned state_dict to ``.dsz`` losslessly, in a size proportional to its density.

A sparse floating weight (2 or more dimensions, density at most ``max_density``) is stored as one
record of the format's SPARSE kind (:class:`formats.SparseTensor`, spec/FORMAT.md "Sparse tensors"):
the C-order non-zero bitmap packed 8 per byte, then the non-zeros split into byte planes, most
significant byte first. "Non-zero" means any bit pattern other than all zero bits (a ``-0.0`` is kept),
so decoding restores every bit. Every other tensor is stored as it is. :func:`read_dsz` is
:func:`formats.load`. At 90 % sparsity the file is about a tenth of the dense one
(tests/compress/prune/test_prune_export.py).

Example:
    >>> import numpy as np, tempfile, os
    >>> w = np.zeros((64, 64), np.float32); w[::7, ::3] = 1.5
    >>> path = os.path.join(tempfile.mkdtemp(), "p.dsz")
    >>> _ = export_dsz(path, {"w": w}, codec="zstd")
    >>> bool(np.array_equal(read_dsz(path)["w"], w))
    True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import formats
from compress.atomic import appeared_error
from formats.ids import DType


@dataclass(frozen=True)
class ExportSummary:
    """What :func:`export_dsz` wrote.

    Attributes:
        path: the file.
        bytes: its size.
        sparse: names stored as SPARSE records (bitmap + byte planes).
        dense: names stored as they are.
    """

    path: str
    bytes: int
    sparse: tuple[str, ...]
    dense: tuple[str, ...]


def _as_numpy(tensor: Any) -> np.ndarray:
    if isinstance(tensor, torch.Tensor):
        tensor = tensor.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            return tensor.float().numpy()
        return tensor.numpy()
    return np.asarray(tensor)


def export_dsz(path: str | os.PathLike[str], state_dict: Mapping[str, Any], *, max_density: float = 0.5,
               min_numel: int = 64, codec: str | int = "auto", metadata: Mapping[str, str] | None = None,
               recipe: Mapping[str, Any] | None = None, replace: bool = True) -> ExportSummary:
    """Write ``state_dict`` to ``path``, storing sparse floating tensors as SPARSE records.

    Args:
        path: the ``.dsz`` file (written atomically).
        state_dict: name -> torch tensor or numpy array.
        max_density: floating tensors of 2+ dimensions with at most this fraction of non-zeros are packed
            (1-D tensors are stored as they are: their zero runs code to almost nothing anyway).
        min_numel: smaller tensors are stored as they are (a record costs more than it saves).
        codec: container codec for every payload (``"auto"`` keeps the smallest).
        metadata: free string metadata.
        recipe: stored as the file's recipe (e.g. :func:`compress.prune.to_recipe` output).
        replace: False: never replace an existing ``path`` (:class:`~compress.errors.OutputError`).

    Returns:
        An :class:`ExportSummary`.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "d.dsz")
        >>> export_dsz(p, {"b": np.ones(3, np.float32)}, codec="raw").dense
        ('b',)
    """
    tensors: dict[str, np.ndarray | formats.SparseTensor] = {}
    dtypes: dict[str, DType] = {}
    sparse, dense = [], []
    for name, value in state_dict.items():
        array = np.asarray(_as_numpy(value), order="C")  # keeps 0-d tensors 0-d
        if isinstance(value, torch.Tensor) and value.dtype == torch.bfloat16:  # stored as bfloat16 bit patterns
            array, dtypes[name] = value.detach().cpu().contiguous().view(torch.int16).numpy().view(np.uint16), \
                DType.BFLOAT16
        packable = (array.dtype.kind == "f" or name in dtypes) and array.ndim >= 2 and array.size >= min_numel
        if packable and formats.SparseTensor(array).nnz <= max_density * array.size:
            tensors[name] = formats.SparseTensor(array)
            sparse.append(name)
        else:
            tensors[name] = array
            dense.append(name)
    try:
        formats.save(path, tensors, metadata=metadata, recipe=recipe, codec=codec, replace=replace, dtypes=dtypes)
    except FileExistsError:
        raise appeared_error(path) from None
    return ExportSummary(os.fspath(path), os.path.getsize(path), tuple(sparse), tuple(dense))


def read_dsz(source: str | os.PathLike[str] | bytes) -> dict[str, np.ndarray]:
    """Read a file written by :func:`export_dsz` (or any ``.dsz``) back into a name -> array dict.

    Sparse tensors come back dense, in file order (:func:`formats.load`, spatial domain).

    Raises:
        formats.FormatError: a malformed file.
    """
    return formats.load(source)
