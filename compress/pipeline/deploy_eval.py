"""Deployment checks: build the model a spatial or a Winograd runtime would run from decoded weights.

Spatial: the decoded (sparse) spatial weights loaded into a copy of the model. Winograd: a copy whose
Winograd-eligible convs are :class:`~compress.winograd.conv.WinogradConv2d` layers holding the given
Winograd-domain weights (e.g. ``formats.load(path, domain="winograd", sparsity=s_wd)``, which transforms
the decoded filters and prunes them with one global magnitude threshold).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from compress.errors import RecipeError
from compress.winograd.conv import WinogradConv2d, winograd_incompatibility
from compress.winograd.swap import DEFAULT_M_FOR_R

__all__ = ["load_decoded", "sparsity_by_tensor", "winograd_deployed"]


def load_decoded(model: nn.Module, weights: Mapping[str, np.ndarray]) -> nn.Module:
    """A copy of ``model`` (eval mode) with the given spatial tensors loaded; others unchanged.

    Example:
        >>> net = load_decoded(nn.Linear(2, 1), {"weight": np.zeros((1, 2), np.float32)})
        >>> float(net.weight.abs().sum())
        0.0
    """
    out = copy.deepcopy(model).eval()
    state = out.state_dict()
    unknown = sorted(set(weights) - set(state))
    if unknown:
        raise RecipeError(f"decoded tensors not in the model: {unknown[:3]}")
    for name, value in weights.items():
        if tuple(state[name].shape) != tuple(value.shape):
            raise RecipeError(f"{name}: decoded shape {value.shape} != model shape {tuple(state[name].shape)}")
        state[name] = torch.from_numpy(np.array(value, copy=True)).to(state[name].dtype)
    out.load_state_dict(state)
    return out


def winograd_deployed(
    model: nn.Module, weights: Mapping[str, np.ndarray], m_for_r: Mapping[int, int] | None = None
) -> nn.Module:
    """A copy of ``model`` whose eligible convs run in the Winograd domain with the given weights.

    Args:
        model: the network.
        weights: name -> array as returned by ``formats.load(..., domain="winograd")``: Winograd-domain
            ``(out, in, n, n)`` for the eligible conv weights, spatial for everything else.
        m_for_r: Winograd tile per kernel size (must match what transformed ``weights``).

    Returns:
        The model in eval mode.

    Example:
        >>> from formats.winograd import transform_filters
        >>> conv = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False))
        >>> wd = {"0.weight": transform_filters(conv[0].weight.detach().numpy(), 4)}
        >>> type(winograd_deployed(conv, wd)[0]).__name__
        'WinogradConv2d'
    """
    table = dict(DEFAULT_M_FOR_R if m_for_r is None else m_for_r)
    spatial = {}
    out = copy.deepcopy(model).eval()
    for parent_name, parent in list(out.named_modules()):
        for child_name, child in list(parent.named_children()):
            name = f"{parent_name}.{child_name}" if parent_name else child_name
            key = f"{name}.weight"
            if not isinstance(child, nn.Conv2d) or winograd_incompatibility(child) or key not in weights:
                continue
            r = int(child.kernel_size[0])
            if r not in table:
                continue
            m = table[r]
            wd = torch.from_numpy(np.array(weights[key], dtype=np.float32, copy=True))
            padding = child.padding if isinstance(child.padding, str) else tuple(int(p) for p in child.padding)
            layer = WinogradConv2d.from_winograd_weights(
                wd, m=m, r=r, padding=padding, groups=child.groups, bias=child.bias  # type: ignore[arg-type]
            )
            setattr(parent, child_name, layer.eval())
            spatial[key] = None
    rest = {k: v for k, v in weights.items() if k not in spatial}
    state = out.state_dict()
    for name, value in rest.items():
        if name in state:
            state[name] = torch.from_numpy(np.array(value, copy=True)).to(state[name].dtype)
    out.load_state_dict(state)
    return out


def sparsity_by_tensor(weights: Mapping[str, np.ndarray], names: list[str] | None = None) -> dict[str, float]:
    """Fraction of exact zeros per tensor (all tensors, or ``names``).

    Example:
        >>> sparsity_by_tensor({"w": np.array([0.0, 1.0, 0.0, 2.0])})
        {'w': 0.5}
    """
    chosen = list(weights) if names is None else names
    return {n: float(np.mean(np.asarray(weights[n]) == 0)) if np.asarray(weights[n]).size else 0.0 for n in chosen}
