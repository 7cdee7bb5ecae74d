"""The expert ablation and the checks it is measured by: one expert switched off, pose error, which styles work.

* :func:`without_expert`: a copy of a MANN whose gating never picks expert ``i`` (its logit is -inf, so
  the softmax gives it ``ω_i = 0`` and shares its weight among the other experts in proportion);
* :func:`pose_error`: mean distance in cm between the predicted and the captured 27 points of held-out
  rows (one step, teacher forced: the network sees the captured input);
* :class:`StyleReference` and :func:`style_checks`: whether each segment of a scripted rollout does what
  its command asks. A locomotion segment (``move``) works when the root covers at least half the commanded
  speed over the segment's second half; a ``jump`` segment when the body (mean height of the 27 points)
  rises at least half way from the capture's idle height to its jump height; a still segment (``idle``,
  ``sit``, ``stand``, ``lie``) when, over its second half, the body height is nearer the capture's median
  for the commanded style than to that of any other still style.

Example:
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> model = MANN(MANNConfig(input_dim=6, output_dim=3, hidden=4, gating_input_dim=2, gating_hidden=3))
    >>> off = without_expert(model, 2)
    >>> float(off.eval().blending(torch.ones(1, 6))[0, 2].detach())
    0.0
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from compress.errors import CompressError
from compress.mann.controller import Rollout, Scenario
from compress.mann.fast import blended_forward
from compress.mocap import STYLES, FeatureLayout, MannDataset, Normalization
from compress.zoo.mann import MANN

__all__ = ["SegmentCheck", "StyleReference", "pose_error", "style_checks", "without_expert"]

_STILL = ("idle", "sit", "stand", "lie")
_POINT = 12


def without_expert(model: MANN, expert: int) -> MANN:
    """A copy of ``model`` in which expert ``expert`` is never used (``ω`` = 0, the others renormalised)."""
    if not 0 <= expert < model.config.experts:
        raise CompressError(f"expert must be in [0, {model.config.experts}), got {expert}")
    ablated = copy.deepcopy(model)
    with torch.no_grad():
        ablated.gating.layers[-1].bias[expert] = float("-inf")
    return ablated


def _point_positions(outputs: np.ndarray, layout: FeatureLayout) -> np.ndarray:
    """``(rows, points, 3)`` root-frame positions of the points in denormalised output rows."""
    points = len(layout.points)
    start = outputs.shape[1] - 3 - points * _POINT
    posture = outputs[:, start : start + points * _POINT].reshape(len(outputs), points, _POINT)
    return posture[:, :, 0:3]


def pose_error(model: MANN, x: torch.Tensor, y: torch.Tensor, normalization: Normalization,
               layout: FeatureLayout, batch: int = 4096) -> float:
    """Mean distance (cm) between predicted and captured point positions on normalised rows ``(x, y)``.

    Example:
        >>> from compress.zoo.mann import MANNConfig
        >>> from compress.mocap import fit_normalization
        >>> layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
        >>> model = MANN(MANNConfig(hidden=8))
        >>> norm = fit_normalization(np.zeros((2, 480)), np.zeros((2, 363)))
        >>> x = torch.zeros(3, 480)
        >>> pose_error(model, x, model.eval()(x).detach(), norm, layout)
        0.0
    """
    model.eval()
    total, rows = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            predicted, _ = blended_forward(model, x[start : start + batch])
            a = _point_positions(normalization.denormalize_outputs(predicted.numpy()).astype(np.float64), layout)
            b = _point_positions(normalization.denormalize_outputs(y[start : start + batch].numpy()).astype(np.float64),
                                 layout)
            total += float(np.linalg.norm(a - b, axis=2).mean(axis=1).sum())
            rows += len(a)
    return total / max(rows, 1)


@dataclass(frozen=True)
class StyleReference:
    """The capture's median body height (mean height of the 27 points, cm) per style label.

    Attributes:
        heights: style name -> median body height over the rows labelled with it.
    """

    heights: dict[str, float]

    @classmethod
    def from_dataset(cls, dataset: MannDataset, layout: FeatureLayout,
                     clips: list[str] | None = None) -> StyleReference:
        """Medians over the (non-mirrored) rows of ``clips`` (default: all clips)."""
        rows = ~dataset.mirrored if clips is None else dataset.rows_of(clips) & ~dataset.mirrored
        points = len(layout.points)
        posture = dataset.inputs[rows, -points * _POINT :].reshape(-1, points, _POINT)
        body = posture[:, :, 1].mean(axis=1)
        labels = dataset.labels[rows]
        heights = {name: float(np.median(body[labels == i])) for i, name in enumerate(STYLES) if (labels == i).any()}
        return cls(heights)


@dataclass(frozen=True)
class SegmentCheck:
    """Whether one scripted segment did what it asked.

    Attributes:
        style: the commanded style.
        first: the segment's first frame.
        frames: its length.
        speed: commanded speed (cm/frame).
        measured_speed: root speed over its second half (cm/frame).
        body_height: mean body height over its second half (peak, for ``jump``), cm.
        works: the rule of the module text holds.
    """

    style: str
    first: int
    frames: int
    speed: float
    measured_speed: float
    body_height: float
    works: bool


def style_checks(motion: Rollout, scenario: Scenario, reference: StyleReference) -> list[SegmentCheck]:
    """Check every segment of ``scenario`` that ``motion`` (its rollout) covers completely."""
    checks, first = [], 0
    body = motion.positions[:, :, 1].mean(axis=1)
    steps = np.linalg.norm(np.diff(motion.root[:, [0, 2]], axis=0), axis=1)
    for segment in scenario.segments:
        last = first + segment.frames
        if last > len(steps):
            break
        half = first + segment.frames // 2
        speed = float(steps[half:last].mean())
        if segment.style == "jump":
            height = float(body[first + 1 : last + 1].max())
            needed = (reference.heights["idle"] + reference.heights["jump"]) / 2
            works = height >= needed
        else:
            height = float(body[half + 1 : last + 1].mean())
            if segment.speed > 0:
                works = speed >= 0.5 * segment.speed
            else:
                still = {s: h for s, h in reference.heights.items() if s in _STILL}
                works = min(still, key=lambda s: abs(still[s] - height)) == segment.style
        checks.append(SegmentCheck(segment.style, first, segment.frames, segment.speed, speed, height, works))
        first = last
    return checks
