"""One-cycle global L1 pruning of a MANN during training, over a named scope, with an exact final count.

Scopes (:data:`PRUNE_SCOPES`):

* ``experts`` (the default): the three stacked expert weight tensors of the motion network,
  ``layers.{0,1,2}.weight``, ranked together: 5,550,080 of the dog model's 5,563,136 parameters (99.77 %).
  The expert biases (11,096) and the gating network (1,960) stay dense: they are 0.23 % of the model,
  every expert bias is used by every frame, and the gating network decides which expert runs.
* ``all``: every parameter (weights, biases, gating), the paper's "total amount of parameters".

The schedule is :class:`compress.prune.OneCycle` (the fasterai logistic ramp) from 0 to the target over
the whole run; :class:`MannSparsifier` is :class:`compress.prune.Sparsifier` with a faster mask
computation for this case (unstructured, L1, global), which gives the same masks as
:func:`compress.prune.plan` (checked in the tests): the ``round(s · N)`` smallest ``|w|`` go, ties
to the lower index in tensor order then C order. It takes about 0.1 s for the dog model instead of
several seconds, so masks can follow the schedule every few steps.

Example:
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> model = MANN(MANNConfig(input_dim=6, output_dim=4, hidden=8, gating_input_dim=2, gating_hidden=4))
    >>> sparsifier = make_sparsifier(model, 0.5, total_steps=4)
    >>> for _ in range(4):
    ...     _ = sparsifier.step()
    >>> check_sparsity(model, 0.5).exact
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from compress.errors import CompressError
from compress.prune import L1, L2, OneCycle, PruneConfig, Scope, SelectOptions, Sparsifier, Unstructured, prune_count
from compress.prune.report import LayerReport, PruneReport
from compress.prune.scope import select

__all__ = ["PRUNE_SCOPES", "MannSparsifier", "ScopeSparsity", "check_sparsity", "global_magnitude_masks",
           "make_sparsifier", "prune_config", "scope_parameters"]

#: Named pruning scopes and the parameters they select.
PRUNE_SCOPES: dict[str, SelectOptions] = {
    "experts": SelectOptions(exclude=("gating.*",)),
    "all": SelectOptions(include_bias=True, include_norm=True),
}


def prune_config(scope: str = "experts", sparsity: float = 0.0) -> PruneConfig:
    """The recipe of the study: global, unstructured, L1, over ``scope`` (a key of :data:`PRUNE_SCOPES`).

    Example:
        >>> prune_config("all", 0.9).select.include_bias
        True
    """
    if scope not in PRUNE_SCOPES:
        raise CompressError(f"unknown pruning scope {scope!r}; known: {', '.join(PRUNE_SCOPES)}")
    return PruneConfig(sparsity, scope=Scope.GLOBAL, select=PRUNE_SCOPES[scope])


def scope_parameters(model: nn.Module, scope: str = "experts") -> dict[str, torch.Tensor]:
    """The parameters of ``model`` in ``scope``, by name, in model order.

    Example:
        >>> from compress.zoo.mann import MANN
        >>> list(scope_parameters(MANN()))
        ['layers.0.weight', 'layers.1.weight', 'layers.2.weight']
    """
    params = dict(model.named_parameters())
    return {s.name: params[s.name] for s in select(params, prune_config(scope).select) if s.included}


def global_magnitude_masks(tensors: Mapping[str, torch.Tensor], sparsity: float) -> dict[str, torch.Tensor]:
    """Keep-masks that prune the ``round(sparsity · N)`` smallest ``|w|`` over all ``tensors`` together.

    Ties go to the lower index (tensors in mapping order, then C order), as in :func:`compress.prune.plan`
    with global unstructured L1. Selection by ``kthvalue`` instead of a full sort.

    Example:
        >>> masks = global_magnitude_masks({"a": torch.tensor([3.0, -1.0]), "b": torch.tensor([1.0, 2.0])}, 0.5)
        >>> masks["a"].tolist(), masks["b"].tolist()
        ([True, False], [False, True])
    """
    names = list(tensors)
    if not names:
        return {}
    flat = torch.cat([tensors[n].detach().reshape(-1).abs().float().cpu() for n in names])
    count = prune_count(sparsity, flat.numel())
    keep = torch.ones(flat.numel(), dtype=torch.bool)
    if count > 0:
        threshold = torch.kthvalue(flat, count).values
        below = flat < threshold
        keep[below] = False
        ties = torch.nonzero(flat == threshold).squeeze(1)
        keep[ties[: count - int(below.sum())]] = False
    out, start = {}, 0
    for n in names:
        size = tensors[n].numel()
        out[n] = keep[start : start + size].reshape(tensors[n].shape).to(tensors[n].device)
        start += size
    return out


class MannSparsifier(Sparsifier):
    """:class:`compress.prune.Sparsifier` whose global unstructured magnitude masks come from
    :func:`global_magnitude_masks` (same masks as the general planner, much faster on millions of weights).

    Any other recipe (local scope, groups, minimum density), or a tensor holding NaN, goes through the
    general planner unchanged.
    """

    def _update(self, target: float) -> None:
        config = self.config
        fast = (config.scope is Scope.GLOBAL and isinstance(config.granularity, Unstructured)
                and isinstance(config.criterion, L1 | L2) and config.min_density == 0.0)
        selections = select(self._params, config.select, self._norm_names)
        chosen = {s.name: self._params[s.name] for s in selections if s.included}
        if not fast or any(bool(torch.isnan(t).any()) for t in chosen.values()):
            super()._update(target)
            return
        self.sparsity = target
        masks = global_magnitude_masks(chosen, target)
        layers = []
        for s in selections:
            tensor = self._params[s.name]
            pruned = int((~masks[s.name]).sum()) / max(tensor.numel(), 1) if s.included else 0.0
            layers.append(LayerReport(s.name, tuple(tensor.shape), s.kind.value, s.included, s.reason, pruned))
        self.report = PruneReport(target, tuple(layers))
        self._set_masks(masks)


def make_sparsifier(model: nn.Module, target: float, total_steps: int, scope: str = "experts",
                    every: int = 1) -> MannSparsifier:
    """A one-cycle sparsifier that reaches ``target`` of ``scope`` at step ``total_steps``.

    Args:
        model: the MANN being trained.
        target: final sparsity in scope, a fraction (0.9).
        total_steps: optimizer steps of the whole run.
        scope: a key of :data:`PRUNE_SCOPES`.
        every: recompute masks every ``every`` steps (and at the last); masks are re-applied every step.

    Example:
        >>> from compress.zoo.mann import MANN
        >>> make_sparsifier(MANN(), 0.9, total_steps=100).schedule.end_sparsity
        0.9
    """
    config = prune_config(scope, target)
    return MannSparsifier(model, config, OneCycle(end_sparsity=target), total_steps=total_steps, every=every)


@dataclass(frozen=True)
class ScopeSparsity:
    """Zeros counted in a pruning scope.

    Attributes:
        target: the sparsity asked for.
        total: parameters in scope.
        zeros: of those, how many are exactly zero.
        expected: ``round(target · total)``.
    """

    target: float
    total: int
    zeros: int
    expected: int

    @property
    def sparsity(self) -> float:
        """``zeros / total``."""
        return self.zeros / max(self.total, 1)

    @property
    def exact(self) -> bool:
        """Whether exactly the expected number of parameters is zero."""
        return self.zeros == self.expected


def check_sparsity(model: nn.Module, target: float, scope: str = "experts") -> ScopeSparsity:
    """Count the zeros of ``model`` in ``scope`` against ``round(target · N)``.

    Example:
        >>> check_sparsity(nn.Linear(4, 4, bias=False), 0.0).exact
        True
    """
    tensors = scope_parameters(model, scope)
    total = sum(t.numel() for t in tensors.values())
    zeros = sum(int((t.detach() == 0).sum()) for t in tensors.values())
    if math.isnan(target) or not 0 <= target <= 1:
        raise CompressError(f"target sparsity must be a fraction in [0, 1], got {target}")
    return ScopeSparsity(float(target), total, zeros, prune_count(target, total))
