"""Forward kinematics of a BVH motion: global positions and rotations of every joint and end site.

Conventions (those of the dog capture's PROVENANCE.md, and of most BVH tools):

* a joint's local rotation is the product of its rotation channels' matrices in the order the joint
  declares them (``Zrotation Xrotation Yrotation`` gives ``Rz(z) @ Rx(x) @ Ry(y)``), angles in degrees,
  column vectors, right-handed (``Ry(90)`` turns +x into -z);
* a joint's translation from its parent is its ``OFFSET``, unless the joint has position channels, which
  then replace the offset (so the root's ``OFFSET`` is ignored and its position is the channels);
* ``R_joint = R_parent @ R_local`` and ``p_joint = p_parent + R_parent @ translation``; an end site has
  its parent's rotation.

Positions are in the file's unit (centimetres for the dog capture).

Example:
    >>> from compress.mocap.bvh import parse_bvh
    >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 4 Xposition Yposition Zposition Yrotation "
    ...                 "End Site { OFFSET 10 0 0 } }\\nMOTION\\nFrames: 1\\nFrame Time: 0.1\\n1 2 3 90\\n")
    >>> forward_kinematics(bvh).positions[0].round(6).tolist()
    [[1.0, 2.0, 3.0], [1.0, 2.0, -7.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compress.mocap.bvh import BVH
from compress.mocap.errors import MocapError

__all__ = ["Pose", "axis_rotation", "euler_to_matrix", "forward_kinematics"]

_AXES = {"X": 0, "Y": 1, "Z": 2}


@dataclass(frozen=True, eq=False)
class Pose:
    """Global positions and rotations of every joint and end site over time.

    Attributes:
        names: joint and end-site names (:attr:`compress.mocap.bvh.Skeleton.names` order).
        parents: parent index of each (``-1`` for the root).
        positions: shape ``(frames, joints, 3)``, in the file's unit.
        rotations: shape ``(frames, joints, 3, 3)``, each a proper rotation matrix (column vectors).
        frame_time: seconds per frame.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    positions: np.ndarray
    rotations: np.ndarray
    frame_time: float

    def __post_init__(self) -> None:
        count = len(self.names)
        frames = self.positions.shape[0] if self.positions.ndim == 3 else -1
        if (
            len(self.parents) != count
            or self.positions.shape != (frames, count, 3)
            or self.rotations.shape != (frames, count, 3, 3)
        ):
            raise MocapError(
                f"pose arrays do not match {count} joints: positions {self.positions.shape}, "
                f"rotations {self.rotations.shape}"
            )

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self.positions.shape[0])

    def index(self, name: str) -> int:
        """Index of the joint called ``name``; :class:`MocapError` if there is none."""
        if name not in self.names:
            raise MocapError(f"no joint named {name!r}; the skeleton has {', '.join(self.names)}")
        return self.names.index(name)

    def bone_lengths(self) -> np.ndarray:
        """Distance of every joint to its parent per frame, shape ``(frames, joints)``; 0 for the root.

        Example:
            >>> from compress.mocap.bvh import parse_bvh
            >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Zrotation "
            ...                 "End Site { OFFSET 3 4 0 } }\\nMOTION\\nFrames: 2\\nFrame Time: 0.1\\n0\\n45\\n")
            >>> forward_kinematics(bvh).bone_lengths()[:, 1].round(9).tolist()
            [5.0, 5.0]
        """
        parents = np.array(self.parents)
        lengths = np.zeros(self.positions.shape[:2])
        child = np.flatnonzero(parents >= 0)
        lengths[:, child] = np.linalg.norm(self.positions[:, child] - self.positions[:, parents[child]], axis=-1)
        return lengths


def axis_rotation(axis: str, degrees: np.ndarray) -> np.ndarray:
    """Right-handed rotation matrices about ``axis`` (``'X'``, ``'Y'`` or ``'Z'``), shape ``degrees.shape + (3, 3)``.

    Example:
        >>> (axis_rotation("Y", np.array(90.0)) @ [1.0, 0.0, 0.0]).round(6).tolist()
        [0.0, 0.0, -1.0]
    """
    if axis not in _AXES:
        raise MocapError(f"rotation axis must be X, Y or Z, got {axis!r}")
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    c, s = np.cos(radians), np.sin(radians)
    out = np.zeros(radians.shape + (3, 3))
    i = _AXES[axis]
    j, k = (i + 1) % 3, (i + 2) % 3
    out[..., i, i] = 1.0
    out[..., j, j] = c
    out[..., k, k] = c
    out[..., j, k] = -s
    out[..., k, j] = s
    return out


def euler_to_matrix(degrees: np.ndarray, order: str) -> np.ndarray:
    """Rotation matrices from Euler angles applied in ``order``: ``'ZXY'`` gives ``Rz @ Rx @ Ry``.

    Args:
        degrees: shape ``(..., len(order))``, one column per axis of ``order``.
        order: axes in channel order, e.g. ``'ZXY'``; empty gives identities.

    Returns:
        Matrices of shape ``(..., 3, 3)``.

    Example:
        >>> m = euler_to_matrix(np.array([[90.0, 0.0, 0.0]]), "ZXY")
        >>> (m[0] @ [1.0, 0.0, 0.0]).round(6).tolist()
        [0.0, 1.0, 0.0]
    """
    degrees = np.asarray(degrees, dtype=np.float64)
    if degrees.shape[-1:] != (len(order),):
        raise MocapError(f"{len(order)} angles expected for order {order!r}, got shape {degrees.shape}")
    result = np.broadcast_to(np.eye(3), degrees.shape[:-1] + (3, 3)).copy()
    for column, axis in enumerate(order):
        result = result @ axis_rotation(axis, degrees[..., column])
    return result


def forward_kinematics(bvh: BVH) -> Pose:
    """Global positions and rotations of every joint and end site of ``bvh`` in every frame.

    Args:
        bvh: a parsed motion (see the module docstring for the conventions).

    Returns:
        The :class:`Pose`, float64.

    Example:
        >>> from compress.mocap.bvh import parse_bvh
        >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Zrotation JOINT B { OFFSET 10 0 0 "
        ...                 "CHANNELS 0 End Site { OFFSET 5 0 0 } } }\\nMOTION\\nFrames: 1\\nFrame Time: 0.1\\n90\\n")
        >>> forward_kinematics(bvh).positions[0, 2].round(6).tolist()
        [0.0, 15.0, 0.0]
    """
    skeleton = bvh.skeleton
    frames = bvh.num_frames
    count = len(skeleton.joints)
    positions = np.zeros((frames, count, 3))
    rotations = np.zeros((frames, count, 3, 3))
    for index, joint in enumerate(skeleton.joints):
        values = bvh.channels(index)
        rotation_columns = [i for i, c in enumerate(joint.channels) if c.endswith("rotation")]
        local = euler_to_matrix(values[:, rotation_columns], joint.rotation_order)
        translation = np.broadcast_to(np.asarray(joint.offset, dtype=np.float64), (frames, 3)).copy()
        for column in joint.position_channels:
            translation[:, _AXES[joint.channels[column][0]]] = values[:, column]
        if joint.parent < 0:
            positions[:, index] = translation
            rotations[:, index] = local
        else:
            parent_rotation = rotations[:, joint.parent]
            positions[:, index] = positions[:, joint.parent] + np.einsum("fij,fj->fi", parent_rotation, translation)
            rotations[:, index] = parent_rotation @ local
    return Pose(skeleton.names, skeleton.parents, positions, rotations, bvh.frame_time)
