"""The MANN pruning study's figures (matplotlib, an optional extra): skating vs sparsity, same-size models, ω.

Each function takes the plain records of ``examples/mann_study.py`` (its ``results.json``) and writes one PNG:

* :func:`plot_skating_vs_sparsity` (the paper's Fig. 1): foot skating of the walk and turn rollouts against
  the pruned fraction, the held-out capture as a line, validation MSE on a panel beside it;
* :func:`plot_same_size` (Fig. 3): one-step pose error and walk skating of the narrower dense models and of
  the 512-wide model pruned to the same parameter count;
* :func:`plot_omegas` (Fig. 4): the gating coefficients over time, one row per motion, dense left and
  pruned right.

Example:
    >>> plot_skating_vs_sparsity(records, 0.031, "fig1.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from compress.errors import CompressError
from compress.mann.render import PLOTS_MISSING

__all__ = ["plot_omegas", "plot_same_size", "plot_skating_vs_sparsity"]

_FPS = 60


def _pyplot() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise CompressError(PLOTS_MISSING) from None
    return Figure, FigureCanvasAgg


def _save(figure: Any, canvas_type: Any, path: str | Path) -> None:
    figure.tight_layout()
    canvas_type(figure).print_png(str(path))


def plot_skating_vs_sparsity(records: Sequence[Mapping[str, Any]], capture: float, path: str | Path,
                             scenarios: Sequence[str] = ("walk", "turn")) -> None:
    """Fig. 1: mean foot skating (cm/frame) per scenario against sparsity, and validation MSE, of the 512-wide
    models (every seed as a point, the first seed's curve as a line)."""
    full = sorted((r for r in records if r["hidden"] == 512 and abs(100 * r["sparsity"] - round(100 * r["sparsity"]))
                   < 1e-6), key=lambda r: (r["seed"], r["sparsity"]))
    if not full:
        raise CompressError("no 512-wide models at whole-percent sparsities to plot")
    Figure, Canvas = _pyplot()
    figure = Figure(figsize=(10, 4))
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    first = full[0]["seed"]
    for scenario in scenarios:
        line = [r for r in full if r["seed"] == first]
        drawn = left.plot([100 * r["sparsity"] for r in line], [r["skating"][scenario]["mean"] for r in line],
                          marker="o", label=scenario)
        others = [r for r in full if r["seed"] != first]
        left.scatter([100 * r["sparsity"] for r in others], [r["skating"][scenario]["mean"] for r in others],
                     color=drawn[0].get_color(), marker="x")
    left.axhline(capture, color="grey", linestyle="--", label="held-out capture")
    left.set_xlabel("sparsity (% of all parameters)")
    left.set_ylabel("foot skating (cm/frame)")
    left.set_title("Foot skating, all paws (x: other seeds)")
    left.legend()
    line = [r for r in full if r["seed"] == first]
    right.plot([100 * r["sparsity"] for r in line], [r["val_mse"] for r in line], marker="o", color="black")
    others = [r for r in full if r["seed"] != first]
    right.scatter([100 * r["sparsity"] for r in others], [r["val_mse"] for r in others], color="black", marker="x")
    right.set_xlabel("sparsity (% of all parameters)")
    right.set_ylabel("validation MSE (normalised outputs)")
    right.set_title("Validation MSE")
    _save(figure, Canvas, path)


def plot_same_size(pairs: Sequence[tuple[int, Mapping[str, Any], Mapping[str, Any]]], path: str | Path,
                   scenario: str = "walk") -> None:
    """Fig. 3: ``pairs`` of (width, dense record, matched pruned record): the one-step pose error (cm) and the
    foot skating of ``scenario`` of both, side by side."""
    if not pairs:
        raise CompressError("no dense/pruned pairs to plot")
    Figure, Canvas = _pyplot()
    figure = Figure(figsize=(10, 4))
    xs = range(len(pairs))
    width = 0.38
    panels = (("pose error, next frame (cm)", lambda r: r["pose_error_cm"]),
              (f"foot skating, {scenario} (cm/frame)", lambda r: r["skating"][scenario]["mean"]))
    for column, (label, value) in enumerate(panels):
        axes = figure.add_subplot(1, 2, column + 1)
        axes.bar([x - width / 2 for x in xs], [value(p[1]) for p in pairs], width, label="dense, narrower")
        axes.bar([x + width / 2 for x in xs], [value(p[2]) for p in pairs], width,
                 label="512 wide, pruned to the same count")
        axes.set_xticks(list(xs), [f"h={p[0]}\n{p[1]['nonzero']:,} params" for p in pairs])
        axes.set_ylabel(label)
        axes.set_title("Same number of non-zero parameters")
        if column == 0:
            axes.legend()
    _save(figure, Canvas, path)


def plot_omegas(dense: Mapping[str, Sequence[Sequence[float]]], pruned: Mapping[str, Sequence[Sequence[float]]],
                path: str | Path, labels: tuple[str, str] = ("dense", "90 % pruned"), every: int = 2) -> None:
    """Fig. 4: ω per expert over time (stacked), one row per motion of ``dense`` (name -> frames x experts)."""
    motions = [m for m in dense if m in pruned]
    if not motions:
        raise CompressError("no motion with gating traces of both models")
    Figure, Canvas = _pyplot()
    figure = Figure(figsize=(11, 2.1 * len(motions)))
    for row, motion in enumerate(motions):
        for column, (trace, label) in enumerate(((dense[motion], labels[0]), (pruned[motion], labels[1]))):
            axes = figure.add_subplot(len(motions), 2, 2 * row + column + 1)
            experts = len(trace[0])
            seconds = [every * i / _FPS for i in range(len(trace))]
            axes.stackplot(seconds, *[[f[e] for f in trace] for e in range(experts)],
                           labels=[f"ω{e}" for e in range(experts)])
            axes.set_ylim(0, 1)
            axes.set_xlim(0, seconds[-1])
            axes.set_title(f"{motion}: {label}", fontsize=9)
            if row == len(motions) - 1:
                axes.set_xlabel("seconds")
            if row == 0 and column == 1:
                axes.legend(loc="upper right", fontsize=6, ncol=4)
    _save(figure, Canvas, path)
