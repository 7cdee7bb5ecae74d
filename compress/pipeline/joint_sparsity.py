"""The joint-sparsity regularizer as an object a training loop adds to its loss (eq. 5's regularizer part).

``JointSparsity(model, config)`` owns the learnable coefficients ζ (hand :meth:`JointSparsity.parameters`
to your optimizer, best in their own group at ``config.zeta_lr``) and, each step, gives the term to add to
the loss: ``Σ_d e^ζ_d R_d - α Σ_d ζ_d`` over the config's domains, with the sparsity targets ramped by
``config.ramp_steps``. With ``config.decoupled_lr > 0`` the term carries only the ζ part and the weights
are shrunk by the regularizers' gradient apart from the optimizer, in :meth:`JointSparsity.after_step`
(call it after ``optimizer.step()``). :class:`compress.pipeline.finetune.FinetuneEngine` is this object
inside the pipeline's own loop.

Example:
    >>> from torch import nn
    >>> from compress.pipeline.config import FinetuneConfig
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 2))
    >>> reg = JointSparsity(net, FinetuneConfig(recipe="wd+sd", s_sd=0.5, s_wd=0.5, m_for_r=((3, 2),)))
    >>> opt = torch.optim.Adam([*net.parameters(), *reg.parameters()], lr=1e-3)
    >>> loss = net(torch.randn(4, 1, 4, 4)).square().mean()
    >>> cost = loss + reg(step=1)
    >>> cost.backward(); opt.step(); reg.after_step()
    >>> sorted(reg.last)
    ['sd', 'wd']
"""

from __future__ import annotations

import torch
from torch import nn

from compress.errors import RecipeError
from compress.pipeline.coefficients import LearnableCoefficients
from compress.pipeline.config import FinetuneConfig
from compress.pipeline.regularizers import PartialL2, spatial_regularizer, winograd_regularizer
from compress.pipeline.targets import SparsityTargets, collect_targets

__all__ = ["JointSparsity"]


class JointSparsity(nn.Module):
    """Eq. 5's regularizer part over ``model``'s conv/linear weights, with learnable ζ.

    Reads from ``config`` only: ``recipe`` (domains), ``s_sd``, ``s_wd``, ``ramp_steps``, ``alpha``,
    ``zeta_init``, ``zeta_max``, ``decoupled_lr`` and ``m_for_r``; the rest of a
    :class:`~compress.pipeline.config.FinetuneConfig` belongs to the loop.

    Args:
        model: the network being trained (its parameters are read, never copied).
        config: the settings above.

    Attributes:
        targets: the weights each domain covers (:class:`~compress.pipeline.targets.SparsityTargets`).
        coefficients: the ζ module (its parameters are this module's parameters).
        last: domain -> :class:`~compress.pipeline.regularizers.PartialL2` of the latest call (R, θ).

    Raises:
        RecipeError: the config regularizes the Winograd domain and the model has no eligible conv.
    """

    def __init__(self, model: nn.Module, config: FinetuneConfig) -> None:
        super().__init__()
        self._model = [model]  # a list, so the model is not registered as a submodule
        self.config = config
        self.targets: SparsityTargets = collect_targets(model, dict(config.m_for_r))
        if "wd" in config.domains and not self.targets.winograd:
            raise RecipeError("the Winograd domain is regularized but the model has no Winograd-eligible conv "
                              "(stride-1, dilation-1, ungrouped k x k Conv2d with k in m_for_r)")
        self.coefficients = LearnableCoefficients(config.domains, config.zeta_init, config.zeta_max)
        self.last: dict[str, PartialL2] = {}
        self._shrink: list[tuple[torch.Tensor, torch.Tensor]] = []

    def values(self, step: int) -> dict[str, PartialL2]:
        """R and θ of each domain at the current weights, with the targets of 1-based ``step``."""
        s_sd, s_wd = self.config.sparsity_at(step)
        params = dict(self._model[0].named_parameters())
        regs: dict[str, PartialL2] = {}
        if "sd" in self.config.domains:
            regs["sd"] = spatial_regularizer(params, self.targets, s_sd)
        if "wd" in self.config.domains:
            regs["wd"] = winograd_regularizer(params, self.targets, s_wd)
        return regs

    def forward(self, step: int) -> torch.Tensor:
        """The term to add to the loss at 1-based ``step``.

        Coupled (``decoupled_lr == 0``): ``Σ e^ζ R - α Σ ζ``, differentiable in the weights and in ζ.
        Decoupled: the same value with R detached (so the loss's backward trains ζ only through it), and
        the weights' regularizer gradient kept for :meth:`after_step`.
        """
        regs = self.values(step)
        self.last = regs
        self._shrink = []
        if self.config.decoupled_lr <= 0:
            return self.coefficients.cost({d: r.value for d, r in regs.items()}, self.config.alpha)
        params = dict(self._model[0].named_parameters())
        weights = [params[n] for n in self.targets.spatial]
        zeta = {d: self.coefficients.effective(d).detach() for d in regs}
        penalty = sum(zeta[d].exp() * r.value for d, r in regs.items())
        grads = torch.autograd.grad(penalty, weights, retain_graph=True, allow_unused=True)
        # a weight no regularized domain covers (e.g. a classifier under "wd") has no gradient
        self._shrink = [(w, g) for w, g in zip(weights, grads, strict=True) if g is not None]
        return self.coefficients.cost({d: r.value.detach() for d, r in regs.items()}, self.config.alpha)

    @torch.no_grad()
    def after_step(self) -> None:
        """Decoupled mode: shrink each regularized weight by ``decoupled_lr`` × its regularizer gradient.

        Adam divides each weight's gradient by its running RMS, which the task gradient's noise dominates,
        so the regularizer's pull on a small weight is almost lost inside it (ResNet-20: after 2,000 steps
        the 85 % smallest weights still held most of the accuracy); applied apart, as AdamW applies weight
        decay, every regularized weight shrinks by the full step. No-op in coupled mode.
        """
        for weight, grad in self._shrink:
            weight.sub_(grad, alpha=self.config.decoupled_lr)
        self._shrink = []

    def zeta(self) -> dict[str, float]:
        """Current effective ζ per domain (capped at ``zeta_max``).

        Example:
            >>> from compress.pipeline.config import FinetuneConfig
            >>> JointSparsity(nn.Linear(2, 2), FinetuneConfig(recipe="sd", zeta_init=1.5)).zeta()
            {'sd': 1.5}
        """
        return self.coefficients.values()
