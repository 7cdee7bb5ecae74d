"""Packing a pruned matrix into compressed sparse rows (torch CSR, int32 indices).

Example:
    >>> import torch
    >>> crow, col = csr_pattern(torch.tensor([[0.0, 1.0], [2.0, 0.0]]) != 0)
    >>> crow.tolist(), col.tolist()
    ([0, 1, 2], [1, 0])
"""

from __future__ import annotations

import warnings

import torch


def csr_pattern(keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return int32 ``(crow_indices, col_indices)`` of a 2-D boolean pattern, columns ascending per row.

    Example:
        >>> csr_pattern(torch.ones(1, 3, dtype=torch.bool))[1].tolist()
        [0, 1, 2]
    """
    if keep.ndim != 2:
        raise ValueError(f"a CSR pattern needs a 2-D mask, got shape {tuple(keep.shape)}")
    rows, cols = keep.nonzero(as_tuple=True)
    counts = torch.bincount(rows, minlength=keep.shape[0])
    crow = torch.zeros(keep.shape[0] + 1, dtype=torch.int32)
    crow[1:] = torch.cumsum(counts, 0).to(torch.int32)
    return crow, cols.to(torch.int32)


def csr_tensor(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor,
               shape: tuple[int, int]) -> torch.Tensor:
    """Build a torch CSR tensor without the per-call invariant check (the pattern is ours, and valid).

    Example:
        >>> crow, col = csr_pattern(torch.eye(2, dtype=torch.bool))
        >>> (csr_tensor(crow, col, torch.tensor([2.0, 3.0]), (2, 2)) @ torch.ones(2)).tolist()
        [2.0, 3.0]
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)
