"""Style labels: each rule on a synthetic dog, run merging, style values, fractions, and pins on real clips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mocap_samples import synthetic_dog

from compress.mocap.errors import MocapError
from compress.mocap.kinematics import Pose, forward_kinematics
from compress.mocap.root import root_trajectory
from compress.mocap.styles import (
    STYLES,
    StyleThresholds,
    label_fractions,
    merge_short_runs,
    style_labels,
    style_signals,
    style_values,
)

FRAMES = 240


def _standing(frames: int = FRAMES, speed: float = 0.0) -> Pose:
    xz = np.stack([np.arange(frames) * speed, np.zeros(frames)], axis=1)
    return forward_kinematics(synthetic_dog(xz, np.zeros(frames)))


def _lift(pose: Pose, names: tuple[str, ...], frames: slice, height: float) -> Pose:
    """``pose`` with the named points raised (or lowered) by ``height`` cm during ``frames``."""
    positions = pose.positions.copy()
    for name in names:
        positions[frames, pose.index(name), 1] += height
    return Pose(pose.names, pose.parents, positions, pose.rotations, pose.frame_time)


def _labels(pose: Pose) -> list[str]:
    return [STYLES[i] for i in style_labels(pose, root_trajectory(pose))]


PAWS = ("LeftHandSite", "RightHandSite", "LeftFootSite", "RightFootSite")


def test_idle_and_move():
    assert set(_labels(_standing())) == {"idle"}
    assert set(_labels(_standing(speed=1.0))) == {"move"}  # 60 cm/s
    assert set(_labels(_standing(speed=0.2))) == {"idle"}  # 12 cm/s
    frames = np.arange(FRAMES)
    turning = forward_kinematics(synthetic_dog(np.zeros((FRAMES, 2)), 1.0 * frames))  # 60 degrees/s on the spot
    assert set(_labels(turning)) == {"move"}


def test_signals():
    pose = _standing(speed=1.0)
    signals = style_signals(pose, root_trajectory(pose))
    np.testing.assert_allclose(signals.speed, 60.0, rtol=1e-4)
    np.testing.assert_allclose(signals.hips, 35.0)
    np.testing.assert_allclose(signals.chest, 40.0)
    np.testing.assert_allclose(signals.paws, 0.0, atol=1e-12)
    raised = style_signals(_lift(pose, PAWS + ("Hips",), slice(None), 70.0), root_trajectory(pose))
    np.testing.assert_allclose(raised.ground, 70.0)  # a platform: heights count from the lowest paw
    np.testing.assert_allclose(raised.hips, 35.0)


def test_sit_lie_stand():
    pose = _standing()
    sit = _lift(pose, ("Hips",), slice(None), -27.0)  # hips at 8 cm, chest still at 40
    assert set(_labels(sit)) == {"sit"}
    lie = _lift(sit, ("Neck",), slice(None), -30.0)  # chest down to 10 cm as well
    assert set(_labels(lie)) == {"lie"}
    stand = _lift(pose, ("LeftHandSite", "RightHandSite", "Neck"), slice(100, 160), 30.0)
    labels = _labels(stand)
    assert set(labels[100:160]) == {"stand"} and set(labels[:100] + labels[160:]) == {"idle"}


def test_jump_needs_a_long_high_flight():
    pose = _standing(speed=2.0)
    jump = _lift(pose, PAWS + ("Hips",), slice(100, 125), 20.0)  # 25 frames, hips at 55 cm
    labels = _labels(jump)
    assert set(labels[85:140]) == {"jump"}  # widened by 15 frames either side
    assert set(labels[:85] + labels[140:]) == {"move"}
    gallop = _lift(pose, PAWS + ("Hips",), slice(100, 105), 20.0)  # a 5-frame flight phase
    assert set(_labels(gallop)) == {"move"}
    rolling = _lift(pose, PAWS, slice(100, 125), 20.0)  # all paws up but the hips stay at 35 cm
    assert "jump" not in _labels(rolling)


def test_short_runs_are_merged():
    labels = np.array([0] * 20 + [1] * 3 + [0] * 20 + [3] * 30)
    np.testing.assert_array_equal(merge_short_runs(labels, 10), [0] * 43 + [3] * 30)
    np.testing.assert_array_equal(merge_short_runs(np.array([2, 2, 1, 1, 1]), 3), [1] * 5)  # first run: the next
    np.testing.assert_array_equal(merge_short_runs(np.array([2, 1]), 3), [2, 1])  # nothing long enough: unchanged
    assert merge_short_runs(np.zeros(0, int), 5).size == 0


@given(arrays(np.int8, st.integers(1, 300), elements=st.integers(0, 5)), st.integers(2, 20))
def test_merged_runs_are_long_enough(labels, min_frames):
    merged = merge_short_runs(labels, min_frames)
    starts = np.flatnonzero(np.concatenate([[True], merged[1:] != merged[:-1]]))
    lengths = np.diff(np.append(starts, merged.size))
    runs = np.diff(np.append(np.flatnonzero(np.concatenate([[True], labels[1:] != labels[:-1]])), labels.size))
    if (runs >= min_frames).any():
        assert (lengths >= min_frames).all()
    assert set(merged.tolist()) <= set(labels.tolist())


def test_style_values_and_fractions():
    labels = np.array([0] * 30 + [2] * 30)
    values = style_values(labels, 5.0)
    np.testing.assert_allclose(values.sum(axis=1), 1.0)
    assert values[0, 0] == 1.0 and values[-1, 2] == 1.0 and 0 < values[30, 2] < 1
    np.testing.assert_array_equal(style_values(labels, 0.0), np.eye(6)[labels])
    with pytest.raises(MocapError, match="style labels must be in 0..5"):
        style_values(np.array([6]))
    fractions = label_fractions(labels)
    assert list(fractions) == list(STYLES) and fractions["idle"] == 0.5 and fractions["jump"] == 0.5
    assert sum(label_fractions(np.zeros(0, int)).values()) == 0.0
    with pytest.raises(MocapError, match="min_frames must be >= 0"):
        StyleThresholds(min_frames=-1)


@pytest.mark.data
@pytest.mark.parametrize(("clip", "style", "low", "high"), [
    ("D1_010_KAN01_002", "move", 0.95, 1.0),  # fast gallop with short flight phases: no jump
    ("D1_010_KAN01_002", "jump", 0.0, 0.0),
    ("D1_003_KAN01_001", "sit", 0.95, 1.0),
    ("D1_005_KAN01_001", "lie", 0.6, 0.95),
    ("D1_ex04_KAN02_003", "jump", 0.2, 0.5),
    ("D1_059_KAN01_001", "stand", 0.1, 0.4),
    ("D1_001_KAN01_001", "idle", 0.8, 1.0),
])
def test_real_clip_label_pins(dog_clips, clip, style, low, high):
    """Pins of the heuristics on clips checked by eye (heights, speeds), so a change of thresholds shows."""
    bvh = next(b for b in dog_clips if b.source.endswith(clip + ".bvh"))
    pose = forward_kinematics(bvh)
    fractions = label_fractions(style_labels(pose, root_trajectory(pose)))
    assert low <= fractions[style] <= high, fractions
