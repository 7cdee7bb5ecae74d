"""Prune during training: a schedule, a step counter, masks that hold across optimizer steps.

Usage::

    sparsifier = Sparsifier(model, PruneConfig(sparsity=0.9), OneCycle(end_sparsity=0.9), total_steps=n)
    for batch in batches:
        loss = ...; loss.backward()
        optimizer.step()
        sparsifier.step()          # re-masks the weights, and re-prunes when the schedule moves

Masks hold in two places: a gradient hook zeroes the gradient of every pruned weight, and
:meth:`Sparsifier.step` writes zeros back after the optimizer moved anything (momentum, weight decay).
Constructing a sparsifier changes nothing (so a resumed run can load its state first); the first
:meth:`Sparsifier.step` computes the masks. At each update the masks are recomputed from the
current (masked) weights with the recipe's scope, granularity and criterion, at the schedule's
sparsity for progress ``step / total_steps``.

:meth:`Sparsifier.state_dict` holds the masks, the step counter, the config and the schedule as plain
data (loadable with ``torch.load(weights_only=True)``); :meth:`load_state_dict` restores them exactly,
so a resumed run computes the same masks as an uninterrupted one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from compress.errors import RecipeError
from compress.prune.config import PruneConfig, from_recipe, to_recipe
from compress.prune.granularity import NM
from compress.prune.oneshot import plan
from compress.prune.report import PruneReport
from compress.prune.schedules import Schedule, schedule_from_dict, schedule_to_dict
from compress.prune.scope import norm_parameter_names

log = logging.getLogger(__name__)


class Sparsifier:
    """Masks a model's weights during training, following a sparsity schedule.

    Args:
        model: the module whose parameters are pruned.
        config: recipe; its ``sparsity`` is ignored, the schedule sets it.
        schedule: sparsity as a function of progress.
        total_steps: number of :meth:`step` calls that make progress 1.
        every: recompute masks every ``every`` steps (masks are re-applied at every step).

    Example:
        >>> from compress.prune.schedules import AGP
        >>> net = nn.Linear(16, 16)
        >>> sp = Sparsifier(net, PruneConfig(0.0), AGP(end_sparsity=0.5), total_steps=4)
        >>> for _ in range(4):
        ...     _ = sp.step()
        >>> sp.sparsity
        0.5
    """

    def __init__(self, model: nn.Module, config: PruneConfig, schedule: Schedule, total_steps: int,
                 every: int = 1) -> None:
        if total_steps < 1 or every < 1:
            raise RecipeError(f"total_steps and every must be >= 1, got {total_steps} and {every}")
        if isinstance(config.granularity, NM):
            raise RecipeError("N:M fixes its sparsity and cannot follow a schedule; prune it one-shot")
        self.model = model
        self.config = config
        self.schedule = schedule
        self.total_steps = int(total_steps)
        self.every = int(every)
        self.step_count = 0
        self.sparsity = 0.0
        self.report: PruneReport | None = None
        self._params = dict(model.named_parameters())
        self._norm_names = norm_parameter_names(model)
        self.masks: dict[str, torch.Tensor] = {}
        self._pruned: dict[str, torch.Tensor] = {}
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []

    @property
    def progress(self) -> float:
        """Training progress ``step_count / total_steps``, at most 1."""
        return min(self.step_count / self.total_steps, 1.0)

    def step(self) -> float:
        """Advance one training step: maybe re-prune, then re-apply the masks.

        Returns:
            The current mask sparsity target.
        """
        self.step_count += 1
        due = self.step_count % self.every == 0 or self.step_count >= self.total_steps
        target = self.schedule(self.progress)
        if (due and target != self.sparsity) or not self.masks:
            self._update(target)
        else:
            self.apply()
        return self.sparsity

    def apply(self) -> None:
        """Write zeros into every pruned weight."""
        with torch.no_grad():
            for name, pruned in self._pruned.items():
                self._params[name].masked_fill_(pruned, 0.0)

    def remove(self) -> None:
        """Detach the gradient hooks (the weights stay as they are)."""
        for hook in self._hooks:
            hook.remove()
        self._hooks = []

    def state_dict(self) -> dict[str, Any]:
        """Return the sparsifier's state as plain data and bool tensors."""
        return {
            "config": to_recipe(self.config),
            "schedule": schedule_to_dict(self.schedule),
            "total_steps": self.total_steps,
            "every": self.every,
            "step_count": self.step_count,
            "sparsity": self.sparsity,
            "masks": {name: mask.clone() for name, mask in self.masks.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`: config, schedule, counter and masks, then re-apply the masks.

        Raises:
            RecipeError: the masks do not match this model's parameters.
        """
        masks = dict(state["masks"])
        for name, mask in masks.items():
            if name not in self._params or tuple(mask.shape) != tuple(self._params[name].shape):
                raise RecipeError(f"saved mask {name!r} does not match a parameter of this model")
        self.config = from_recipe(state["config"])
        self.schedule = schedule_from_dict(state["schedule"])
        self.total_steps = int(state["total_steps"])
        self.every = int(state["every"])
        self.step_count = int(state["step_count"])
        self.sparsity = float(state["sparsity"])
        self._set_masks({name: mask.to(device=self._params[name].device, dtype=torch.bool)
                         for name, mask in masks.items()})

    def _update(self, target: float) -> None:
        self.sparsity = target
        masks, self.report = plan(self._params, self.config.with_sparsity(target), self._norm_names)
        log.debug("step %d: sparsity %.4f (achieved %.4f)", self.step_count, target, self.report.achieved)
        self._set_masks(masks)

    def _set_masks(self, masks: dict[str, torch.Tensor]) -> None:
        if set(masks) != set(self.masks):
            self.remove()
            for name in masks:
                self._hooks.append(self._params[name].register_hook(self._grad_hook(name)))
        self.masks = masks
        self._pruned = {name: ~mask for name, mask in masks.items()}  # inverted once, used twice per step
        self.apply()

    def _grad_hook(self, name: str):  # noqa: ANN202 - closure
        def hook(grad: torch.Tensor) -> torch.Tensor:
            return grad.masked_fill(self._pruned[name], 0.0)

        return hook
