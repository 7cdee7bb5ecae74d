"""Accuracy-aware search: the smallest file whose metric stays within a budget of the uncompressed model's.

The caller gives a score (``weights -> number``, e.g. :meth:`compress.entry_points.Evaluation.score`)
and a budget ``max_drop`` in the score's own units (``0.01`` = one accuracy point when the score is a
fraction). The search walks one knob over a grid ordered from the safest setting to the most
aggressive one, assuming the drop grows along it, and bisects for the last setting within budget:

* :func:`search_post_training`: the bit budget (``bits``, 16 down to 2) or one quantization step for
  every tensor (``step``, a quarter-octave grid from the largest weight / 2^15 up to the largest / 2);
* :func:`search_prune`: the pruning sparsity (0.01 up to a maximum, in steps of 0.01).

Every setting tried is written as a real file, decoded (post-training) and scored, so the bytes and the
metric of the curve are those of the file that would be kept. The smallest file within budget among
those tried is written to the output, with the curve in its metadata (``metadata["search"]``, JSON).

Example::

    ev = resolve_evaluation("resnet20-cifar10")
    result = search_post_training(state_dict, "r20.dsz", ev.score, 0.01, on_point=print)
    result.best.setting   # e.g. 'bits=5'
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

import formats
from compress.atomic import atomic_output
from compress.errors import RecipeError
from compress.post_training import Calibration, PostTrainingConfig, compress_state_dict
from compress.prune import NM, PruneConfig, prune_state_dict, to_recipe

__all__ = ["SEARCH_SPACES", "SearchPoint", "SearchResult", "bisect_grid", "search_post_training", "search_prune"]

log = logging.getLogger(__name__)

SEARCH_SPACES = ("bits", "step")
Score = Callable[[Mapping[str, torch.Tensor]], float]


@dataclass(frozen=True)
class SearchPoint:
    """One setting tried.

    Attributes:
        setting: e.g. ``"bits=5"``, ``"step=0.0123"``, ``"sparsity=0.62"``.
        value: the knob's value.
        bytes: the size of the file this setting writes.
        ratio: reference bytes (the input checkpoint) / ``bytes``.
        metric: the score of the file's weights.
        drop: how much worse than the uncompressed model (positive = worse).
        within: ``drop <= max_drop``.
    """

    setting: str
    value: float
    bytes: int
    ratio: float
    metric: float
    drop: float
    within: bool

    def line(self, metric: str = "metric") -> str:
        """One line of the curve, the score called ``metric``.

        Example:
            >>> SearchPoint("bits=5", 5, 1200, 9.5, 0.9812, 0.0021, True).line("accuracy")
            'bits=5: 1,200 bytes, 9.50x, accuracy 0.9812, drop +0.0021 (within budget)'
        """
        verdict = "within budget" if self.within else "over budget"
        return (f"{self.setting}: {self.bytes:,} bytes, {self.ratio:.2f}x, {metric} {self.metric:.4f}, "
                f"drop {self.drop:+.4f} ({verdict})")


@dataclass(frozen=True)
class SearchResult:
    """The walked curve and the setting kept.

    Attributes:
        knob: ``"bits"``, ``"step"`` or ``"sparsity"``.
        metric: the score's name.
        baseline: the uncompressed model's score.
        max_drop: the budget.
        reference_bytes: what ratios are taken against.
        points: every setting tried, in the order tried.
        best: the smallest file within budget (None when no setting was).
        written_bytes: the size of the output file (the best point's bytes plus the curve in its metadata).
    """

    knob: str
    metric: str
    baseline: float
    max_drop: float
    reference_bytes: int
    points: tuple[SearchPoint, ...]
    best: SearchPoint | None
    written_bytes: int | None = None

    def curve(self) -> list[SearchPoint]:
        """The points from the safest setting to the most aggressive (largest bits/sparsity order kept).

        Example:
            >>> p = [SearchPoint(f"bits={b}", b, 10 * b, 1.0, 0.9, 0.0, True) for b in (9, 5, 7)]
            >>> [q.value for q in SearchResult("bits", "m", 0.9, 0.01, 1, tuple(p), None).curve()]
            [9, 7, 5]
        """
        return sorted(self.points, key=lambda p: p.value, reverse=self.knob == "bits")

    def to_json(self) -> str:
        """The curve as compact JSON (what the output file stores under ``metadata["search"]``).

        Example:
            >>> r = SearchResult("bits", "accuracy", 0.99, 0.01, 100, (), None)
            >>> json.loads(r.to_json())["max_drop"]
            0.01
        """
        return json.dumps({
            "knob": self.knob, "metric": self.metric, "baseline": self.baseline, "max_drop": self.max_drop,
            "reference_bytes": self.reference_bytes, "chosen": self.best.setting if self.best else None,
            "points": [[p.setting, p.value, p.bytes, p.metric] for p in self.curve()],
        }, separators=(",", ":"))


def bisect_grid(grid: Sequence[Any], trial: Callable[[Any], SearchPoint]) -> tuple[list[SearchPoint], int]:
    """Bisect for the last grid entry within budget, assuming entries within budget come first.

    Args:
        grid: settings from the safest to the most aggressive.
        trial: scores one setting.

    Returns:
        ``(points tried in order, index of the last entry within budget or -1)``; about
        ``log2(len(grid)) + 1`` trials.

    Example:
        >>> pts, last = bisect_grid(list(range(16)), lambda v: SearchPoint(str(v), v, 1, 1.0, 0.0, 0.0, v <= 11))
        >>> [p.value for p in pts], last
        ([7, 11, 13, 12], 11)
    """
    points: list[SearchPoint] = []
    lo, hi = -1, len(grid)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        point = trial(grid[mid])
        points.append(point)
        if point.within:
            lo = mid
        else:
            hi = mid
    return points, lo


def _check_budget(max_drop: float) -> None:
    if not (math.isfinite(max_drop) and max_drop >= 0):
        raise RecipeError(f"max_drop must be a finite number >= 0, got {max_drop}")


def _dense_bytes(state_dict: Mapping[str, torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in state_dict.values())


def _publish(best: Path, output: str | os.PathLike[str], replace_output: bool) -> None:
    with atomic_output(output, replace=replace_output) as temporary:
        shutil.copyfile(best, temporary)


def search_post_training(
    state_dict: Mapping[str, torch.Tensor],
    output: str | os.PathLike[str],
    score: Score,
    max_drop: float,
    *,
    space: str = "bits",
    config: PostTrainingConfig | None = None,
    attrs: Mapping[str, Mapping[str, object]] | None = None,
    metadata: Mapping[str, str] | None = None,
    metric: str = "metric",
    higher_is_better: bool = True,
    reference_bytes: int | None = None,
    baseline: float | None = None,
    on_point: Callable[[SearchPoint], None] | None = None,
    replace_output: bool = False,
    calibration: Calibration | None = None,
) -> SearchResult:
    """Post-training compression at the coarsest bits (or step) whose decoded file stays within budget.

    Args:
        state_dict: the uncompressed weights.
        output: the ``.dsz`` file to write (atomically; nothing is written when no setting is within budget).
        score: ``weights -> number`` on the decoded weights of each candidate file.
        max_drop: the largest acceptable ``baseline - score`` (``score - baseline`` when lower is better).
        space: ``"bits"`` (per-tensor bit budget, 16 down to 2) or ``"step"`` (one Δ for every tensor).
        config: a :class:`~compress.post_training.PostTrainingConfig` for the other settings (seed, codec,
            min_dims); its bits/step are the searched knob.
        attrs: per-tensor attributes (Winograd marks) of every candidate.
        metadata: stored in the file, with ``"search"`` added.
        metric: the score's name.
        higher_is_better: False for a loss.
        reference_bytes: the ratios' reference (default: the state_dict's dense bytes).
        baseline: the uncompressed model's score, when already measured (default: scored here).
        on_point: called with each point as it is measured (e.g. to print the curve).
        replace_output: replace an existing ``output``.
        calibration: BatchNorm statistics of every candidate corrected on these inputs
            (:class:`~compress.post_training.Calibration`).

    Returns:
        The :class:`SearchResult`; ``best`` is None (and nothing written) when even 16 bits (the finest
        step) drops more than ``max_drop``.

    Example:
        >>> out = os.path.join(tempfile.mkdtemp(), "w.dsz")
        >>> sd = {"w": torch.linspace(-1, 1, 64).reshape(8, 8)}
        >>> error = lambda w: float((w["w"] - sd["w"]).abs().max())  # a loss: lower is better
        >>> r = search_post_training(sd, out, error, 0.05, higher_is_better=False)
        >>> r.best.setting, [p.setting for p in r.points]
        ('bits=5', ['bits=9', 'bits=5', 'bits=3', 'bits=4'])
    """
    _check_budget(max_drop)
    if space not in SEARCH_SPACES:
        raise RecipeError(f"search space must be one of {', '.join(SEARCH_SPACES)}, got {space!r}")
    base = config if config is not None else PostTrainingConfig()
    baseline = float(score(state_dict)) if baseline is None else float(baseline)
    reference = reference_bytes or _dense_bytes(state_dict)
    if space == "bits":
        grid: list[float] = list(range(16, 1, -1))
    else:
        quantized = [t for t in state_dict.values()
                     if t.is_floating_point() and t.ndim >= base.min_dims and t.numel() > 0]
        if not quantized:
            raise RecipeError("no tensor to quantize: nothing to search")
        peak = max(float(t.detach().abs().max()) for t in quantized)
        if peak == 0:
            raise RecipeError("every weight is zero: nothing to search")
        grid = [float(f"{peak * 2 ** (-j / 4):.4g}") for j in range(60, 3, -1)]
    meta = dict(metadata or {})
    measure = _Measure(baseline, max_drop, higher_is_better, reference, score, on_point, metric)

    def candidate(value: float) -> PostTrainingConfig:
        return replace(base, bits=int(value), step=None) if space == "bits" else replace(base, step=value)

    with tempfile.TemporaryDirectory(prefix="dualsparse-search-") as folder:

        def trial(value: float) -> SearchPoint:
            path = Path(folder) / f"{len(measure.points)}.dsz"
            compress_state_dict(state_dict, path, candidate(value), metadata=meta, attrs=attrs, calibration=calibration)
            decoded = {k: torch.from_numpy(v) for k, v in formats.load(path).items()}
            return measure(f"bits={int(value)}" if space == "bits" else f"step={value:g}", value, path, decoded)

        points, _ = bisect_grid(grid, trial)
        result = SearchResult(space, metric, baseline, max_drop, reference, tuple(points), _smallest(points, grid))
        if result.best is None:
            return result
        stored = Path(folder) / "chosen.dsz"
        compress_state_dict(state_dict, stored, candidate(result.best.value),
                            metadata={**meta, "search": result.to_json()}, attrs=attrs, calibration=calibration)
        _publish(stored, output, replace_output)
        return replace(result, written_bytes=stored.stat().st_size)


def search_prune(
    state_dict: Mapping[str, torch.Tensor],
    output: str | os.PathLike[str],
    score: Score,
    max_drop: float,
    config: PruneConfig,
    *,
    max_sparsity: float = 0.99,
    resolution: float = 0.01,
    codec: str = "auto",
    metadata: Mapping[str, str] | None = None,
    metric: str = "metric",
    higher_is_better: bool = True,
    reference_bytes: int | None = None,
    baseline: float | None = None,
    on_point: Callable[[SearchPoint], None] | None = None,
    replace_output: bool = False,
) -> SearchResult:
    """One-shot pruning at the highest sparsity (on a ``resolution`` grid) whose model stays within budget.

    Args:
        state_dict: the dense weights.
        output: ``.dsz`` (sparse-packed, with the curve in its metadata), ``.safetensors`` or ``.pt``;
            written atomically, and not at all when no sparsity is within budget.
        score: ``weights -> number`` on each candidate's pruned weights.
        max_drop: the largest acceptable drop of the score.
        config: a :class:`~compress.prune.PruneConfig` (scope, granularity, selection; its sparsity is the
            knob). N:M granularity fixes the sparsity, so it cannot be searched.
        max_sparsity: the most aggressive sparsity tried.
        resolution: the grid's spacing.
        codec: ``.dsz`` payload codec.
        metadata: stored in a ``.dsz`` output, with ``"search"`` added.
        metric: the score's name.
        higher_is_better: False for a loss.
        reference_bytes: the ratios' reference (default: the state_dict's dense bytes).
        baseline: the uncompressed model's score, when already measured (default: scored here).
        on_point: called with each point as it is measured.
        replace_output: replace an existing ``output``.

    Returns:
        The :class:`SearchResult` (``best`` None when even ``resolution`` drops too much).

    Example:
        >>> out = os.path.join(tempfile.mkdtemp(), "w.dsz")
        >>> sd = {"w": torch.linspace(-1, 1, 100).reshape(10, 10)}
        >>> kept = lambda w: float(w["w"].abs().sum() / sd["w"].abs().sum())  # the share of |w| kept
        >>> r = search_prune(sd, out, kept, 0.1, PruneConfig(0.0))
        >>> r.best.setting
        'sparsity=0.31'
    """
    from compress.export import write_tensors
    from compress.prune.export import export_dsz

    _check_budget(max_drop)
    if isinstance(config.granularity, NM):
        raise RecipeError("N:M granularity fixes the sparsity; there is nothing to search")
    if not 0 < resolution <= max_sparsity <= 1:
        raise RecipeError(f"need 0 < resolution <= max_sparsity <= 1, got {resolution} and {max_sparsity}")
    baseline = float(score(state_dict)) if baseline is None else float(baseline)
    reference = reference_bytes or _dense_bytes(state_dict)
    grid = [round(k * resolution, 6) for k in range(1, int(round(max_sparsity / resolution, 6)) + 1)]
    suffix = Path(output).suffix
    meta = dict(metadata or {})

    def write(path: Path, pruned: Mapping[str, torch.Tensor], candidate: PruneConfig, extra: Mapping[str, str]) -> None:
        if suffix == ".dsz":
            export_dsz(path, pruned, codec=codec, recipe=to_recipe(candidate), metadata={**meta, **extra})
        else:
            write_tensors(path, pruned)

    measure = _Measure(baseline, max_drop, higher_is_better, reference, score, on_point, metric)
    with tempfile.TemporaryDirectory(prefix="dualsparse-search-") as folder:

        def trial(sparsity: float) -> SearchPoint:
            candidate = config.with_sparsity(sparsity)
            pruned, _ = prune_state_dict(state_dict, candidate)
            path = Path(folder) / f"{len(measure.points)}{suffix}"
            write(path, pruned, candidate, {})
            return measure(f"sparsity={sparsity:g}", sparsity, path, pruned)

        points, _ = bisect_grid(grid, trial)
        result = SearchResult("sparsity", metric, baseline, max_drop, reference, tuple(points), _smallest(points, grid))
        if result.best is None:
            return result
        final = config.with_sparsity(result.best.value)
        pruned, _ = prune_state_dict(state_dict, final)
        stored = Path(folder) / f"chosen{suffix}"
        write(stored, pruned, final, {"search": result.to_json()})
        _publish(stored, output, replace_output)
        return replace(result, written_bytes=stored.stat().st_size)


class _Measure:
    """Scores one candidate file's weights and makes its point (logged, passed to ``on_point``)."""

    def __init__(self, baseline: float, max_drop: float, higher_is_better: bool, reference: int, score: Score,
                 on_point: Callable[[SearchPoint], None] | None, metric: str) -> None:
        self.metric = metric
        self.baseline, self.max_drop, self.higher_is_better = baseline, max_drop, higher_is_better
        self.reference, self.score, self.on_point = reference, score, on_point
        self.points: list[SearchPoint] = []

    def __call__(self, setting: str, value: float, path: Path, weights: Mapping[str, torch.Tensor]) -> SearchPoint:
        metric = float(self.score(weights))
        drop = self.baseline - metric if self.higher_is_better else metric - self.baseline
        size = path.stat().st_size
        point = SearchPoint(setting, value, size, self.reference / size, metric, drop, drop <= self.max_drop)
        self.points.append(point)
        log.info("search: %s", point.line(self.metric))
        if self.on_point is not None:
            self.on_point(point)
        return point


def _smallest(points: Sequence[SearchPoint], grid: Sequence[float]) -> SearchPoint | None:
    """The smallest file within budget; of equal sizes, the most aggressive setting (later in ``grid``)."""
    within = [p for p in points if p.within]
    return min(within, key=lambda p: (p.bytes, -grid.index(p.value))) if within else None
