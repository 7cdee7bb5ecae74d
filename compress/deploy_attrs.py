"""Per-tensor deployment attributes stored in the artifact (which filters a Winograd runtime transforms)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from compress.winograd.conv import winograd_incompatibility
from compress.winograd.swap import DEFAULT_M_FOR_R


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
