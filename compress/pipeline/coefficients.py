"""Learnable regularization coefficients (the paper's eq. 5).

The coefficients are ``λ = e^ζ`` with ``ζ`` a trainable scalar per regularized domain, and the cost
gains ``-α Σ ζ`` so that the coefficients are pushed up over training::

    C = E + e^ζ_WD · R_WD + e^ζ_SD · R_SD - α (ζ_WD + ζ_SD)

At a stationary point ``e^ζ · R = α``: as the regularized weights shrink, ``λ`` grows, without end
(R -> 0 drives ζ -> ∞), so the penalty keeps tightening until the last step and the surviving weights
never get a phase to re-train under a fixed penalty. An optional cap ``zeta_max`` replaces ζ by
``min(ζ, zeta_max)`` in the cost: once a coefficient reaches the cap its λ stays ``e^zeta_max`` (the
gradient of the capped ζ is 0), which on LeNet-5 turned the late accuracy collapse into a recovery phase.
A recipe may regularize one domain only (``"sd"`` or ``"wd"``); the other term and its ζ are absent.
"""

from __future__ import annotations

import torch
from torch import nn

from compress.errors import RecipeError

__all__ = ["RECIPES", "LearnableCoefficients", "recipe_domains"]

RECIPES: dict[str, tuple[str, ...]] = {"wd+sd": ("sd", "wd"), "sd": ("sd",), "wd": ("wd",)}
"""Recipe name -> regularized domains (``"sd"`` spatial, ``"wd"`` Winograd)."""


def recipe_domains(recipe: str) -> tuple[str, ...]:
    """Domains a recipe regularizes.

    Example:
        >>> recipe_domains("wd+sd")
        ('sd', 'wd')
    """
    try:
        return RECIPES[recipe]
    except KeyError:
        raise RecipeError(f"unknown recipe {recipe!r}; use one of {', '.join(RECIPES)}") from None


class LearnableCoefficients(nn.Module):
    """``ζ_SD`` and/or ``ζ_WD`` as :class:`torch.nn.Parameter` scalars, and their part of the cost.

    Args:
        domains: subset of ``("sd", "wd")``.
        init: initial ζ (λ = e^init); small values start with weak regularization.
        zeta_max: cap on the ζ used in the cost (None: no cap); must be >= ``init``.

    Example:
        >>> c = LearnableCoefficients(("sd", "wd"), init=0.0)
        >>> float(c.cost({"sd": torch.tensor(2.0), "wd": torch.tensor(3.0)}, alpha=1.0))
        5.0
    """

    def __init__(self, domains: tuple[str, ...], init: float = 0.0, zeta_max: float | None = None) -> None:
        super().__init__()
        unknown = sorted(set(domains) - {"sd", "wd"})
        if unknown or not domains:
            raise RecipeError(f"domains must be a non-empty subset of ('sd', 'wd'), got {domains!r}")
        if zeta_max is not None and not float(zeta_max) >= float(init):
            raise RecipeError(f"zeta_max must be >= the initial zeta {init!r}, got {zeta_max!r}")
        self.domains = tuple(d for d in ("sd", "wd") if d in domains)
        self.zeta_max = None if zeta_max is None else float(zeta_max)
        self.zeta = nn.ParameterDict({d: nn.Parameter(torch.tensor(float(init))) for d in self.domains})

    def effective(self, domain: str) -> torch.Tensor:
        """ζ of ``domain`` as used in the cost: ``min(ζ, zeta_max)`` (differentiable below the cap).

        Example:
            >>> c = LearnableCoefficients(("sd",), init=3.0, zeta_max=4.0)
            >>> _ = c.zeta["sd"].data.fill_(9.0)
            >>> float(c.effective("sd"))
            4.0
        """
        zeta = self.zeta[domain]
        return zeta if self.zeta_max is None else zeta.clamp(max=self.zeta_max)

    def cost(self, regularizers: dict[str, torch.Tensor], alpha: float) -> torch.Tensor:
        """``Σ_d e^ζ_d · R_d - α Σ_d ζ_d`` over this object's domains.

        Args:
            regularizers: domain -> regularizer value ``R_d`` (differentiable scalar).
            alpha: weight of the term that pushes ζ up (α > 0).

        Returns:
            Scalar tensor.
        """
        total = self.zeta[self.domains[0]].new_zeros(())
        for d in self.domains:
            if d not in regularizers:
                raise RecipeError(f"no regularizer value given for domain {d!r}")
            zeta = self.effective(d)
            total = total + zeta.exp() * regularizers[d] - alpha * zeta
        return total

    def values(self) -> dict[str, float]:
        """Current effective ``ζ`` (capped at ``zeta_max``) per domain as floats.

        Example:
            >>> LearnableCoefficients(("wd",), init=-1.0).values()
            {'wd': -1.0}
        """
        return {d: float(self.effective(d).detach()) for d in self.domains}
