"""Mirroring: left/right partners from names, the lateral axis, involution, and consistency with the skeleton."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mocap_samples import synthetic_dog

from compress.mocap.errors import MocapError
from compress.mocap.kinematics import forward_kinematics
from compress.mocap.mirror import lateral_axis, mirror_name, mirror_pairs, mirror_pose


@pytest.mark.parametrize(("name", "partner"), [
    ("LeftHand", "RightHand"), ("RightFootSite", "LeftFootSite"), ("left_knee", "right_knee"),
    ("LEFT_EYE", "RIGHT_EYE"), ("L_ankle", "R_ankle"), ("R_ankle", "L_ankle"), ("hand_L", "hand_R"),
    ("thigh.R", "thigh.L"), ("Spine", None), ("Head", None), ("Tail1Site", None),
])
def test_mirror_name(name, partner):
    assert mirror_name(name) == partner


def test_pairs_and_missing_partner():
    names = ("Hips", "LeftLeg", "Spine", "RightLeg")
    assert mirror_pairs(names) == (0, 3, 2, 1)
    with pytest.raises(MocapError, match="'LeftArm' has no mirror partner 'RightArm'"):
        mirror_pairs(("Hips", "LeftArm"))


def _pose(angles: np.ndarray):
    frames = len(angles)
    xz = np.stack([np.linspace(0, 30, frames), np.linspace(5, -5, frames)], axis=1)
    return forward_kinematics(synthetic_dog(xz, np.linspace(0, 40, frames), 35.0, angles))


@settings(max_examples=15, deadline=None)
@given(arrays(np.float64, (3, 60), elements=st.floats(-180, 180)))
def test_mirroring_twice_is_identity_and_mirrored_poses_are_rigid(angles):
    pose = _pose(angles)
    assert lateral_axis(pose) == 2
    once = mirror_pose(pose)
    twice = mirror_pose(once)
    np.testing.assert_array_equal(twice.positions, pose.positions)
    np.testing.assert_array_equal(twice.rotations, pose.rotations)
    np.testing.assert_allclose(np.linalg.det(once.rotations), 1.0, atol=1e-9)
    np.testing.assert_allclose(once.bone_lengths(), pose.bone_lengths(), atol=1e-9)
    # the synthetic skeleton is symmetric, so the mirrored pose is forward kinematics of the same offsets
    offsets = synthetic_dog(np.zeros((1, 2)), np.zeros(1)).skeleton.offsets
    for joint, parent in enumerate(pose.parents):
        if parent >= 0:
            bone = once.positions[:, joint] - once.positions[:, parent]
            local = np.einsum("fji,fj->fi", once.rotations[:, parent], bone)
            np.testing.assert_allclose(local, np.broadcast_to(offsets[joint], local.shape), atol=1e-9)


def test_mirror_reflects_x_and_swaps_sides():
    pose = _pose(np.zeros((2, 60)))
    mirrored = mirror_pose(pose)
    left, right = pose.index("LeftHandSite"), pose.index("RightHandSite")
    expected = pose.positions[:, right] * [-1, 1, 1]
    np.testing.assert_allclose(mirrored.positions[:, left], expected)
    across_z = mirror_pose(pose, axis=2, local_axis=2)
    np.testing.assert_allclose(across_z.positions[:, 0], pose.positions[:, 0] * [1, 1, -1])
    with pytest.raises(MocapError, match="mirror axes must be 0, 1 or 2"):
        mirror_pose(pose, axis=3)


@pytest.mark.data
def test_real_skeleton_pairs(dog_clips):
    pose = forward_kinematics(dog_clips[0])
    pairs = mirror_pairs(pose.names)
    swapped = sorted((pose.names[i], pose.names[j]) for i, j in enumerate(pairs) if i < j)
    assert len(swapped) == 9 and ("LeftHandSite", "RightHandSite") in swapped
    assert lateral_axis(pose) == 2
