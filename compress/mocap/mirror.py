"""Mirroring augmentation: the motion reflected left to right, with left and right joints swapped.

Left/right partners are found from the names (``Left``/``Right``, ``left``/``right``, ``LEFT``/``RIGHT``
anywhere in the name, or the affixes ``L_``/``R_``, ``_L``/``_R``, ``.L``/``.R``). A mirrored pose has

* positions ``p'_j = M p_σ(j)``, with ``M`` negating the world x axis and ``σ`` swapping partners;
* rotations ``R'_j = M R_σ(j) L``, with ``L`` negating the joints' lateral local axis (the axis along
  which left and right joint offsets differ, found from the pose: z for the dog capture). The result is
  a proper rotation and, for a left/right symmetric skeleton, exactly the forward kinematics of the
  mirrored motion.

Mirroring twice gives back the original.

Example:
    >>> mirror_name("LeftHandSite"), mirror_name("Spine") is None
    ('RightHandSite', True)
"""

from __future__ import annotations

import numpy as np

from compress.mocap.errors import MocapError
from compress.mocap.kinematics import Pose

__all__ = ["lateral_axis", "mirror_name", "mirror_pairs", "mirror_pose"]

_WORDS = (("Left", "Right"), ("left", "right"), ("LEFT", "RIGHT"))
_PREFIXES = (("L_", "R_"),)
_SUFFIXES = (("_L", "_R"), (".L", ".R"))


def mirror_name(name: str) -> str | None:
    """The name of the other side's joint (``None`` for a joint on the middle line).

    Example:
        >>> mirror_name("RightUpLeg"), mirror_name("arm_L")
        ('LeftUpLeg', 'arm_R')
    """
    for left, right in _WORDS:
        if left in name:
            return name.replace(left, right)
        if right in name:
            return name.replace(right, left)
    for left, right in _PREFIXES:
        if name.startswith(left):
            return right + name[len(left):]
        if name.startswith(right):
            return left + name[len(right):]
    for left, right in _SUFFIXES:
        if name.endswith(left):
            return name[: -len(left)] + right
        if name.endswith(right):
            return name[: -len(right)] + left
    return None


def mirror_pairs(names: tuple[str, ...]) -> tuple[int, ...]:
    """The permutation ``σ`` that swaps every left joint with its right partner (middle joints map to themselves).

    Raises:
        MocapError: a sided joint has no partner.

    Example:
        >>> mirror_pairs(("Hips", "LeftLeg", "RightLeg"))
        (0, 2, 1)
    """
    index = {name: i for i, name in enumerate(names)}
    pairs = []
    for name in names:
        partner = mirror_name(name)
        if partner is None:
            pairs.append(index[name])
        elif partner not in index:
            raise MocapError(f"joint {name!r} has no mirror partner {partner!r} in the skeleton")
        else:
            pairs.append(index[partner])
    return tuple(pairs)


def lateral_axis(pose: Pose, pairs: tuple[int, ...] | None = None) -> int:
    """The local axis (0, 1, 2 for x, y, z) along which the offsets of left and right partners differ most.

    Offsets are measured in the first frame as ``R_parent^T (p_joint - p_parent)``; without any sided
    joint the answer is 0.

    Example:
        >>> positions = np.array([[[0.0, 0, 0], [1.0, 0, 2.0], [1.0, 0, -2.0]]])
        >>> pose = Pose(("Hips", "LeftLeg", "RightLeg"), (-1, 0, 0), positions,
        ...             np.broadcast_to(np.eye(3), (1, 3, 3, 3)).copy(), 1 / 60)
        >>> lateral_axis(pose)
        2
    """
    pairs = mirror_pairs(pose.names) if pairs is None else pairs
    if pose.num_frames == 0:
        return 0
    score = np.zeros(3)
    for joint, partner in enumerate(pairs):
        parent, partner_parent = pose.parents[joint], pose.parents[partner]
        if partner == joint or parent < 0 or partner_parent < 0:
            continue
        mine = pose.rotations[0, parent].T @ (pose.positions[0, joint] - pose.positions[0, parent])
        theirs = pose.rotations[0, partner_parent].T @ (pose.positions[0, partner] - pose.positions[0, partner_parent])
        score += np.abs(mine - theirs)
    return int(np.argmax(score)) if score.any() else 0


def mirror_pose(pose: Pose, axis: int = 0, local_axis: int | None = None) -> Pose:
    """``pose`` reflected across the plane normal to world ``axis`` (x by default), left and right swapped.

    Args:
        pose: the pose to mirror.
        axis: world axis negated (0: x).
        local_axis: joints' lateral local axis; found by :func:`lateral_axis` when ``None``.

    Returns:
        The mirrored :class:`Pose` (same names, order and parents).

    Example:
        >>> positions = np.array([[[3.0, 0, 0], [1.0, 0, 2.0], [-1.0, 0, 2.0]]])
        >>> pose = Pose(("Hips", "LeftLeg", "RightLeg"), (-1, 0, 0), positions,
        ...             np.broadcast_to(np.eye(3), (1, 3, 3, 3)).copy(), 1 / 60)
        >>> mirror_pose(pose).positions[0].tolist()
        [[-3.0, 0.0, 0.0], [1.0, 0.0, 2.0], [-1.0, 0.0, 2.0]]
    """
    if axis not in (0, 1, 2) or local_axis not in (None, 0, 1, 2):
        raise MocapError(f"mirror axes must be 0, 1 or 2, got axis={axis}, local_axis={local_axis}")
    pairs = mirror_pairs(pose.names)
    lateral = lateral_axis(pose, pairs) if local_axis is None else local_axis
    world = np.ones(3)
    world[axis] = -1.0
    local = np.ones(3)
    local[lateral] = -1.0
    order = list(pairs)
    positions = pose.positions[:, order] * world
    rotations = world[:, None] * pose.rotations[:, order] * local[None, :]
    return Pose(pose.names, pose.parents, positions, rotations, pose.frame_time)
