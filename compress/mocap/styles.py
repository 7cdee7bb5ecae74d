"""Style labels (idle, move, jump, sit, stand, lie) derived from the motion, since the capture files carry none.

Per-frame signals (heights in cm above the local ground, speeds from the root of :mod:`compress.mocap.root`):

* **ground** ``g_t``: the lowest paw-tip height within ``ground_window`` frames either side of ``t`` (the
  floor, or a platform the dog stands on);
* **paw clearance**: paw-tip height minus ``g_t``; a paw is *off the ground* above ``contact`` cm;
* **hips / chest clearance**: height of the hips / chest joint minus ``g_t``;
* **speed**: the root's horizontal speed in cm/s and its turning rate in degrees/s, both smoothed by a
  Gaussian of ``speed_sigma`` frames.

Rules, first match wins (defaults of :class:`StyleThresholds`, tuned on the MANN dog capture):

1. **jump**: all four paws off the ground for at least ``jump_frames`` consecutive frames (the short
   flight phases of a gallop last fewer) with the hips clearance above ``jump_hips`` at some frame of the
   run (a dog rolling on its back also lifts all paws), widened by ``jump_margin`` frames either side for
   take-off and landing;
2. **stand**: both front paws more than ``raised_paw`` cm up while a hind paw is on the ground (up on the
   hind legs, rearing or sitting up);
3. **sit**: hips clearance below ``low_hips`` and chest at least ``sit_pitch`` cm above the hips;
4. **lie**: hips clearance below ``low_hips`` otherwise (chest as low as the hips: on the belly or side);
5. **move**: speed above ``move_speed`` cm/s or turning faster than ``turn_rate`` degrees/s;
6. **idle**: anything else.

Runs shorter than ``min_frames`` are then merged into the run before them (the first run into the next).

Example:
    >>> labels = np.array([0, 0, 1, 1, 1])
    >>> label_fractions(labels)["move"]
    0.6
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compress.mocap.errors import MocapError
from compress.mocap.filters import gaussian_smooth
from compress.mocap.kinematics import Pose
from compress.mocap.rig import Rig
from compress.mocap.root import RootTrajectory, wrap_angle

__all__ = [
    "STYLES",
    "StyleSignals",
    "StyleThresholds",
    "label_fractions",
    "merge_short_runs",
    "style_labels",
    "style_signals",
    "style_values",
]

#: Style names; a label is an index into this tuple.
STYLES = ("idle", "move", "jump", "sit", "stand", "lie")
IDLE, MOVE, JUMP, SIT, STAND, LIE = range(len(STYLES))


@dataclass(frozen=True)
class StyleThresholds:
    """Thresholds of the style rules (module docstring); lengths in cm, times in frames."""

    ground_window: int = 60
    contact: float = 5.0
    jump_frames: int = 10
    jump_margin: int = 15
    jump_hips: float = 50.0
    raised_paw: float = 20.0
    low_hips: float = 22.0
    sit_pitch: float = 15.0
    move_speed: float = 15.0
    turn_rate: float = 45.0
    speed_sigma: float = 10.0
    min_frames: int = 10

    def __post_init__(self) -> None:
        for name in ("ground_window", "jump_frames", "jump_margin", "min_frames"):
            if getattr(self, name) < 0:
                raise MocapError(f"style threshold {name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True, eq=False)
class StyleSignals:
    """Per-frame quantities the style rules read (module docstring).

    Attributes:
        ground: ``(frames,)`` local ground height.
        paws: ``(frames, 4)`` paw clearances, front left, front right, hind left, hind right.
        hips: ``(frames,)`` hips clearance.
        chest: ``(frames,)`` chest clearance.
        speed: ``(frames,)`` smoothed horizontal root speed, cm/s.
        turn: ``(frames,)`` smoothed absolute turning rate, degrees/s.
    """

    ground: np.ndarray
    paws: np.ndarray
    hips: np.ndarray
    chest: np.ndarray
    speed: np.ndarray
    turn: np.ndarray


def style_signals(pose: Pose, root: RootTrajectory, rig: Rig | None = None,
                  thresholds: StyleThresholds | None = None) -> StyleSignals:
    """The per-frame signals of ``pose`` that :func:`style_labels` thresholds.

    Example:
        >>> names = ("Hips", "L", "R", "C", "a", "b", "c", "d")
        >>> positions = np.zeros((3, 8, 3)); positions[:, 0, 1] = 40.0; positions[:, 1, 0] = 1.0
        >>> pose = Pose(names, (-1,) + (0,) * 7, positions, np.zeros((3, 8, 3, 3)), 1 / 60)
        >>> rig = Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d"))
        >>> from compress.mocap.root import root_trajectory
        >>> style_signals(pose, root_trajectory(pose, rig), rig).hips.tolist()
        [40.0, 40.0, 40.0]
    """
    t = thresholds or StyleThresholds()
    parts = (rig or Rig()).resolve(pose.names)
    heights = pose.positions[..., 1]
    paws = heights[:, list(parts.paws)]
    ground = _window_min(paws.min(axis=1), t.ground_window)
    speed = np.linalg.norm(root.velocities, axis=1) / pose.frame_time
    turn = np.zeros(pose.num_frames)
    if pose.num_frames > 1:
        step = np.abs(wrap_angle(np.diff(root.headings)))
        turn = np.degrees(np.concatenate([step[:1], step])) / pose.frame_time
    return StyleSignals(
        ground=ground,
        paws=paws - ground[:, None],
        hips=heights[:, parts.hips] - ground,
        chest=heights[:, parts.chest] - ground,
        speed=gaussian_smooth(speed, t.speed_sigma),
        turn=gaussian_smooth(turn, t.speed_sigma),
    )


def style_labels(pose: Pose, root: RootTrajectory, rig: Rig | None = None,
                 thresholds: StyleThresholds | None = None) -> np.ndarray:
    """One style label per frame (indices into :data:`STYLES`), by the rules of the module docstring.

    Args:
        pose: global joint positions, Y up, cm.
        root: the root trajectory of ``pose``.
        rig: the names of hips, chest and paws; the dog capture's by default.
        thresholds: the rule thresholds.

    Returns:
        ``(frames,)`` int8 labels.

    Example:
        >>> names = ("Hips", "L", "R", "C", "a", "b", "c", "d")
        >>> positions = np.zeros((30, 8, 3)); positions[:, 0, 1] = 8.0; positions[:, 3, 1] = 35.0
        >>> positions[:, 1, 0] = 1.0  # a dog sitting still: hips low, chest high
        >>> pose = Pose(names, (-1,) + (0,) * 7, positions, np.zeros((30, 8, 3, 3)), 1 / 60)
        >>> rig = Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d"))
        >>> from compress.mocap.root import root_trajectory
        >>> [STYLES[i] for i in set(style_labels(pose, root_trajectory(pose, rig), rig).tolist())]
        ['sit']
    """
    t = thresholds or StyleThresholds()
    s = style_signals(pose, root, rig, t)
    off = s.paws > t.contact
    airborne = _flights(off.all(axis=1), s.hips, t.jump_frames, t.jump_hips)
    jump = _dilate(airborne, t.jump_margin)
    stand = (s.paws[:, :2] > t.raised_paw).all(axis=1) & ~off[:, 2:].all(axis=1)
    low = s.hips < t.low_hips
    sit = low & (s.chest - s.hips >= t.sit_pitch)
    move = (s.speed > t.move_speed) | (s.turn > t.turn_rate)
    labels = np.select([jump, stand, sit, low, move], [JUMP, STAND, SIT, LIE, MOVE], IDLE).astype(np.int8)
    return merge_short_runs(labels, t.min_frames)


def merge_short_runs(labels: np.ndarray, min_frames: int) -> np.ndarray:
    """Relabel runs shorter than ``min_frames`` with the label of the run before (the first: the run after).

    Example:
        >>> merge_short_runs(np.array([0, 0, 0, 1, 0, 0, 2, 2, 2]), 2).tolist()
        [0, 0, 0, 0, 0, 0, 2, 2, 2]
    """
    labels = np.asarray(labels).copy()
    if labels.size == 0 or min_frames <= 1:
        return labels
    starts = np.flatnonzero(np.concatenate([[True], labels[1:] != labels[:-1]]))
    ends = np.append(starts[1:], labels.size)
    keep = (ends - starts) >= min_frames
    if not keep.any():
        return labels
    values = labels[starts].copy()
    last = -1
    for i in range(len(starts)):
        if keep[i]:
            last = i
        elif last >= 0:
            values[i] = values[last]
    first_kept = int(np.argmax(keep))
    values[:first_kept] = values[first_kept]
    return np.repeat(values, ends - starts).astype(labels.dtype)


def style_values(labels: np.ndarray, sigma: float = 5.0) -> np.ndarray:
    """The 6 style values per frame: the one-hot labels smoothed over time (each row sums to 1).

    Args:
        labels: ``(frames,)`` indices into :data:`STYLES`.
        sigma: Gaussian smoothing in frames (0: plain one-hot), so styles blend over transitions.

    Example:
        >>> style_values(np.array([1, 1]), 0.0).tolist()
        [[0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]
    """
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(STYLES)):
        raise MocapError(f"style labels must be in 0..{len(STYLES) - 1}, got {labels.min()}..{labels.max()}")
    return gaussian_smooth(np.eye(len(STYLES))[labels.astype(np.intp)], sigma)


def label_fractions(labels: np.ndarray) -> dict[str, float]:
    """Fraction of frames with each style, in :data:`STYLES` order (all 0 for no frames).

    Example:
        >>> label_fractions(np.array([0, 3, 3, 3]))["sit"]
        0.75
    """
    labels = np.asarray(labels)
    counts = np.bincount(labels.astype(np.intp), minlength=len(STYLES)) if labels.size else np.zeros(len(STYLES))
    total = max(int(labels.size), 1)
    return {name: float(count) / total for name, count in zip(STYLES, counts, strict=True)}


def _window_min(values: np.ndarray, radius: int) -> np.ndarray:
    """Minimum of ``values`` over ``t - radius .. t + radius`` (clipped to the array)."""
    if values.size == 0:
        return values.copy()
    padded = np.concatenate([np.full(radius, np.inf), values, np.full(radius, np.inf)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    return windows.min(axis=1)


def _flights(mask: np.ndarray, hips: np.ndarray, length: int, height: float) -> np.ndarray:
    """The True runs of ``mask`` at least ``length`` long during which ``hips`` exceeds ``height``."""
    out = np.zeros_like(mask)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        if end - start >= length and hips[start:end].max() > height:
            out[start:end] = True
    return out


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` widened by ``radius`` frames either side."""
    if radius == 0 or not mask.any():
        return mask.copy()
    padded = np.concatenate([np.zeros(radius, bool), mask, np.zeros(radius, bool)])
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1).any(axis=1)
