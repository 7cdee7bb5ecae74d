"""Sparsity schedules: pure functions of training progress ``t`` in [0, 1].

Every schedule ramps from ``start_sparsity`` to ``end_sparsity`` between progress ``start`` and
``end``: before ``start`` it returns ``start_sparsity``, from ``end`` on ``end_sparsity``, and in between
``start_sparsity + (end_sparsity - start_sparsity) · f(p)`` with ``p = (t - start) / (end - start)``:

* :class:`OneShot`    ``f(p) = 1`` (the jump happens at ``start``);
* :class:`Iterative`  ``f(p) = ceil(p · steps) / steps`` (``steps`` equal jumps);
* :class:`AGP`        ``f(p) = 1 - (1 - p)^3`` (Zhu & Gupta 2017, automated gradual pruning);
* :class:`OneCycle`   ``f(p) = (1 + e^(β-α)) / (1 + e^(β-α·p))`` with α = 14, β = 6 (Hubens et al.
  2021, the logistic ramp of fasterai's ``sched_onecycle``); ``f(1) = 1``, ``f(½) ≈ 0.7313``.

Schedules are frozen dataclasses, so they are hashable, comparable and serialisable
(:func:`schedule_to_dict` / :func:`schedule_from_dict`).

Example:
    >>> AGP(end_sparsity=0.9)(0.5)
    0.7875
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from compress.errors import RecipeError
from compress.prune.masks import check_fraction


@dataclass(frozen=True)
class _Ramp:
    start_sparsity: float = 0.0
    end_sparsity: float = 0.9
    start: float = 0.0
    end: float = 1.0
    version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        for name in ("start_sparsity", "end_sparsity", "start", "end"):
            check_fraction(getattr(self, name), name)
        if self.end < self.start:
            raise RecipeError(f"schedule end progress {self.end} is before its start {self.start}")

    def shape(self, p: float) -> float:
        raise NotImplementedError

    def __call__(self, t: float) -> float:
        """Return the sparsity at training progress ``t`` (clamped to [0, 1])."""
        t = min(max(float(t), 0.0), 1.0)
        if t < self.start:
            return self.start_sparsity
        if t >= self.end:
            return self.end_sparsity
        p = (t - self.start) / (self.end - self.start)
        return self.start_sparsity + (self.end_sparsity - self.start_sparsity) * self.shape(p)


@dataclass(frozen=True)
class OneShot(_Ramp):
    """Jump to ``end_sparsity`` at progress ``start``.

    Example:
        >>> s = OneShot(end_sparsity=0.8, start=0.5)
        >>> s(0.49), s(0.5)
        (0.0, 0.8)
    """

    def shape(self, p: float) -> float:
        return 1.0


@dataclass(frozen=True)
class Iterative(_Ramp):
    """Reach ``end_sparsity`` in ``steps`` equal jumps.

    Example:
        >>> Iterative(end_sparsity=0.9, steps=3)(0.5)
        0.6
    """

    steps: int = 3

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.steps < 1:
            raise RecipeError(f"iterative schedule needs steps >= 1, got {self.steps}")

    def shape(self, p: float) -> float:
        return math.ceil(p * self.steps) / self.steps


@dataclass(frozen=True)
class AGP(_Ramp):
    """Automated gradual pruning: ``s_t = s_f + (s_i - s_f)(1 - p)^3``.

    Example:
        >>> AGP(end_sparsity=0.8)(0.0)
        0.0
    """

    def shape(self, p: float) -> float:
        return 1.0 - (1.0 - p) ** 3


@dataclass(frozen=True)
class OneCycle(_Ramp):
    """One-cycle pruning: a logistic ramp, steep in the middle of training.

    Attributes:
        alpha: steepness (14 in fasterai).
        beta: offset (6 in fasterai).

    Example:
        >>> round(OneCycle(end_sparsity=1.0)(0.5), 6)
        0.731304
    """

    alpha: float = 14.0
    beta: float = 6.0

    def shape(self, p: float) -> float:
        return (1.0 + math.exp(self.beta - self.alpha)) / (1.0 + math.exp(self.beta - self.alpha * p))


Schedule = OneShot | Iterative | AGP | OneCycle
"""Every schedule the sparsifier accepts."""

SCHEDULES: dict[str, type] = {cls.__name__: cls for cls in (OneShot, Iterative, AGP, OneCycle)}


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """Serialise a schedule as ``{_type, _version, _data}``.

    Example:
        >>> schedule_to_dict(AGP())["_type"]
        'AGP'
    """
    data = {f.name: getattr(schedule, f.name) for f in dataclasses.fields(schedule)}
    return {"_type": type(schedule).__name__, "_version": type(schedule).version, "_data": data}


def schedule_from_dict(blob: Mapping[str, Any]) -> Schedule:
    """Rebuild a schedule from :func:`schedule_to_dict` output (allowlisted types only).

    Example:
        >>> schedule_from_dict(schedule_to_dict(OneCycle(end_sparsity=0.5))) == OneCycle(end_sparsity=0.5)
        True
    """
    cls = SCHEDULES.get(blob.get("_type")) if isinstance(blob, Mapping) else None
    if cls is None:
        raise RecipeError(f"unknown schedule {blob!r}; known: {sorted(SCHEDULES)}")
    if blob.get("_version") != cls.version:
        raise RecipeError(f"schedule {blob['_type']} version {blob.get('_version')} is not supported")
    try:
        return cls(**dict(blob.get("_data", {})))
    except TypeError as exc:
        raise RecipeError(f"bad fields for schedule {blob['_type']}: {exc}") from None
