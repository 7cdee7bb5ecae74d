"""Per-tensor deployment attributes stored in the artifact (which filters a Winograd runtime transforms).

Three ways to find the convs to mark, from the most to the least informed:

* :func:`traced_winograd_attrs`: one forward pass of an example input through the architecture shows
  which convs run and with which stride and dilation;
* :func:`winograd_attrs`: the conv modules' own attributes, no forward pass;
* :func:`shape_winograd_attrs`: no architecture at all, only tensor shapes ``(out, in, k, k)``; the caller
  vouches for stride, dilation and groups.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from compress.errors import RecipeError
from compress.tracing import trace_forward
from compress.winograd.conv import winograd_incompatibility
from compress.winograd.swap import DEFAULT_M_FOR_R

__all__ = ["parse_m_for_r", "shape_winograd_attrs", "traced_winograd_attrs", "winograd_attrs"]

log = logging.getLogger(__name__)


def winograd_attrs(model: nn.Module, m_for_r: Mapping[int, int] | None = None) -> dict[str, dict[str, object]]:
    """Mark the weight of every conv a Winograd runtime can run with F(m, r).

    A conv qualifies when it is stride 1, dilation 1, zero-padded, with a square ``r x r``
    kernel and ``r`` in ``m_for_r``. The loader's ``domain="winograd"`` transforms exactly
    the tensors marked here.

    Args:
        model: the model whose state_dict is being compressed.
        m_for_r: output tile size per kernel size (default F(4, 3) and F(4, 5)).

    Returns:
        ``{"<module>.weight": {"winograd": {"m": m, "r": r}}}`` for each qualifying conv.

    Example:
        >>> winograd_attrs(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3, stride=2)))
        {'0.weight': {'winograd': {'m': 4, 'r': 3}}}
    """
    table = dict(DEFAULT_M_FOR_R if m_for_r is None else m_for_r)
    marks: dict[str, dict[str, object]] = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d) or winograd_incompatibility(module) is not None:
            continue
        r = int(module.kernel_size[0])
        if r in table:
            key = f"{name}.weight" if name else "weight"
            marks[key] = {"winograd": {"m": int(table[r]), "r": r}}
    return marks


def traced_winograd_attrs(
    model: nn.Module, example_input: torch.Tensor, m_for_r: Mapping[int, int] | None = None
) -> dict[str, dict[str, object]]:
    """Mark the convs that one forward pass of ``example_input`` shows a Winograd runtime can run.

    Like :func:`winograd_attrs`, but from what the model does rather than what its modules say: a conv
    is marked only when the pass calls it, and every ``conv2d`` the pass runs with its weight (through
    the module or functionally, e.g. ``F.conv2d(x, self.conv.weight, stride=2)``) is stride 1 and
    dilation 1. Convs the pass never reaches are left unmarked.

    Args:
        model: the architecture (its mode is restored; no gradients are taken).
        example_input: one input batch, e.g. ``torch.zeros(1, 3, 32, 32)``.
        m_for_r: output tile size per kernel size (default F(4, 3) and F(4, 5)).

    Returns:
        ``{"<module>.weight": {"winograd": {"m": m, "r": r}}}`` for each qualifying conv whose weight is in
        the model's state_dict.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3, stride=2))
        >>> traced_winograd_attrs(net, torch.zeros(1, 1, 8, 8), {3: 2})
        {'0.weight': {'winograd': {'m': 2, 'r': 3}}}
    """
    table = dict(DEFAULT_M_FOR_R if m_for_r is None else m_for_r)
    calls: dict[int, int] = {}
    recorder = _Conv2dCalls()
    handles = [module.register_forward_hook(_count_into(calls, id(module)))
               for module in model.modules() if isinstance(module, nn.Conv2d)]
    with recorder:
        trace_forward(model, example_input, handles)
    state = model.state_dict()
    marks: dict[str, dict[str, object]] = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d) or winograd_incompatibility(module) is not None:
            continue
        key, r = (f"{name}.weight" if name else "weight"), int(module.kernel_size[0])
        if r not in table or key not in state or not calls.get(id(module)):
            continue
        uses = recorder.uses.get(id(module.weight), [])
        bad = [use for use in uses if use != ((1, 1), (1, 1))]
        if bad:
            log.info("%s: not marked, the forward pass runs it with stride/dilation %s", key, bad[0])
            continue
        marks[key] = {"winograd": {"m": int(table[r]), "r": r}}
    return marks


def shape_winograd_attrs(
    tensors: Mapping[str, object], m_for_r: Mapping[int, int], exclude: Sequence[str] = ()
) -> dict[str, dict[str, object]]:
    """Mark, without an architecture, every floating 4-D tensor shaped ``(out, in, k, k)`` with ``k`` in ``m_for_r``.

    Only the shape is known: whether the conv runs with stride 1, dilation 1, zero padding and the
    groups the shape implies cannot be seen, so the caller vouches for it (a stride-2 stem must be
    left out through ``exclude``). Prefer :func:`traced_winograd_attrs` when the model's code is at hand.

    Args:
        tensors: name -> tensor (a state_dict; numpy arrays work too).
        m_for_r: output tile size per kernel size, e.g. ``{3: 2, 5: 4}``.
        exclude: ``fnmatch`` patterns of names to leave unmarked.

    Returns:
        ``{name: {"winograd": {"m": m, "r": k}}}`` in the mapping's order.

    Example:
        >>> sd = {"stem.weight": torch.zeros(4, 1, 3, 3), "c.weight": torch.zeros(4, 4, 3, 3), "fc": torch.zeros(2, 4)}
        >>> shape_winograd_attrs(sd, {3: 2}, exclude=["stem.*"])
        {'c.weight': {'winograd': {'m': 2, 'r': 3}}}
    """
    marks: dict[str, dict[str, object]] = {}
    for name, tensor in tensors.items():
        shape = tuple(getattr(tensor, "shape", ()))
        floating = tensor.is_floating_point() if isinstance(tensor, torch.Tensor) else (
            getattr(getattr(tensor, "dtype", None), "kind", "") == "f")
        if len(shape) != 4 or shape[2] != shape[3] or shape[3] not in m_for_r or not floating:
            continue
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in exclude):
            continue
        marks[name] = {"winograd": {"m": int(m_for_r[shape[3]]), "r": int(shape[3])}}
    return marks


def parse_m_for_r(text: str) -> dict[int, int]:
    """Parse a ``kernel size = output tile`` map such as ``"3=2,5=4"`` (F(2, 3) and F(4, 5)).

    Raises:
        RecipeError: a malformed entry, a kernel size below 2 or a tile outside 1..8 (as in a recipe's
            ``[winograd]`` table).

    Example:
        >>> parse_m_for_r("3=2, 5=4")
        {3: 2, 5: 4}
    """
    table: dict[int, int] = {}
    for item in text.split(","):
        r, sep, m = item.strip().partition("=")
        if not (sep and r.strip().isdigit() and m.strip().isdigit()) or int(r) < 2 or not 1 <= int(m) <= 8:
            raise RecipeError(f"winograd map {text!r}: use kernel size=output tile pairs with tiles in 1..8, "
                              "e.g. 3=2,5=4 for F(2, 3) and F(4, 5)")
        if int(r) in table:
            raise RecipeError(f"winograd map {text!r} gives kernel size {int(r)} twice")
        table[int(r)] = int(m)
    return table


def _count_into(calls: dict[int, int], key: int) -> Callable[..., None]:
    def hook(module: nn.Module, inputs: object, output: object) -> None:
        calls[key] = calls.get(key, 0) + 1

    return hook


def _pair(value: object) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    items = tuple(int(v) for v in value)  # type: ignore[attr-defined]
    return (items[0], items[0]) if len(items) == 1 else (items[0], items[1])


_CONV2D_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")


class _Conv2dCalls(TorchFunctionMode):
    """Records, per weight tensor (by identity), the (stride, dilation) of every ``conv2d`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.uses: dict[int, list[tuple[tuple[int, int], tuple[int, int]]]] = {}

    def __torch_function__(self, func: Callable[..., Any], types: object, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if func in (torch.conv2d, torch.nn.functional.conv2d):
            bound = dict(zip(_CONV2D_ARGS, args, strict=False))
            bound.update(kwargs)
            weight = bound.get("weight")
            if isinstance(weight, torch.Tensor):
                use = (_pair(bound.get("stride", 1)), _pair(bound.get("dilation", 1)))
                self.uses.setdefault(id(weight), []).append(use)
        return func(*args, **kwargs)
