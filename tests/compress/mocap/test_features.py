"""MANN features on synthetic motion with known answers: sizes, straight line, turn, mirroring, invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mocap_samples import synthetic_dog

from compress.mocap.errors import MocapError
from compress.mocap.features import TRAJECTORY_OFFSETS, FeatureLayout, mann_features
from compress.mocap.kinematics import Pose, axis_rotation, forward_kinematics
from compress.mocap.mirror import mirror_pairs, mirror_pose
from compress.mocap.rig import Rig
from compress.mocap.root import root_trajectory
from compress.mocap.styles import STYLES, style_values

FRAMES = 200


def _features(pose: Pose, labels: np.ndarray | None = None):
    labels = np.ones(pose.num_frames, int) if labels is None else labels
    return mann_features(pose, root_trajectory(pose), style_values(labels))


def _column(layout: FeatureLayout, name: str, output: bool = False) -> int:
    return (layout.output_names() if output else layout.input_names()).index(name)


def _wiggling_dog(frames: int = FRAMES, seed: int = 0) -> Pose:
    """A dog walking a curve while every joint swings on its own sinusoid."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None]
    angles = 20 * np.sin(2 * np.pi * t / rng.uniform(20, 60, 60) + rng.uniform(0, 6, 60))
    yaw = 0.8 * np.arange(frames) + 10 * np.sin(np.arange(frames) / 15)
    xz = np.cumsum(np.stack([np.cos(np.radians(yaw)), -np.sin(np.radians(yaw))], axis=1) * 1.5, axis=0)
    height = 35 + 2 * np.sin(np.arange(frames) / 7)
    return forward_kinematics(synthetic_dog(xz, yaw, height, angles))


def test_sizes_are_480_363_19():
    pose = forward_kinematics(synthetic_dog(np.zeros((FRAMES, 2)), np.zeros(FRAMES)))
    layout = FeatureLayout(pose.names)
    assert (layout.input_dim, layout.output_dim, layout.gating_dim) == (480, 363, 19)
    assert len(layout.input_names()) == 480 and len(set(layout.input_names())) == 480
    assert len(layout.output_names()) == 363 and len(set(layout.output_names())) == 363
    assert TRAJECTORY_OFFSETS == (-60, -50, -40, -30, -20, -10, 0, 10, 20, 30, 40, 50) and layout.current == 6
    assert layout.future == (0, 10, 20, 30, 40, 50) and (layout.frames_before, layout.frames_after) == (60, 51)
    features = _features(pose)
    assert features.inputs.shape == (FRAMES - 111, 480) and features.outputs.shape == (FRAMES - 111, 363)
    assert features.gating.shape == (FRAMES - 111, 19)
    assert features.inputs.dtype == np.float32 and features.frames.tolist() == list(range(60, FRAMES - 51))


def test_gating_is_paw_velocities_speed_and_styles():
    pose = _wiggling_dog()
    layout = FeatureLayout(pose.names)
    columns = layout.gating_indices(Rig().paws)
    names = [layout.input_names()[c] for c in columns]
    assert names == [f"{paw}.vel_{a}" for paw in Rig().paws for a in "xyz"] + ["traj+0.speed"] + [
        f"traj+0.style_{s}" for s in STYLES]
    features = _features(pose)
    np.testing.assert_array_equal(features.gating, features.inputs[:, list(columns)])
    with pytest.raises(MocapError, match="not among the feature points"):
        layout.gating_indices(("a", "b", "c", "d"))


def test_straight_line_at_constant_speed():
    speed = 2.5  # cm per frame, along the facing (+x at yaw 0)
    xz = np.stack([np.arange(FRAMES) * speed, np.zeros(FRAMES)], axis=1)
    pose = forward_kinematics(synthetic_dog(xz, np.zeros(FRAMES)))
    layout = FeatureLayout(pose.names)
    features = _features(pose)
    x, y = features.inputs, features.outputs
    for k in TRAJECTORY_OFFSETS:
        np.testing.assert_allclose(x[:, _column(layout, f"traj{k:+d}.speed")], speed, rtol=1e-6)
        np.testing.assert_allclose(x[:, _column(layout, f"traj{k:+d}.pos_z")], speed * k, atol=1e-4)
        for name, value in (("pos_x", 0), ("dir_x", 0), ("dir_z", 1), ("vel_x", 0), ("vel_z", speed),
                            ("style_move", 1), ("style_idle", 0)):
            np.testing.assert_allclose(x[:, _column(layout, f"traj{k:+d}.{name}")], value, atol=1e-5)
    for k in layout.future:
        np.testing.assert_allclose(y[:, _column(layout, f"next{k:+d}.pos_z", True)], speed * k, atol=1e-4)
        np.testing.assert_allclose(y[:, _column(layout, f"next{k:+d}.vel_z", True)], speed, atol=1e-5)
    for point in pose.names:  # every point translates rigidly: velocity (0, 0, speed) in the root frame
        for axis, value in zip("xyz", (0, 0, speed), strict=True):
            np.testing.assert_allclose(x[:, _column(layout, f"{point}.vel_{axis}")], value, atol=1e-5)
    np.testing.assert_allclose(x[:, _column(layout, "HeadSite.pos_z")], 44.0, atol=1e-4)  # 44 cm ahead
    np.testing.assert_allclose(x[:, _column(layout, "LeftHandSite.pos_x")], 5.0, atol=1e-4)  # +x is the left
    np.testing.assert_allclose(y[:, -3:], np.broadcast_to([0.0, 0.0, speed], (len(y), 3)), atol=1e-5)
    assert np.ptp(x, axis=0).max() < 1e-4 and np.ptp(y, axis=0).max() < 1e-4  # nothing changes over time


@pytest.mark.parametrize("rate", [1.5, -3.0])
def test_turn_gives_the_heading_change(rate):
    yaw = rate * np.arange(FRAMES)
    facing = np.stack([np.cos(np.radians(yaw)), -np.sin(np.radians(yaw))], axis=1)
    xz = np.concatenate([[[0.0, 0.0]], np.cumsum(facing[:-1] * 2.0, axis=0)])  # step along the facing
    pose = forward_kinematics(synthetic_dog(xz, yaw))
    features = _features(pose)
    np.testing.assert_allclose(features.outputs[:, -2], np.radians(rate), atol=1e-6)
    np.testing.assert_allclose(features.outputs[:, -3], 0.0, atol=1e-5)
    np.testing.assert_allclose(features.outputs[:, -1], 2.0, atol=1e-5)
    layout = FeatureLayout(pose.names)
    np.testing.assert_allclose(features.inputs[:, _column(layout, "traj+0.speed")], 2.0, rtol=1e-6)


def test_mirroring_twice_is_identity_on_features():
    pose = _wiggling_dog()
    labels = np.repeat(np.arange(6), FRAMES // 6 + 1)[:FRAMES]
    once, twice = _features(mirror_pose(pose), labels), _features(mirror_pose(mirror_pose(pose)), labels)
    plain = _features(pose, labels)
    np.testing.assert_array_equal(twice.inputs, plain.inputs)
    np.testing.assert_array_equal(twice.outputs, plain.outputs)
    assert np.abs(once.inputs - plain.inputs).max() > 1.0


def test_mirrored_features_are_the_reflected_features():
    pose = _wiggling_dog()
    plain, mirrored = _features(pose), _features(mirror_pose(pose))
    layout = FeatureLayout(pose.names)
    swap = mirror_pairs(pose.names)
    expected_in = plain.inputs.copy()
    expected_out = plain.outputs.copy()
    for names, values, output in ((layout.input_names(), expected_in, False),
                                  (layout.output_names(), expected_out, True)):
        source = plain.outputs if output else plain.inputs
        index = {name: i for i, name in enumerate(names)}
        for i, name in enumerate(names):
            head, what = name.split(".")
            if head in pose.names:
                head = pose.names[swap[pose.names.index(head)]]
            sign = -1.0 if what in ("pos_x", "dir_x", "vel_x", "fwd_y", "fwd_z", "up_x", "dx", "dtheta") else 1.0
            values[:, i] = sign * source[:, index[f"{head}.{what}"]]
    np.testing.assert_allclose(mirrored.inputs, expected_in, atol=2e-4)
    np.testing.assert_allclose(mirrored.outputs, expected_out, atol=2e-4)


@settings(max_examples=10, deadline=None)
@given(st.floats(-np.pi, np.pi), st.floats(-500, 500), st.floats(-500, 500))
def test_features_do_not_depend_on_where_the_motion_happens(angle, x, z):
    pose = _wiggling_dog(130, seed=3)
    turn = axis_rotation("Y", np.degrees(angle))
    moved = Pose(pose.names, pose.parents, pose.positions @ turn.T + [x, 0.0, z], turn @ pose.rotations,
                 pose.frame_time)
    a, b = _features(pose), _features(moved)
    np.testing.assert_allclose(b.inputs, a.inputs, atol=2e-3)
    np.testing.assert_allclose(b.outputs, a.outputs, atol=2e-3)


def test_bad_inputs_and_short_clips():
    pose = forward_kinematics(synthetic_dog(np.zeros((100, 2)), np.zeros(100)))
    root = root_trajectory(pose)
    empty = mann_features(pose, root, style_values(np.zeros(100, int)))
    assert empty.inputs.shape == (0, 480) and empty.outputs.shape == (0, 363) and empty.frames.size == 0
    with pytest.raises(MocapError, match=r"styles must be \(100, 6\)"):
        mann_features(pose, root, np.zeros((100, 5)))
    with pytest.raises(MocapError, match="differ from the pose's joints"):
        mann_features(pose, root, style_values(np.zeros(100, int)), layout=FeatureLayout(("Hips",)))
    with pytest.raises(MocapError, match="must ascend strictly and contain 0"):
        FeatureLayout(("Hips",), offsets=(-10, 10))
