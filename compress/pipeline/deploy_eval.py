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

from compress.errors import CompressError, RecipeError
from compress.winograd.conv import WinogradConv2d, winograd_incompatibility

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
    model: nn.Module,
    weights: Mapping[str, np.ndarray],
    m_for_r: Mapping[int, int] | None = None,
    *,
    tiles: Mapping[str, tuple[int, int]] | None = None,
    sparse: bool = False,
) -> nn.Module:
    """A copy of ``model`` whose eligible convs run in the Winograd domain with the given weights.

    Which convs, and with which F(m, r): with ``tiles`` (e.g. :func:`formats.winograd_tiles` of the
    file), exactly the weights it names; otherwise every stride-1 square ``r x r`` conv whose weight in
    ``weights`` is shaped ``(out, in/groups, n, n)`` with ``n != r``, with ``m = n - r + 1`` (what the
    loader transformed it with). ``m_for_r``, when given, restricts the swap to its kernel sizes and
    must agree with the shapes.

    Args:
        model: the network.
        weights: name -> array as returned by ``formats.load(..., domain="winograd")``: Winograd-domain
            ``(out, in, n, n)`` for the marked conv weights, spatial for everything else.
        m_for_r: Winograd tile per kernel size (optional; checked against the shapes).
        tiles: ``name -> (m, r)`` of the weights in the Winograd domain.
        sparse: run each Winograd layer's channel mixing as one sparse CSR matmul (inference only).

    Returns:
        The model in eval mode.

    Raises:
        RecipeError: a Winograd-domain weight whose module is not a conv a Winograd layer can run, or
            whose shape does not fit its F(m, r).

    Example:
        >>> from formats.winograd import transform_filters
        >>> conv = nn.Sequential(nn.Conv2d(1, 1, 3, bias=False))
        >>> wd = {"0.weight": transform_filters(conv[0].weight.detach().numpy(), 2)}
        >>> winograd_deployed(conv, wd)[0].m
        2
    """
    table = None if m_for_r is None else dict(m_for_r)
    pending = dict(tiles) if tiles is not None else None
    swapped = set()
    out = copy.deepcopy(model).eval()
    for parent_name, parent in list(out.named_modules()):
        for child_name, child in list(parent.named_children()):
            name = f"{parent_name}.{child_name}" if parent_name else child_name
            key = f"{name}.weight"
            if key not in weights or (pending is not None and key not in pending):
                continue
            if pending is None and (not isinstance(child, nn.Conv2d) or winograd_incompatibility(child)):
                continue
            reason = winograd_incompatibility(child)
            if reason:
                raise RecipeError(f"{key} is marked for Winograd deployment but {name} cannot run as a Winograd "
                                  f"layer: {reason}")
            r, shape = int(child.kernel_size[0]), tuple(weights[key].shape)
            if pending is not None:
                m, marked_r = pending.pop(key)
                if marked_r != r:
                    raise RecipeError(f"{key} is marked F({m}, {marked_r}) but {name} has a {r}x{r} kernel")
            elif shape[-2:] == (r, r) or len(shape) != 4 or (table is not None and r not in table):
                continue  # spatial weights, or a kernel size not asked for
            else:
                m = shape[-1] - r + 1
                if table is not None and table[r] != m:
                    raise RecipeError(f"{key}: Winograd weights shaped {shape} are F({m}, {r}), not the F({table[r]}, "
                                      f"{r}) of m_for_r")
            wd = torch.from_numpy(np.array(weights[key], dtype=np.float32, copy=True))
            padding = child.padding if isinstance(child.padding, str) else tuple(int(p) for p in child.padding)
            try:
                layer = WinogradConv2d.from_winograd_weights(
                    wd, m=m, r=r, padding=padding, groups=child.groups, bias=child.bias,  # type: ignore[arg-type]
                    sparse=sparse,
                )
            except CompressError as exc:
                raise RecipeError(f"{key}: {exc}") from None
            setattr(parent, child_name, layer.eval())
            swapped.add(key)
    if pending:
        raise RecipeError(f"weights marked for Winograd deployment name no conv of the model: {sorted(pending)[:3]}")
    rest = {k: v for k, v in weights.items() if k not in swapped}
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
