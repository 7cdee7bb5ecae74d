"""Which weights each domain's regularizer covers.

* Spatial domain (R_SD): the weight of every ``nn.Conv1d/2d/3d`` and ``nn.Linear`` layer.
* Winograd domain (R_WD): the weight of every ``nn.Conv2d`` a Winograd runtime can run, i.e. stride 1,
  dilation 1, zero padding, square ``r x r`` kernel with ``r`` in ``m_for_r`` (the same rule as
  :func:`compress.deploy_attrs.winograd_attrs` and :func:`compress.winograd.swap_to_winograd`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from compress.winograd.conv import winograd_incompatibility
from compress.winograd.swap import DEFAULT_M_FOR_R

__all__ = ["SparsityTargets", "WinogradTarget", "collect_targets"]

_SPATIAL_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


@dataclass(frozen=True)
class WinogradTarget:
    """One conv weight regularized in the Winograd domain with F(m, r)."""

    name: str
    m: int
    r: int

    @property
    def n(self) -> int:
        """Winograd tile size ``m + r - 1``."""
        return self.m + self.r - 1


@dataclass(frozen=True)
class SparsityTargets:
    """Parameter names (``state_dict`` keys) covered by each regularizer, in module order.

    Example:
        >>> t = collect_targets(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(4, 2)))
        >>> t.spatial, [w.name for w in t.winograd]
        (('0.weight', '1.weight'), ['0.weight'])
    """

    spatial: tuple[str, ...]
    winograd: tuple[WinogradTarget, ...]


def collect_targets(model: nn.Module, m_for_r: Mapping[int, int] | None = None) -> SparsityTargets:
    """Find the weights each domain's regularizer covers.

    Args:
        model: the network.
        m_for_r: output tile ``m`` per kernel size ``r`` (default F(4, 3) and F(4, 5)).

    Returns:
        The :class:`SparsityTargets` of ``model``.

    Example:
        >>> collect_targets(nn.Conv2d(1, 1, 5)).winograd[0].n
        8
    """
    table = dict(DEFAULT_M_FOR_R if m_for_r is None else m_for_r)
    spatial: list[str] = []
    winograd: list[WinogradTarget] = []
    for module_name, module in model.named_modules():
        if not isinstance(module, _SPATIAL_TYPES) or getattr(module, "weight", None) is None:
            continue
        name = f"{module_name}.weight" if module_name else "weight"
        spatial.append(name)
        if isinstance(module, nn.Conv2d) and winograd_incompatibility(module) is None:
            r = int(module.kernel_size[0])
            if r in table:
                winograd.append(WinogradTarget(name, int(table[r]), r))
    return SparsityTargets(tuple(spatial), tuple(winograd))
