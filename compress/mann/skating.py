"""Foot skating (Zhang et al. 2018, eq. 2 of the pruning study): how far paws slide while they touch the ground.

For every paw tip and frame: ``h`` its height above the ground (y, cm; the ground is y = 0 in the
capture and in a rollout, whose root lies on y = 0), ``v`` its horizontal speed in cm per frame
(``|(x, z)_t - (x, z)_{t-1}|``, so the first frame has none). A paw below ``H`` (2.5 cm) counts as in
contact and skates ``s = v (2 - 2^{h/H})``: the full speed weighted by 1 at ``h = 0`` falling to 0 at
``h = H`` (weights above 1 for a paw below the ground). A paw at or above ``H`` skates 0. The metric
is the mean of ``s`` over all paws and frames (frames 1 .. n-1), in cm per frame.

Example:
    >>> positions = np.zeros((3, 1, 3)); positions[:, 0, 0] = [0.0, 1.0, 2.0]  # sliding 1 cm/frame at h = 0
    >>> foot_skating(positions).mean
    1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compress.errors import CompressError
from compress.mocap import BVH, Rig, forward_kinematics

__all__ = ["CONTACT_HEIGHT", "Skating", "capture_skating", "foot_skating", "skating_values"]

#: The contact threshold ``H`` of the study, cm.
CONTACT_HEIGHT = 2.5


def skating_values(heights: np.ndarray, speeds: np.ndarray, threshold: float = CONTACT_HEIGHT) -> np.ndarray:
    """Element-wise ``s = v (2 - 2^{h/H})`` where ``h < H``, else 0.

    Example:
        >>> skating_values(np.array([0.0, 1.25, 2.5, 5.0]), np.ones(4)).round(4).tolist()
        [1.0, 0.5858, 0.0, 0.0]
    """
    if not threshold > 0:
        raise CompressError(f"contact threshold must be > 0, got {threshold}")
    heights = np.asarray(heights, dtype=np.float64)
    speeds = np.asarray(speeds, dtype=np.float64)
    return np.where(heights < threshold, speeds * (2.0 - np.exp2(heights / threshold)), 0.0)


@dataclass(frozen=True)
class Skating:
    """Foot skating of a motion.

    Attributes:
        mean: mean ``s`` over paws and frames, cm per frame.
        per_paw: mean ``s`` of each paw.
        contact: fraction of paw-frames below the threshold.
        frames: frames the mean is taken over (one less than the motion's).
    """

    mean: float
    per_paw: tuple[float, ...]
    contact: float
    frames: int


def foot_skating(paw_positions: np.ndarray, threshold: float = CONTACT_HEIGHT) -> Skating:
    """The foot-skating metric of paw-tip world positions ``(frames, paws, 3)`` (cm, y up, ground at 0).

    Example:
        >>> still = np.zeros((4, 2, 3))
        >>> foot_skating(still).mean, foot_skating(still).contact
        (0.0, 1.0)
    """
    positions = np.asarray(paw_positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[2] != 3 or positions.shape[0] < 2:
        raise CompressError(f"paw positions must be (frames >= 2, paws, 3), got {positions.shape}")
    step = np.diff(positions[:, :, [0, 2]], axis=0)
    speeds = np.linalg.norm(step, axis=2)
    heights = positions[1:, :, 1]
    values = skating_values(heights, speeds, threshold)
    return Skating(float(values.mean()), tuple(float(v) for v in values.mean(axis=0)),
                   float((heights < threshold).mean()), int(values.shape[0]))


def capture_skating(clip: BVH, rig: Rig | None = None, threshold: float = CONTACT_HEIGHT) -> Skating:
    """The metric on a captured clip: paw-tip positions by forward kinematics, heights as captured (y).

    Example:
        >>> from compress.mocap import parse_bvh
        >>> text = ("HIERARCHY ROOT Hips { OFFSET 0 0 0 CHANNELS 3 Xposition Yposition Zposition\\n"
        ...         + "".join(f"JOINT P{i} {{ OFFSET 0 0 0 CHANNELS 1 Yrotation End Site {{ OFFSET 0 0 0 }} }}\\n"
        ...                   for i in range(4)) + "}\\nMOTION\\nFrames: 2\\nFrame Time: 0.0166667\\n"
        ...         "0 0 0 0 0 0 0\\n1 0 0 0 0 0 0\\n")
        >>> rig = Rig(paws=("P0Site", "P1Site", "P2Site", "P3Site"))
        >>> capture_skating(parse_bvh(text), rig).mean
        1.0
    """
    pose = forward_kinematics(clip)
    paws = (rig or Rig()).paws
    missing = [p for p in paws if p not in pose.names]
    if missing:
        raise CompressError(f"{clip.source}: no paw tips named {', '.join(missing)}")
    return foot_skating(pose.positions[:, [pose.names.index(p) for p in paws]], threshold)
