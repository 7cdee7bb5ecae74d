"""Compute keep-masks that hit a requested sparsity exactly.

The count is fixed first, then the weights are ranked: a tensor (LOCAL) or the scope (GLOBAL) of
``N`` weights at sparsity ``s`` loses exactly ``round(s · N)`` weights (halves round up). Scores are
ranked with a stable sort, so ties go to the lower flat index (tensor order, then C order) and the
same weights always give the same masks.

With group granularities (rows, kernels, blocks, ...) whole groups go: LOCAL prunes
``round(s · groups)`` groups per tensor; GLOBAL walks the groups from the lowest score and prunes each
one whose weights still fit in the budget ``round(s · N)``, which is exact whenever the group sizes
divide the budget (always for unstructured pruning). A per-tensor minimum density caps how much of
one tensor may go (GLOBAL moves the rest of the budget to other tensors); if the cap makes the
requested sparsity unreachable a :class:`RecipeError` says so.

Example:
    >>> import torch
    >>> masks = compute_masks({"w": torch.arange(10.0).reshape(2, 5)}, 0.3)
    >>> int((~masks["w"]).sum())
    3
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from compress.errors import RecipeError
from compress.prune.criteria import L1, Criterion
from compress.prune.granularity import NM, Granularity, Unstructured
from compress.prune.scope import Scope

UNSTRUCTURED = Unstructured()
L1_MAGNITUDE = L1()


def prune_count(sparsity: float, total: int) -> int:
    """Number of items pruned out of ``total`` at ``sparsity``: ``round(sparsity · total)``, halves up.

    Example:
        >>> prune_count(0.9, 1000), prune_count(0.25, 2)
        (900, 1)
    """
    return min(total, math.floor(sparsity * total + 0.5))


def check_fraction(value: float, what: str) -> float:
    """Return ``value`` as float if it lies in [0, 1], else raise :class:`RecipeError`."""
    value = float(value)
    if not 0.0 <= value <= 1.0 or math.isnan(value):
        raise RecipeError(f"{what} must be a fraction in [0, 1] (not a percentage), got {value}")
    return value


def compute_masks(tensors: Mapping[str, torch.Tensor], sparsity: float, *,
                  scope: Scope = Scope.GLOBAL, granularity: Granularity = UNSTRUCTURED,
                  criterion: Criterion = L1_MAGNITUDE, min_density: float = 0.0) -> dict[str, torch.Tensor]:
    """Return a boolean keep-mask (True = kept) per tensor.

    Args:
        tensors: the tensors in scope, in a fixed order (the order breaks ties in GLOBAL scope).
        sparsity: fraction of weights to prune, in [0, 1].
        scope: one threshold per tensor or one for all.
        granularity: what one pruning decision removes.
        criterion: group score; lower scores are pruned first.
        min_density: fraction of each tensor's groups that must survive, in [0, 1].

    Returns:
        ``name -> bool tensor`` of each input's shape, on the input's device.

    Raises:
        RecipeError: sparsity or min_density out of range, a granularity that does not fit a tensor,
            an N:M pattern asked for another sparsity, or a budget the minimum density forbids.

    Example:
        >>> m = compute_masks({"a": torch.tensor([[1.0, -2.0]]), "b": torch.tensor([[0.5, 3.0]])}, 0.5)
        >>> m["a"].tolist(), m["b"].tolist()
        ([[False, True]], [[False, True]])
    """
    sparsity = check_fraction(sparsity, "sparsity")
    min_density = check_fraction(min_density, "min_density")
    if isinstance(granularity, NM):
        return _nm_masks(tensors, sparsity, granularity, criterion)
    scores = {name: criterion.scores(granularity.to_groups(t)) for name, t in tensors.items()}
    caps = {name: len(s) - math.ceil(min_density * len(s) - 1e-9) for name, s in scores.items()}
    if scope is Scope.LOCAL:
        for name, s in scores.items():
            if prune_count(sparsity, len(s)) > caps[name]:
                raise RecipeError(
                    f"sparsity {sparsity} cannot be reached on {name!r} with min_density {min_density}; "
                    "lower one of them"
                )
        keeps = {name: _local_keep(s, sparsity, caps[name]) for name, s in scores.items()}
    else:
        sizes = {name: t.numel() // max(len(scores[name]), 1) for name, t in tensors.items()}
        keeps = _global_keep(scores, sizes, caps, sparsity)
    return {name: granularity.expand(keeps[name], t.shape).to(t.device) for name, t in tensors.items()}


def _local_keep(scores: torch.Tensor, sparsity: float, cap: int) -> torch.Tensor:
    count = min(prune_count(sparsity, len(scores)), cap)
    keep = torch.ones(len(scores), dtype=torch.bool)
    order = torch.sort(scores, stable=True).indices
    keep[order[:count]] = False
    return keep


def _global_keep(scores: Mapping[str, torch.Tensor], sizes: Mapping[str, int], caps: Mapping[str, int],
                 sparsity: float) -> dict[str, torch.Tensor]:
    names = list(scores)
    if not names:
        return {}
    flat = torch.cat([scores[n].cpu() for n in names])
    owner = torch.cat([torch.full((len(scores[n]),), i, dtype=torch.long) for i, n in enumerate(names)])
    offsets = [0]
    for n in names:
        offsets.append(offsets[-1] + len(scores[n]))
    budget = prune_count(sparsity, sum(sizes[n] * len(scores[n]) for n in names))
    order = torch.sort(flat, stable=True).indices
    owners = owner[order]
    eligible = torch.ones(len(order), dtype=torch.bool)
    for i, n in enumerate(names):  # a tensor's groups appear in its own score order along `order`
        if caps[n] >= len(scores[n]):
            continue
        mine = owners == i
        rank = torch.cumsum(mine.to(torch.long), 0) - 1
        eligible &= ~mine | (rank < caps[n])
    group_size = torch.tensor([sizes[n] for n in names], dtype=torch.long)[owners]
    candidates = order[eligible]
    weights = group_size[eligible]
    if int(weights.sum()) < budget:
        reachable = int(weights.sum()) / max(sum(sizes[n] * len(scores[n]) for n in names), 1)
        raise RecipeError(
            f"sparsity {sparsity} cannot be reached with this min_density: at most {reachable:.6f} "
            "of the weights in scope may go; lower min_density or the sparsity"
        )
    pruned = _fill_budget(candidates, weights, budget)
    keep = torch.ones(len(flat), dtype=torch.bool)
    keep[pruned] = False
    return {n: keep[offsets[i]:offsets[i + 1]] for i, n in enumerate(names)}


def _fill_budget(candidates: torch.Tensor, weights: torch.Tensor, budget: int) -> torch.Tensor:
    """Walk candidates in order, taking each whose weight still fits in the remaining budget."""
    if len(weights) == 0 or bool((weights == weights[0]).all()):
        step = int(weights[0]) if len(weights) else 1
        return candidates[: budget // step]
    cumulative = torch.cumsum(weights, 0)
    prefix = int(torch.searchsorted(cumulative, torch.tensor(budget), right=True))
    taken = [candidates[:prefix]]
    remaining = budget - (int(cumulative[prefix - 1]) if prefix else 0)
    smallest = int(weights[prefix:].min()) if prefix < len(weights) else 1
    for idx in range(prefix, len(candidates)):
        if remaining < smallest:
            break
        if int(weights[idx]) <= remaining:
            taken.append(candidates[idx:idx + 1])
            remaining -= int(weights[idx])
    return torch.cat(taken)


def _nm_masks(tensors: Mapping[str, torch.Tensor], sparsity: float, nm: NM,
              criterion: Criterion) -> dict[str, torch.Tensor]:
    if abs(sparsity - nm.sparsity) > 1e-9:
        raise RecipeError(
            f"N:M {nm.n}:{nm.m} fixes the sparsity at {nm.sparsity:g}, but {sparsity:g} was asked; "
            f"pass sparsity {nm.sparsity:g}"
        )
    out = {}
    for name, tensor in tensors.items():
        groups = nm.to_groups(tensor)
        scores = criterion.scores(groups.reshape(-1, 1)).reshape(groups.shape)
        # stable descending order: sort the negated scores ascending
        order = torch.sort(-scores, dim=1, stable=True).indices
        keep = torch.zeros(groups.shape, dtype=torch.bool)
        keep.scatter_(1, order[:, : nm.n], True)
        out[name] = nm.expand(keep, tensor.shape).to(tensor.device)
    return out
