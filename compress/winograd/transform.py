"""Differentiable Winograd transforms in torch, with the matrices of :mod:`formats.winograd`.

The filter transform ``G w Gᵀ`` is what the Winograd-domain regularizer and the Winograd
layers apply to every ``r x r`` filter of a layer at once. The input and output transforms
work on flattened ``n x n`` tiles through a Kronecker product (one GEMM per transform),
which is what :class:`compress.winograd.conv.WinogradConv2d` uses.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from compress.errors import CompressError
from formats.winograd import winograd_matrices

__all__ = [
    "winograd_filter_transform",
    "winograd_input_transform",
    "winograd_output_transform",
    "winograd_tensors",
]


def winograd_tensors(
    m: int, r: int, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(AT, G, BT)`` of F(m, r) as torch constants (exact float64 values cast to ``dtype``).

    Args:
        m: outputs per tile.
        r: filter size.
        dtype: floating dtype of the returned tensors.
        device: where to put them (CPU by default).

    Returns:
        Tensors of shapes ``(m, n)``, ``(n, r)``, ``(n, n)``; fresh copies, safe to modify.

    Example:
        >>> at, g, bt = winograd_tensors(2, 3)
        >>> tuple(g.shape)
        (4, 3)
    """
    return tuple(t.to(dtype=dtype, device=device, copy=True) for t in _float64_tensors(m, r))  # type: ignore[return-value]


def winograd_filter_transform(weight: torch.Tensor, m: int) -> torch.Tensor:
    """Winograd-domain filters ``G w Gᵀ`` for every ``r x r`` filter of a conv weight (differentiable).

    Args:
        weight: tensor ``(..., r, r)``, typically ``(out, in/groups, r, r)``.
        m: output tile size of F(m, r).

    Returns:
        Tensor ``(..., n, n)`` in ``weight``'s dtype and device, ``n = m + r - 1``, computed in float64.

    Example:
        >>> w = torch.randn(8, 4, 3, 3, requires_grad=True)
        >>> winograd_filter_transform(w, 4).shape
        torch.Size([8, 4, 6, 6])
    """
    r = _square_size(weight, "weight")
    # float64 math like formats.transform_filters, so the training side sees the deployed values.
    _, g, _ = _constants(m, r, weight.new_empty((), dtype=torch.float64))
    return (g @ weight.to(torch.float64) @ g.transpose(0, 1)).to(weight.dtype)


def winograd_input_transform(tiles: torch.Tensor, m: int, r: int) -> torch.Tensor:
    """``BT x B`` for input tiles given flattened: ``(..., n*n)`` row-major tiles to ``(..., n*n)``.

    Args:
        tiles: tensor whose last axis holds ``n x n`` tiles flattened row-major.
        m: output tile size.
        r: filter size.

    Returns:
        Transformed tiles, same shape and dtype.

    Example:
        >>> winograd_input_transform(torch.zeros(5, 16), 2, 3).shape
        torch.Size([5, 16])
    """
    n = m + r - 1
    if tiles.shape[-1] != n * n:
        raise CompressError(f"input tiles have last dimension {tiles.shape[-1]}, expected n*n = {n * n}")
    return tiles @ kron_matrix_t(m, r, "input", tiles)


def winograd_output_transform(products: torch.Tensor, m: int, r: int) -> torch.Tensor:
    """``AT M A`` for Winograd-domain products flattened: ``(..., n*n)`` to ``(..., m*m)`` row-major.

    Args:
        products: tensor whose last axis holds ``n x n`` element-wise products flattened row-major.
        m: output tile size.
        r: filter size.

    Returns:
        Output tiles ``(..., m*m)``.

    Example:
        >>> winograd_output_transform(torch.zeros(5, 36), 4, 3).shape
        torch.Size([5, 16])
    """
    n = m + r - 1
    if products.shape[-1] != n * n:
        raise CompressError(f"products have last dimension {products.shape[-1]}, expected n*n = {n * n}")
    return products @ kron_matrix_t(m, r, "output", products)


def _square_size(t: torch.Tensor, what: str) -> int:
    if t.dim() < 2 or t.shape[-1] != t.shape[-2]:
        raise CompressError(f"{what} needs square filters in its last two axes, got shape {tuple(t.shape)}")
    return int(t.shape[-1])


@functools.lru_cache(maxsize=64)
def _float64_tensors(m: int, r: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return tuple(torch.from_numpy(np.array(a)) for a in winograd_matrices(m, r))  # type: ignore[return-value]


@functools.lru_cache(maxsize=64)
def _kron64(m: int, r: int, which: str) -> torch.Tensor:
    at, _, bt = _float64_tensors(m, r)
    # Row-major flattening: vec(P X Qᵀ) = vec(X) @ kron(P, Q)ᵀ.
    return torch.kron(bt, bt).T.contiguous() if which == "input" else torch.kron(at, at).T.contiguous()


_DEVICE_CACHE: dict[tuple, torch.Tensor] = {}


def _cast_cached(key: tuple, base: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    full = key + (like.dtype, like.device)
    hit = _DEVICE_CACHE.get(full)
    if hit is None:
        hit = base.to(dtype=like.dtype, device=like.device)
        if len(_DEVICE_CACHE) < 256:
            _DEVICE_CACHE[full] = hit
    return hit


def _constants(m: int, r: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return tuple(  # type: ignore[return-value]
        _cast_cached((m, r, i), t, like) for i, t in enumerate(_float64_tensors(m, r))
    )


def kron_matrix_t(m: int, r: int, which: str, like: torch.Tensor) -> torch.Tensor:
    """``kron(BT, BT)ᵀ`` (which="input") or ``kron(AT, AT)ᵀ`` (which="output") in ``like``'s dtype/device."""
    return _cast_cached((m, r, which), _kron64(m, r, which), like)
