"""The magnitude threshold θ(s) of a partial L2 regularizer: the s-quantile of all magnitudes of a domain.

Exact, not approximated: with ``N`` magnitudes and ``k = floor(s * N)``, θ is the ``k``-th smallest
magnitude (``torch.kthvalue`` on the concatenated, detached magnitudes of every layer of the domain).
Every magnitude ``<= θ`` is regularized, so at least ``k`` entries are (more only on ties). ``k == 0``
gives θ = -inf: nothing is regularized. The same ``floor(s * N)`` count is what
:func:`formats.loader.prune_global` prunes at deployment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from compress.errors import RecipeError

__all__ = ["check_sparsity", "concat_magnitudes", "percentile_threshold"]


def check_sparsity(sparsity: float, what: str = "sparsity") -> float:
    """Validate a target sparsity given as a fraction in ``[0, 1)``.

    Example:
        >>> check_sparsity(0.8)
        0.8
    """
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float) or not 0.0 <= float(sparsity) < 1.0:
        raise RecipeError(f"{what} must be a fraction in [0, 1) (0.8 for 80 %), got {sparsity!r}")
    return float(sparsity)


def concat_magnitudes(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Detached absolute values of all ``tensors``, flattened and concatenated (float32 or wider).

    Example:
        >>> concat_magnitudes([torch.tensor([-2.0]), torch.tensor([[1.0, -3.0]])]).tolist()
        [2.0, 1.0, 3.0]
    """
    if not tensors:
        raise RecipeError("no tensors to take a threshold over; the model has no layer of this domain")
    return torch.cat([t.detach().abs().reshape(-1) for t in tensors])


def percentile_threshold(magnitudes: torch.Tensor, sparsity: float) -> float:
    """The exact ``sparsity``-quantile θ of ``magnitudes``: the ``floor(sparsity * N)``-th smallest.

    Args:
        magnitudes: 1-D tensor of non-negative values.
        sparsity: fraction in ``[0, 1)``.

    Returns:
        θ as a Python float, or ``-inf`` when ``floor(sparsity * N) == 0``.

    Example:
        >>> percentile_threshold(torch.tensor([4.0, 1.0, 3.0, 2.0]), 0.5)
        2.0
    """
    sparsity = check_sparsity(sparsity)
    k = math.floor(sparsity * magnitudes.numel())
    if k == 0:
        return -math.inf
    return float(torch.kthvalue(magnitudes.reshape(-1).float(), k).values)
