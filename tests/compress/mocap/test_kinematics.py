"""Forward kinematics: known answers on a hand-written chain, channel order, invariants, and the real capture."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mocap_samples import TINY_BVH

from compress.mocap.bvh import BVH, parse_bvh
from compress.mocap.errors import MocapError
from compress.mocap.kinematics import Pose, axis_rotation, euler_to_matrix, forward_kinematics

PAWS = ("LeftHandSite", "RightHandSite", "LeftFootSite", "RightFootSite")


def test_tiny_chain_known_positions(tiny_text):
    pose = forward_kinematics(parse_bvh(tiny_text))
    assert pose.names == ("Root", "Child", "ChildSite") and pose.parents == (-1, 0, 1)
    # frame 0: no rotation; the root OFFSET (100, 200, 300) is replaced by the position channels
    np.testing.assert_allclose(pose.positions[0], [[1, 2, 3], [11, 2, 3], [16, 2, 3]], atol=1e-12)
    # frame 1: root rotated 90 degrees about Y turns +x into -z
    np.testing.assert_allclose(pose.positions[1], [[1, 2, 3], [1, 2, -7], [1, 2, -12]], atol=1e-12)
    np.testing.assert_allclose(pose.rotations[1, 0], [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-12)
    # frame 2: the child also turns 90 degrees about its Z: its +x becomes the world's +y
    np.testing.assert_allclose(pose.positions[2], [[1, 2, 3], [1, 2, -7], [1, 7, -7]], atol=1e-12)
    np.testing.assert_allclose(pose.rotations[2, 2], pose.rotations[2, 1])  # an end site has its parent's rotation
    np.testing.assert_allclose(pose.bone_lengths(), [[0, 10, 5]] * 3, atol=1e-12)
    assert pose.index("ChildSite") == 2 and pose.frame_time == pytest.approx(1 / 60, rel=1e-5)


def test_channel_order_is_the_declared_one():
    # declared Z then X: Rz(90) @ Rx(90) takes +y to +z; declared X then Z takes +y to -x
    angles = np.array([90.0, 90.0])
    zx = euler_to_matrix(angles, "ZX") @ [0.0, 1.0, 0.0]
    xz = euler_to_matrix(angles, "XZ") @ [0.0, 1.0, 0.0]
    np.testing.assert_allclose(zx, [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(xz, [-1, 0, 0], atol=1e-12)
    text = ("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 2 Xrotation Zrotation End Site { OFFSET 0 1 0 } }\n"
            "MOTION\nFrames: 1\nFrame Time: 1\n90 90\n")
    np.testing.assert_allclose(forward_kinematics(parse_bvh(text)).positions[0, 1], xz, atol=1e-12)


def test_position_channels_replace_the_offset_per_axis():
    text = ("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 0 JOINT B { OFFSET 5 6 7 CHANNELS 1 Yposition } }\n"
            "MOTION\nFrames: 1\nFrame Time: 1\n-1\n")
    np.testing.assert_allclose(forward_kinematics(parse_bvh(text)).positions[0, 1], [5, -1, 7])


def test_axis_rotation_and_errors():
    np.testing.assert_allclose(axis_rotation("X", np.array(90.0)) @ [0, 1, 0], [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(axis_rotation("Z", np.array(90.0)) @ [1, 0, 0], [0, 1, 0], atol=1e-12)
    assert axis_rotation("Y", np.zeros((4, 2))).shape == (4, 2, 3, 3)
    with pytest.raises(MocapError, match="axis must be X, Y or Z"):
        axis_rotation("W", np.array(1.0))
    with pytest.raises(MocapError, match="3 angles expected"):
        euler_to_matrix(np.zeros((2, 2)), "ZXY")
    np.testing.assert_array_equal(euler_to_matrix(np.zeros((2, 0)), ""), np.stack([np.eye(3)] * 2))


def test_pose_shape_checks():
    with pytest.raises(MocapError, match="pose arrays do not match 2 joints"):
        Pose(("a", "b"), (-1, 0), np.zeros((3, 2, 3)), np.zeros((3, 1, 3, 3)), 0.1)
    pose = Pose(("a",), (-1,), np.zeros((3, 1, 3)), np.zeros((3, 1, 3, 3)), 0.1)
    with pytest.raises(MocapError, match="no joint named 'b'"):
        pose.index("b")


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, (4, 9), elements=st.floats(-720, 720)))
def test_rigid_invariants_for_any_angles(frames):
    bvh = parse_bvh(TINY_BVH)
    pose = forward_kinematics(BVH(bvh.skeleton, bvh.frame_time, frames))
    np.testing.assert_allclose(pose.bone_lengths()[:, 1:], np.broadcast_to([10.0, 5.0], (4, 2)), atol=1e-9)
    rotations = pose.rotations.reshape(-1, 3, 3)
    np.testing.assert_allclose(rotations @ rotations.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rotations.shape),
                               atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(rotations), 1.0, atol=1e-9)
    np.testing.assert_allclose(pose.positions[:, 0], frames[:, :3])


@pytest.mark.data
def test_real_clips_rigid_bones_and_paws_on_the_floor(dog_clips):
    for clip in dog_clips:
        pose = forward_kinematics(clip)
        lengths = pose.bone_lengths()
        assert np.abs(lengths - lengths[0]).max() <= 1e-3, clip.source
        expected = np.linalg.norm(clip.skeleton.offsets[1:], axis=1)
        np.testing.assert_allclose(lengths[0, 1:], expected, atol=1e-6)
        paws = pose.positions[:, [pose.index(name) for name in PAWS], 1]
        assert abs(np.percentile(paws, 1)) <= 1.5, clip.source
