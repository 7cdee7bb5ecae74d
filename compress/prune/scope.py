"""Which tensors a pruning pass touches, and whether they share one threshold.

:class:`Scope` says how the threshold is taken: ``LOCAL`` prunes each tensor to the requested sparsity,
``GLOBAL`` ranks every weight in scope against every other (one threshold over all of them).
:func:`select` decides which tensors are in scope: weights (≥ 2 dimensions) are, biases and
normalisation parameters are not unless asked, buffers and integer tensors never are; the first
and/or the last weight tensor, and names matching glob patterns, can be left out.

Example:
    >>> import torch
    >>> sd = {"fc1.weight": torch.zeros(4, 3), "fc1.bias": torch.zeros(4), "fc2.weight": torch.zeros(2, 4)}
    >>> [s.name for s in select(sd, SelectOptions(exclude_last=True)) if s.included]
    ['fc1.weight']
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")


class Scope(enum.Enum):
    """One threshold per tensor (LOCAL) or one over every tensor in scope (GLOBAL)."""

    LOCAL = "local"
    GLOBAL = "global"


class Kind(enum.Enum):
    """What a named tensor is, as far as pruning cares."""

    WEIGHT = "weight"
    BIAS = "bias"
    NORM = "norm"
    OTHER = "other"


@dataclass(frozen=True)
class SelectOptions:
    """Which tensors are pruned.

    Attributes:
        include_bias: also prune biases.
        include_norm: also prune normalisation scales/shifts and other 1-D parameters.
        exclude_first: leave the first weight tensor (in state_dict order) dense.
        exclude_last: leave the last weight tensor dense.
        exclude: glob patterns (``fnmatch``) of names to leave dense, e.g. ``("gating.*",)``.
    """

    include_bias: bool = False
    include_norm: bool = False
    exclude_first: bool = False
    exclude_last: bool = False
    exclude: tuple[str, ...] = ()
    version: ClassVar[int] = 1


@dataclass(frozen=True)
class Selection:
    """The verdict on one named tensor.

    Attributes:
        name: state_dict key.
        kind: weight, bias, norm or other.
        included: whether the pass prunes it.
        reason: why it is excluded (empty when included).
    """

    name: str
    kind: Kind
    included: bool
    reason: str = ""


def classify(name: str, tensor: torch.Tensor, norm_names: frozenset[str] = frozenset()) -> Kind:
    """Say whether a state_dict entry is a weight, a bias, a norm parameter or something else.

    Args:
        name: the state_dict key.
        tensor: its value.
        norm_names: keys known to belong to normalisation layers (from :func:`norm_parameter_names`).

    Returns:
        The tensor's :class:`Kind`: integer tensors and running statistics are OTHER, keys ending in
        ``bias`` are BIAS, norm-layer parameters and other 1-D tensors are NORM, the rest WEIGHT.

    Example:
        >>> classify("bn.running_mean", torch.zeros(3))
        <Kind.OTHER: 'other'>
    """
    leaf = name.rsplit(".", 1)[-1]
    if not tensor.is_floating_point() or leaf in BUFFER_SUFFIXES:
        return Kind.OTHER
    if leaf == "bias" or leaf.endswith("_bias"):
        return Kind.BIAS
    if name in norm_names or tensor.ndim <= 1:
        return Kind.NORM
    return Kind.WEIGHT


_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.RMSNorm)


def norm_parameter_names(model: nn.Module) -> frozenset[str]:
    """Return the parameter names that belong to normalisation layers of ``model``.

    Example:
        >>> sorted(norm_parameter_names(nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))))
        ['1.bias', '1.weight']
    """
    names = set()
    for prefix, module in model.named_modules():
        if isinstance(module, _NORM_TYPES):
            for pname, _ in module.named_parameters(recurse=False):
                names.add(f"{prefix}.{pname}" if prefix else pname)
    return frozenset(names)


def select(tensors: Mapping[str, torch.Tensor], options: SelectOptions,
           norm_names: Iterable[str] = ()) -> list[Selection]:
    """Decide, for every named tensor, whether it is pruned.

    Args:
        tensors: state_dict or ``dict(model.named_parameters())``, in model order.
        options: what to include or leave out.
        norm_names: keys of normalisation-layer parameters (see :func:`norm_parameter_names`).

    Returns:
        One :class:`Selection` per entry, in the mapping's order.

    Example:
        >>> select({"w": torch.zeros(2, 2)}, SelectOptions())[0].included
        True
    """
    norms = frozenset(norm_names)
    kinds = {name: classify(name, t, norms) for name, t in tensors.items()}
    weights = [name for name, kind in kinds.items() if kind is Kind.WEIGHT]
    first = weights[0] if weights and options.exclude_first else None
    last = weights[-1] if weights and options.exclude_last else None
    out = []
    for name, kind in kinds.items():
        reason = ""
        if kind is Kind.OTHER:
            reason = "buffer or non-float"
        elif kind is Kind.BIAS and not options.include_bias:
            reason = "bias"
        elif kind is Kind.NORM and not options.include_norm:
            reason = "norm/1-D"
        elif name == first:
            reason = "first layer"
        elif name == last:
            reason = "last layer"
        elif any(fnmatch.fnmatchcase(name, pattern) for pattern in options.exclude):
            reason = "excluded by pattern"
        out.append(Selection(name, kind, not reason, reason))
    return out
