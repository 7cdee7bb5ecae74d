"""Root trajectory: ground projection of the hips, facing from flanks and spine, headings, velocities, frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mocap_samples import synthetic_dog

from compress.mocap.errors import MocapError
from compress.mocap.filters import gaussian_kernel, gaussian_smooth
from compress.mocap.kinematics import Pose, forward_kinematics
from compress.mocap.rig import Rig
from compress.mocap.root import RootTrajectory, root_trajectory, to_root_frame, wrap_angle


def test_root_is_the_ground_projection_of_the_hips_and_faces_the_head():
    frames = 5
    xz = np.stack([np.arange(frames) * 3.0, np.full(frames, -2.0)], axis=1)
    pose = forward_kinematics(synthetic_dog(xz, np.full(frames, 90.0), height=35.0))
    root = root_trajectory(pose)
    np.testing.assert_allclose(root.positions, np.stack([xz[:, 0], np.zeros(frames), xz[:, 1]], axis=1))
    # yaw 90 about +y turns the head (+x) to -z
    np.testing.assert_allclose(root.directions, np.broadcast_to([0.0, 0.0, -1.0], (frames, 3)), atol=1e-12)
    np.testing.assert_allclose(root.headings, np.pi, atol=1e-12)
    np.testing.assert_allclose(root.velocities, np.broadcast_to([3.0, 0.0, 0.0], (frames, 3)))


def test_spine_decides_when_lying_on_the_side():
    # flanks vertical (left above right), spine along +z: facing is the spine's direction
    names = ("Hips", "L", "R", "C", "a", "b", "c", "d")
    positions = np.zeros((1, 8, 3))
    positions[0, 1] = [0, 10, 0]
    positions[0, 3] = [0, 0, 30]
    pose = Pose(names, (-1,) + (0,) * 7, positions, np.zeros((1, 8, 3, 3)), 1 / 60)
    rig = Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d"))
    np.testing.assert_allclose(root_trajectory(pose, rig).directions, [[0, 0, 1]], atol=1e-12)
    positions[0, 3] = [0, 30, 0]  # spine vertical as well: no direction at all
    with pytest.raises(MocapError, match="never horizontal"):
        root_trajectory(Pose(names, pose.parents, positions, pose.rotations, 1 / 60), rig)


def test_degenerate_frames_take_the_nearest_direction():
    names = ("Hips", "L", "R", "C", "a", "b", "c", "d")
    positions = np.zeros((4, 8, 3))
    positions[2:, 1] = [1, 0, 0]  # frames 0-1 have no direction, frames 2-3 face +z
    pose = Pose(names, (-1,) + (0,) * 7, positions, np.zeros((4, 8, 3, 3)), 1 / 60)
    rig = Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d"))
    root = root_trajectory(pose, rig, sigma=0)
    np.testing.assert_allclose(root.directions, np.broadcast_to([0, 0, 1.0], (4, 3)))


def test_missing_rig_joint_is_named():
    pose = forward_kinematics(synthetic_dog(np.zeros((2, 2)), np.zeros(2)))
    with pytest.raises(MocapError, match="lacks the rig's joints Chest"):
        root_trajectory(pose, Rig(chest="Chest"))


def test_to_local_and_headings():
    root = RootTrajectory(np.array([[10.0, 0, 5.0]]), np.array([[1.0, 0, 0]]))  # facing +x
    assert root.headings[0] == pytest.approx(np.pi / 2)
    # a point 3 cm ahead and 2 cm up is at local z = 3
    np.testing.assert_allclose(root.to_local(np.array([0]), np.array([[13.0, 2.0, 5.0]]), points=True),
                               [[0, 2, 3]], atol=1e-12)
    # the root's local +x is its left: world -z when facing +x
    np.testing.assert_allclose(root.to_local(np.array([0]), np.array([[0.0, 0, -1.0]]), points=False),
                               [[1, 0, 0]], atol=1e-12)
    with pytest.raises(MocapError, match="both be"):
        RootTrajectory(np.zeros((2, 3)), np.zeros((3, 3)))
    assert RootTrajectory(np.zeros((1, 3)), np.ones((1, 3))).velocities.tolist() == [[0.0, 0.0, 0.0]]


@settings(max_examples=50, deadline=None)
@given(st.floats(-10, 10), st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_to_root_frame_inverts_the_heading_rotation(angle, x, z):
    direction = np.array([[np.sin(angle), 0.0, np.cos(angle)]])
    np.testing.assert_allclose(to_root_frame(direction, np.array([angle])), [[0, 0, 1]], atol=1e-9)
    local = to_root_frame(np.array([[x, 1.0, z]]), np.array([angle]))
    assert np.linalg.norm(local) == pytest.approx(np.linalg.norm([x, 1.0, z]))


@given(st.floats(-1e4, 1e4))
def test_wrap_angle_range_and_equivalence(angle):
    wrapped = wrap_angle(np.array(angle))
    assert -np.pi <= wrapped < np.pi
    assert np.cos(wrapped) == pytest.approx(np.cos(angle), abs=1e-6)
    assert np.sin(wrapped) == pytest.approx(np.sin(angle), abs=1e-6)


def test_gaussian_smoothing():
    assert gaussian_kernel(2.0).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(gaussian_smooth(np.full((7, 2), 3.0), 2.0), 3.0)
    ramp = np.arange(40.0)
    np.testing.assert_allclose(gaussian_smooth(ramp, 2.0)[8:32], ramp[8:32])
    assert gaussian_smooth(np.zeros((0, 3)), 1.0).shape == (0, 3)
    with pytest.raises(MocapError, match="sigma"):
        gaussian_kernel(-1.0)
    with pytest.raises(MocapError, match="rig needs 4 paws"):
        Rig(paws=("a", "b"))  # type: ignore[arg-type]
    with pytest.raises(MocapError, match="as many left as right"):
        Rig(left=("a",), right=())
