"""Partial L2 regularizers of the paper's eq. 2 (Winograd domain) and eq. 3 (spatial domain).

``R(w; s) = (1 / N) * sum over every weight a of the domain with |a| <= θ(s) of a²`` where the
domain's weights are the spatial weights of all conv and linear layers (R_SD) or the Winograd-domain
filters ``G w Gᵀ`` of all Winograd-eligible convs (R_WD, each with its own F(m, r)), ``N`` counts all
weights of the domain and θ(s) is recomputed from the current weights at every call
(:mod:`compress.pipeline.thresholds`). The mask is built from detached magnitudes, so gradients flow
only through the regularized (below-threshold) entries; for R_WD they flow back through ``G``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from compress.errors import RecipeError
from compress.pipeline.targets import SparsityTargets
from compress.pipeline.thresholds import concat_magnitudes, percentile_threshold
from compress.winograd.transform import winograd_filter_transform

__all__ = ["PartialL2", "partial_l2", "spatial_regularizer", "winograd_domain_weights", "winograd_regularizer"]


@dataclass(frozen=True)
class PartialL2:
    """Value of one domain's regularizer at the current weights.

    Attributes:
        value: the scalar ``R`` (differentiable).
        threshold: θ used for the mask.
        regularized: how many entries were at or below θ.
        total: ``N``, all entries of the domain.
    """

    value: torch.Tensor
    threshold: float
    regularized: int
    total: int


def partial_l2(tensors: Sequence[torch.Tensor], sparsity: float) -> PartialL2:
    """``(1/N) Σ a² · 1{|a| <= θ(s)}`` over all entries of ``tensors``, θ the global s-quantile.

    Args:
        tensors: every weight tensor of one domain (any shapes).
        sparsity: target fraction ``s`` in ``[0, 1)``.

    Returns:
        A :class:`PartialL2`.

    Example:
        >>> r = partial_l2([torch.tensor([1.0, -2.0]), torch.tensor([3.0, 0.5])], 0.5)
        >>> float(r.value), r.threshold
        (0.3125, 1.0)
    """
    magnitudes = concat_magnitudes(tensors)
    threshold = percentile_threshold(magnitudes, sparsity)
    total = magnitudes.numel()
    value = tensors[0].new_zeros(())
    regularized = 0
    for t in tensors:
        mask = t.detach().abs() <= threshold
        regularized += int(mask.sum())
        value = value + (t * mask).square().sum()
    return PartialL2(value / total, threshold, regularized, total)


def winograd_domain_weights(params: Mapping[str, torch.Tensor], targets: SparsityTargets) -> list[torch.Tensor]:
    """``G w Gᵀ`` of every Winograd target, each with its own F(m, r) (differentiable).

    Example:
        >>> from compress.pipeline.targets import collect_targets
        >>> conv = torch.nn.Conv2d(1, 2, 3)
        >>> winograd_domain_weights(dict(conv.named_parameters()), collect_targets(conv))[0].shape
        torch.Size([2, 1, 6, 6])
    """
    return [winograd_filter_transform(_get(params, t.name), t.m) for t in targets.winograd]


def spatial_regularizer(params: Mapping[str, torch.Tensor], targets: SparsityTargets, sparsity: float) -> PartialL2:
    """R_SD (eq. 3) over the spatial targets' weights taken from ``params``.

    Args:
        params: name -> tensor, e.g. ``dict(model.named_parameters())`` or decoded weights.
        targets: from :func:`compress.pipeline.targets.collect_targets`.
        sparsity: ``s_SD``.

    Returns:
        A :class:`PartialL2`.

    Example:
        >>> from compress.pipeline.targets import collect_targets
        >>> lin = torch.nn.Linear(2, 2)
        >>> spatial_regularizer(dict(lin.named_parameters()), collect_targets(lin), 0.5).total
        4
    """
    return partial_l2([_get(params, name) for name in targets.spatial], sparsity)


def winograd_regularizer(params: Mapping[str, torch.Tensor], targets: SparsityTargets, sparsity: float) -> PartialL2:
    """R_WD (eq. 2) over ``G w Gᵀ`` of the Winograd targets' weights taken from ``params``.

    Args:
        params: name -> spatial tensor.
        targets: from :func:`compress.pipeline.targets.collect_targets`.
        sparsity: ``s_WD``.

    Returns:
        A :class:`PartialL2` (``total`` counts Winograd-domain entries, ``n²`` per filter).

    Example:
        >>> from compress.pipeline.targets import collect_targets
        >>> conv = torch.nn.Conv2d(1, 1, 3)
        >>> winograd_regularizer(dict(conv.named_parameters()), collect_targets(conv), 0.5).total
        36
    """
    return partial_l2(winograd_domain_weights(params, targets), sparsity)


def _get(params: Mapping[str, torch.Tensor], name: str) -> torch.Tensor:
    try:
        return params[name]
    except KeyError:
        raise RecipeError(f"weight {name!r} is not among the given parameters; was the model changed?") from None
