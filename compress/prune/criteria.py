"""How important a group of weights is: L1 magnitude or L2 norm, larger scores are kept.

Scores are computed in float64 on the ``(groups, group_size)`` matrix that a granularity produces.
With ``normalized=True`` (the default) a group's score is divided by its size (L1) or by the square
root of its size (L2), so groups of different sizes compare fairly under a global threshold; for
single weights both criteria reduce to ``|w|``.

Example:
    >>> import torch
    >>> L1().scores(torch.tensor([[1.0, -3.0], [0.5, 0.5]])).tolist()
    [2.0, 0.5]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch


@dataclass(frozen=True)
class L1:
    """Mean (or sum, ``normalized=False``) absolute value of the group.

    Example:
        >>> L1(normalized=False).scores(torch.tensor([[1.0, -3.0]])).tolist()
        [4.0]
    """

    normalized: bool = True
    version: ClassVar[int] = 1

    def scores(self, groups: torch.Tensor) -> torch.Tensor:
        """Return one float64 score per row of ``groups``."""
        total = groups.detach().to(torch.float64).abs().sum(dim=1)
        return total / groups.shape[1] if self.normalized else total


@dataclass(frozen=True)
class L2:
    """Euclidean norm of the group (RMS when ``normalized``).

    Example:
        >>> L2(normalized=False).scores(torch.tensor([[3.0, 4.0]])).tolist()
        [5.0]
    """

    normalized: bool = True
    version: ClassVar[int] = 1

    def scores(self, groups: torch.Tensor) -> torch.Tensor:
        """Return one float64 score per row of ``groups``."""
        norm = groups.detach().to(torch.float64).square().sum(dim=1).sqrt()
        return norm / groups.shape[1] ** 0.5 if self.normalized else norm


Criterion = L1 | L2
"""Every criterion the pruner accepts."""

CRITERIA: dict[str, type] = {"L1": L1, "L2": L2}
"""Allowlist used when a recipe is read back."""
