"""Frozen, versioned configs of the joint-sparse pipeline (stored in the artifact as its recipe).

Each serialises as ``{_type, _version, _data}`` like :class:`compress.post_training.PostTrainingConfig`;
:func:`config_from_recipe` reads them back through an allowlist. Version 2 added ``zeta_max`` (both) and
``tensor_bits`` (codebook); a version-1 recipe reads back with their defaults (no cap, no overrides).
Version 3 of :class:`FinetuneConfig` added ``batchnorm``, ``augment``, ``ramp_steps`` and ``decoupled_lr``,
and version 3 of :class:`CodebookConfig` ``batchnorm`` and ``prune``; older ones read back with ``"train"``,
``"none"`` and 0 (the behaviour before). Version 4 of :class:`FinetuneConfig` added ``lr_schedule``
(older ones read back with ``"constant"``). Version 4 of :class:`CodebookConfig` makes ``bits`` a budget per
tensor by default (``per_layer = True``), its meaning everywhere else; an older one without ``per_layer`` reads
back with ``False``, the meaning it was written with.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from compress.errors import RecipeError, check_choice
from compress.pipeline.augment import check_augmentation
from compress.pipeline.batchnorm import check_batchnorm_mode
from compress.pipeline.coefficients import recipe_domains
from compress.pipeline.thresholds import check_sparsity

__all__ = ["CodebookConfig", "FinetuneConfig", "config_from_recipe"]


def _positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise RecipeError(f"{name} must be a positive finite number, got {value!r}")


def _zeta_max(value: float | None, init: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < init:
        raise RecipeError(f"zeta_max must be None or a finite number >= zeta_init ({init!r}), got {value!r}")


def _seed(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise RecipeError(f"seed must be an integer in [0, 2**64), got {value!r}")


class _Recipe:
    version: int

    def to_recipe(self) -> dict[str, object]:
        """Serialise as ``{_type, _version, _data}`` for embedding in the artifact."""
        data = asdict(self)  # type: ignore[call-overload]
        data.pop("version")
        return {"_type": type(self).__name__, "_version": self.version, "_data": data}


LR_SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class FinetuneConfig(_Recipe):
    """Regularized fine-tuning (stages 1-3): eq. 5 with Adam.

    Attributes:
        recipe: ``"wd+sd"`` (both regularizers), ``"sd"`` or ``"wd"``.
        s_sd: target spatial sparsity (fraction) defining θ_SD.
        s_wd: target Winograd-domain sparsity (fraction) defining θ_WD.
        steps: optimizer steps (the loader is cycled).
        lr: Adam learning rate of the network weights.
        zeta_lr: Adam learning rate of the ζ coefficients.
        zeta_init: initial ζ (λ = e^ζ).
        zeta_max: cap on ζ in the cost (None: uncapped, the paper's eq. 5). Once ζ reaches it, λ stays
            ``e^zeta_max`` and the remaining steps re-train the surviving weights under a fixed penalty
            (:class:`compress.pipeline.coefficients.LearnableCoefficients`).
        alpha: weight of ``-α Σ ζ``.
        loss: ``"cross_entropy"`` (classification) or ``"mse"`` (regression).
        distill_weight: in ``[0, 1]``; with a teacher, E = (1 - w)·task loss + w·distillation loss
            (KL at ``temperature``, scaled by T², for classification; MSE to the teacher for regression).
        temperature: distillation temperature T.
        m_for_r: Winograd output tile m per kernel size r, as ``((r, m), ...)``.
        seed: torch seed set at the start (weights init of nothing, dropout, ...).
        log_every: record the history every this many steps (and at the last step).
        batchnorm: ``"train"``, ``"frozen"`` or ``"fold"`` (:mod:`compress.pipeline.batchnorm`); with
            ``"frozen"`` the BatchNorm layers keep their running statistics while fine-tuning.
        augment: ``"none"``, ``"crop-flip"`` or ``"crop-flip-cutmix"`` (:mod:`compress.pipeline.augment`),
            applied by the runner.
        decoupled_lr: 0 (the paper): the regularizers' weight gradients go through Adam with the task's.
            > 0: Adam sees the task gradient only, and each step then moves the weights by
            ``-decoupled_lr · ∇_w Σ e^ζ R`` (decoupled, as AdamW's weight decay; ζ is learnt as before).
        ramp_steps: the sparsity targets rise from 0 to ``s_sd`` / ``s_wd`` over these first steps on the
            cubic schedule of gradual pruning, ``s·(1 - (1 - t/ramp_steps)³)`` (0: full targets from step 1).
        lr_schedule: ``"constant"`` (``lr`` at every step) or ``"cosine"``: ``lr`` while the targets ramp,
            then a half cosine from ``lr`` down to 0 at the last step, so the surviving weights settle at the
            end of the recovery (:meth:`lr_at`). ζ's rate and ``decoupled_lr`` stay constant.

    Example:
        >>> FinetuneConfig(steps=10).to_recipe()["_type"]
        'FinetuneConfig'
    """

    recipe: str = "wd+sd"
    s_sd: float = 0.8
    s_wd: float = 0.8
    steps: int = 1000
    lr: float = 1e-4
    zeta_lr: float = 1e-2
    zeta_init: float = 0.0
    zeta_max: float | None = None
    alpha: float = 1.0
    loss: str = "cross_entropy"
    distill_weight: float = 0.0
    temperature: float = 2.0
    m_for_r: tuple[tuple[int, int], ...] = ((3, 4), (5, 4))
    seed: int = 0
    log_every: int = 50
    batchnorm: str = "train"
    augment: str = "none"
    ramp_steps: int = 0
    decoupled_lr: float = 0.0
    lr_schedule: str = "constant"
    version: int = field(default=4, init=False)

    def __post_init__(self) -> None:
        recipe_domains(self.recipe)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_batchnorm_mode(self.batchnorm)
        check_augmentation(self.augment)
        if isinstance(self.ramp_steps, bool) or not isinstance(self.ramp_steps, int) or self.ramp_steps < 0:
            raise RecipeError(f"ramp_steps must be a non-negative integer, got {self.ramp_steps!r}")
        if isinstance(self.decoupled_lr, bool) or not isinstance(self.decoupled_lr, int | float) or not (
                math.isfinite(self.decoupled_lr) and self.decoupled_lr >= 0):
            raise RecipeError(f"decoupled_lr must be a finite number >= 0, got {self.decoupled_lr!r}")
        check_sparsity(self.s_sd, "s_sd")
        check_sparsity(self.s_wd, "s_wd")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise RecipeError(f"steps must be a positive integer, got {self.steps!r}")
        for name in ("lr", "zeta_lr", "alpha", "temperature"):
            _positive(name, getattr(self, name))
        if not math.isfinite(self.zeta_init):
            raise RecipeError(f"zeta_init must be finite, got {self.zeta_init!r}")
        _zeta_max(self.zeta_max, self.zeta_init)
        if self.loss not in ("cross_entropy", "mse"):
            raise RecipeError(f"loss must be 'cross_entropy' or 'mse', got {self.loss!r}")
        if not 0.0 <= self.distill_weight <= 1.0:
            raise RecipeError(f"distill_weight must be in [0, 1], got {self.distill_weight!r}")
        _seed(self.seed)
        if self.log_every < 1:
            raise RecipeError(f"log_every must be >= 1, got {self.log_every!r}")
        object.__setattr__(self, "m_for_r", tuple((int(r), int(m)) for r, m in self.m_for_r))

    @property
    def domains(self) -> tuple[str, ...]:
        """Regularized domains of :attr:`recipe`."""
        return recipe_domains(self.recipe)

    def sparsity_at(self, step: int) -> tuple[float, float]:
        """``(s_SD, s_WD)`` in force at 1-based ``step`` (the ramp of :attr:`ramp_steps`).

        Example:
            >>> [round(s, 6) for s in FinetuneConfig(s_sd=0.8, s_wd=0.8, ramp_steps=10).sparsity_at(5)]
            [0.7, 0.7]
        """
        if self.ramp_steps == 0 or step >= self.ramp_steps:
            return self.s_sd, self.s_wd
        fraction = 1.0 - (1.0 - step / self.ramp_steps) ** 3
        return self.s_sd * fraction, self.s_wd * fraction

    def lr_at(self, step: int) -> float:
        """Learning rate of the network weights at 1-based ``step`` (:attr:`lr_schedule`).

        Example:
            >>> config = FinetuneConfig(lr=1.0, steps=10, ramp_steps=4, lr_schedule="cosine")
            >>> [round(config.lr_at(s), 3) for s in (1, 4, 7, 10)]
            [1.0, 1.0, 0.5, 0.0]
        """
        if self.lr_schedule == "constant" or step <= self.ramp_steps or self.steps <= self.ramp_steps:
            return self.lr
        progress = min(1.0, (step - self.ramp_steps) / (self.steps - self.ramp_steps))
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class CodebookConfig(_Recipe):
    """Dithered quantization (eq. 6) and codebook fine-tuning with ``E + e^ζ_WD R_WD - α ζ_WD``.

    Attributes:
        step: one quantization interval Δ for every quantized weight; or None to derive it from ``bits``.
        bits: bit budget for the derived Δ (:func:`formats.quantize.step_for_bits`).
        per_layer: True (the default since version 4): ``bits`` is a budget per tensor, each tensor's Δ from
            its own peak, as ``dualsparse compress --bits`` and a recipe's ``quantize.bits``; False: one Δ for
            all weights from the peak over all of them (a recipe's ``quantize.shared_bits``).
        tensor_bits: ``(pattern, bits)`` pairs; a tensor whose name matches a pattern (``fnmatch``, first
            match wins) gets its own Δ from its own peak and these bits, whatever ``step``/``bits`` say
            (e.g. ``(("conv*", 8), ("fc1.*", 4))``: fine steps for the small conv layers that a Winograd
            runtime transforms, a coarse one for the big fully connected layer that dominates the size).
        seed: dither seed of the file.
        steps: codebook fine-tuning steps (0 = quantize only).
        lr: Adam learning rate of the shared values (fed with each symbol's average gradient).
        zeta_lr: Adam learning rate of ζ_WD.
        zeta_max: cap on ζ_WD in the cost (None: uncapped).
        alpha: weight of ``-α ζ_WD``.
        s_wd: Winograd-domain sparsity defining θ_WD (ignored when ``wd_regularizer`` is False).
        wd_regularizer: include ``e^ζ_WD R_WD - α ζ_WD`` (the paper's setting).
        prune: before quantizing, set to zero this fraction of the quantized weights, the smallest in
            magnitude over all of them (one global threshold, as θ_SD): with ``prune = s_sd`` the file is at
            least as sparse as fine-tuning's target whatever Δ is (0: only what rounds to zero is pruned).
        batchnorm: ``"train"`` (BatchNorm statistics re-estimated on the quantized weights while tuning),
            or ``"frozen"`` / ``"fold"`` (kept as they are: a folded network's statistics must stay constant).

    Example:
        >>> CodebookConfig(step=0.01).to_recipe()["_data"]["step"]
        0.01
    """

    step: float | None = None
    bits: int | None = 5
    per_layer: bool = True
    tensor_bits: tuple[tuple[str, int], ...] = ()
    seed: int = 0
    steps: int = 300
    lr: float = 1e-4
    zeta_lr: float = 1e-2
    zeta_max: float | None = None
    alpha: float = 1.0
    s_wd: float = 0.8
    wd_regularizer: bool = True
    batchnorm: str = "train"
    prune: float = 0.0
    version: int = field(default=4, init=False)

    def __post_init__(self) -> None:
        check_batchnorm_mode(self.batchnorm)
        check_sparsity(self.prune, "prune")
        if self.step is None and self.bits is None:
            raise RecipeError("give a quantization step or a bit budget")
        if self.step is not None:
            _positive("step", self.step)
        elif not isinstance(self.bits, int) or not 2 <= self.bits <= 16:
            raise RecipeError(f"bits must be an integer in [2, 16], got {self.bits!r}")
        _seed(self.seed)
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise RecipeError(f"steps must be a non-negative integer, got {self.steps!r}")
        for name in ("lr", "zeta_lr", "alpha"):
            _positive(name, getattr(self, name))
        if self.zeta_max is not None:
            _zeta_max(self.zeta_max, -math.inf)
        check_sparsity(self.s_wd, "s_wd")
        pairs = []
        for pair in self.tensor_bits:
            if len(pair) != 2 or not isinstance(pair[0], str):
                raise RecipeError(f"tensor_bits entries must be (pattern, bits) pairs, got {pair!r}")
            pattern, bits = pair
            if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
                raise RecipeError(f"tensor_bits[{pattern!r}] must be an integer in [2, 16], got {bits!r}")
            pairs.append((pattern, bits))
        object.__setattr__(self, "tensor_bits", tuple(pairs))

    def bits_for(self, name: str) -> int | None:
        """The ``tensor_bits`` override of tensor ``name`` (first matching pattern), or None.

        Example:
            >>> CodebookConfig(tensor_bits=(("conv*", 8), ("*", 4))).bits_for("conv1.weight")
            8
        """
        return next((bits for pattern, bits in self.tensor_bits if fnmatch.fnmatchcase(name, pattern)), None)


_ALLOWED: dict[str, type] = {"FinetuneConfig": FinetuneConfig, "CodebookConfig": CodebookConfig}


def config_from_recipe(recipe: dict[str, Any]) -> FinetuneConfig | CodebookConfig:
    """Rebuild a config from its ``to_recipe()`` form (allowlisted types, version checked).

    Example:
        >>> config_from_recipe(FinetuneConfig(steps=3).to_recipe()) == FinetuneConfig(steps=3)
        True
    """
    kind, version, data = recipe.get("_type"), recipe.get("_version"), recipe.get("_data")
    cls = _ALLOWED.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise RecipeError(f"unknown config type {kind!r}; known: {', '.join(_ALLOWED)}")
    current = cls.__dataclass_fields__["version"].default
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= current:
        raise RecipeError(f"{kind} version {version!r} is not supported (this build reads versions 1 to {current})")
    if not isinstance(data, dict):
        raise RecipeError(f"{kind} recipe has no _data mapping")
    data = dict(data)
    if cls is CodebookConfig and version < 4:
        data.setdefault("per_layer", False)  # before version 4, bits meant one Δ for all weights unless asked
    for key in ("m_for_r", "tensor_bits"):
        if key in data and isinstance(data[key], list | tuple):
            data[key] = tuple(tuple(pair) if isinstance(pair, list | tuple) else pair for pair in data[key])
    try:
        return cls(**data)
    except TypeError as exc:
        raise RecipeError(f"{kind} recipe does not fit this build: {exc}") from None
