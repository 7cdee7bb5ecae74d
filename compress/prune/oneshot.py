"""One-shot pruning of a state_dict or a module: plan the masks, report, apply.

Pruned weights are set to ``+0.0`` (``masked_fill``, so a negative weight never leaves ``-0.0``
behind), which keeps exported files exactly sparse.

Example:
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> report = prune_(net, PruneConfig(sparsity=0.75))
    >>> report.achieved
    0.75
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn

from compress.prune.config import PruneConfig
from compress.prune.granularity import NM, Unstructured
from compress.prune.masks import compute_masks
from compress.prune.report import LayerReport, PruneReport
from compress.prune.scope import Kind, norm_parameter_names, select


def plan(tensors: Mapping[str, torch.Tensor], config: PruneConfig,
         norm_names: Iterable[str] = ()) -> tuple[dict[str, torch.Tensor], PruneReport]:
    """Compute keep-masks for the tensors in scope and the per-layer report, changing nothing.

    Args:
        tensors: a state_dict or ``dict(model.named_parameters())``.
        config: the pruning recipe.
        norm_names: keys of normalisation-layer parameters (see :func:`norm_parameter_names`).

    Returns:
        ``(masks, report)``: a bool keep-mask per tensor in scope, and the report over all tensors.

    Example:
        >>> masks, report = plan({"w": torch.randn(4, 4), "b": torch.zeros(4)}, PruneConfig(0.5))
        >>> list(masks), report.achieved
        (['w'], 0.5)
    """
    selections = select(tensors, config.select, norm_names)
    chosen = {s.name: tensors[s.name] for s in selections if s.included}
    masks = compute_masks(chosen, config.sparsity, scope=config.scope, granularity=config.granularity,
                          criterion=config.criterion, min_density=config.min_density)
    layers = []
    for s in selections:
        tensor = tensors[s.name]
        sparsity = 0.0
        if s.included:
            sparsity = int((~masks[s.name]).sum()) / max(tensor.numel(), 1)
        layers.append(LayerReport(s.name, tuple(tensor.shape), s.kind.value, s.included, s.reason, sparsity))
    return masks, PruneReport(config.sparsity, tuple(layers))


def prune_state_dict(state_dict: Mapping[str, torch.Tensor],
                     config: PruneConfig) -> tuple[dict[str, torch.Tensor], PruneReport]:
    """Return a pruned copy of ``state_dict`` and its report; the input is not modified.

    Example:
        >>> sd, report = prune_state_dict({"w": torch.tensor([[1.0, -2.0]])}, PruneConfig(0.5))
        >>> sd["w"].tolist()
        [[0.0, -2.0]]
    """
    masks, report = plan(state_dict, config)
    out = {}
    for name, tensor in state_dict.items():
        out[name] = tensor.masked_fill(~masks[name], 0.0) if name in masks else tensor.clone()
    return out, report


def prune_(model: nn.Module, config: PruneConfig) -> PruneReport:
    """Prune ``model``'s parameters in place (one shot) and return the report.

    Example:
        >>> prune_(nn.Linear(4, 4), PruneConfig(0.25)).achieved
        0.25
    """
    params = dict(model.named_parameters())
    masks, report = plan(params, config, norm_parameter_names(model))
    with torch.no_grad():
        for name, mask in masks.items():
            params[name].masked_fill_(~mask, 0.0)
    return report


def structured_scope_warnings(tensors: Mapping[str, torch.Tensor], config: PruneConfig,
                              norm_names: Iterable[str] = ()) -> list[str]:
    """Warn when structured pruning reaches the first weight tensor or the last one (a classifier's output).

    Removing whole rows, columns, kernels or blocks there tends to cost far more than anywhere else:
    rows of a classifier's last layer are whole classes, columns of the first layer are whole input
    channels. Unstructured and N:M granularities keep every row and column, so they get no warning.

    Args:
        tensors: a state_dict or ``dict(model.named_parameters())``.
        config: the pruning recipe.
        norm_names: keys of normalisation-layer parameters.

    Returns:
        One line per such tensor (empty when there is nothing to warn about).

    Example:
        >>> from compress.prune.granularity import Rows
        >>> sd = {"conv.weight": torch.zeros(4, 1, 3, 3), "fc.weight": torch.zeros(10, 4)}
        >>> warnings = structured_scope_warnings(sd, PruneConfig(0.5, granularity=Rows()))
        >>> [w.split(" and in")[0].split(" (")[0] for w in warnings]
        ['conv.weight is the first layer', 'fc.weight is the last layer']
    """
    if isinstance(config.granularity, Unstructured | NM):
        return []
    selections = select(tensors, config.select, norm_names)
    weights = [s for s in selections if s.kind is Kind.WEIGHT]
    if not weights:
        return []
    kind = type(config.granularity).__name__.lower()
    out = []
    ends = [(weights[0], "the first layer", "--exclude-first")]
    if len(weights) > 1:
        ends.append((weights[-1], "the last layer (a classifier's output; its rows are whole classes)",
                     "--exclude-last"))
    for selection, where, flag in ends:
        if selection.included:
            out.append(f"{selection.name} is {where} and in the scope of {kind} pruning, which often costs far "
                       f"more accuracy there; consider {flag}")
    return out
