"""The root: the character's ground position and facing, and the frame the MANN features are expressed in.

Definitions (Y is up; distances in the capture's unit, cm; time in frames):

* **position** ``o_t``: the hips joint projected on the ground, ``(hips_x, 0, hips_z)``; not smoothed;
* **facing** ``f_t``: the horizontal part of ``u(a_t × up) + u(c_t - h_t)``, smoothed over time by a
  Gaussian of ``sigma`` frames (default 10) and normalised, where ``u`` makes a vector unit length,
  ``a_t`` is the sum over the rig's flank pairs of ``left - right`` (shoulders and hips) and ``c_t - h_t``
  runs from the hips to the chest joint. Each term counts as much as it is horizontal, so the flanks
  decide when the spine pitches up (sitting, rearing) and the spine decides when the dog lies on its side;
* **heading** ``θ_t = atan2(f_x, f_z)``: the root frame is ``R_y(θ_t)`` about ``o_t``, so the root's +z is
  the facing, +y is up and +x is ``up × facing`` (the character's left for a right-handed world);
* **velocity** ``v_t = o_t - o_{t-1}`` in cm per frame (frame 0 uses ``o_1 - o_0``);
* a world vector ``w`` at frame ``t`` is expressed in the root frame as ``R_y(θ_t)^T w``, a world point
  ``p`` as ``R_y(θ_t)^T (p - o_t)``.

Example:
    >>> root = RootTrajectory(np.array([[0.0, 0, 0], [0.0, 0, 2.0]]), np.array([[0.0, 0, 1], [1.0, 0, 0]]))
    >>> root.headings.round(6).tolist(), root.velocities[1].tolist()
    ([0.0, 1.570796], [0.0, 0.0, 2.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compress.mocap.errors import MocapError
from compress.mocap.filters import gaussian_smooth
from compress.mocap.kinematics import Pose
from compress.mocap.rig import Rig

__all__ = ["RootTrajectory", "root_trajectory", "to_root_frame", "wrap_angle"]


@dataclass(frozen=True, eq=False)
class RootTrajectory:
    """Ground position and facing of the root per frame.

    Attributes:
        positions: ``(frames, 3)``, ``y == 0``.
        directions: ``(frames, 3)`` horizontal unit facing vectors.
    """

    positions: np.ndarray
    directions: np.ndarray

    def __post_init__(self) -> None:
        shape = self.positions.shape
        if len(shape) != 2 or shape[1] != 3 or self.directions.shape != shape:
            raise MocapError(
                f"root positions and directions must both be (frames, 3), got {self.positions.shape} "
                f"and {self.directions.shape}"
            )

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self.positions.shape[0])

    @property
    def headings(self) -> np.ndarray:
        """``θ_t = atan2(f_x, f_z)`` in radians, shape ``(frames,)``."""
        return np.arctan2(self.directions[:, 0], self.directions[:, 2])

    @property
    def velocities(self) -> np.ndarray:
        """Backward differences of the positions in cm per frame (frame 0: forward difference), ``(frames, 3)``."""
        if self.num_frames < 2:
            return np.zeros_like(self.positions)
        diff = np.diff(self.positions, axis=0)
        return np.concatenate([diff[:1], diff])

    def to_local(self, frames: np.ndarray, values: np.ndarray, points: bool) -> np.ndarray:
        """Express world points or vectors in the root frames of ``frames``.

        Args:
            frames: integer frame indices, shape ``(n,)``.
            values: shape ``(n, ..., 3)``; ``values[i]`` is expressed in the root frame of ``frames[i]``.
            points: subtract the root position first (points) or not (directions, velocities).

        Returns:
            Array shaped like ``values``.

        Example:
            >>> root = RootTrajectory(np.array([[1.0, 0, 0]]), np.array([[1.0, 0, 0]]))
            >>> root.to_local(np.array([0]), np.array([[3.0, 5.0, 0.0]]), points=True).round(6).tolist()
            [[0.0, 5.0, 2.0]]
        """
        frames = np.asarray(frames)
        values = np.asarray(values, dtype=np.float64)
        if points:
            shape = (len(frames),) + (1,) * (values.ndim - 2) + (3,)
            values = values - self.positions[frames].reshape(shape)
        return to_root_frame(values, self.headings[frames])


def to_root_frame(vectors: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """Rotate world vectors by ``R_y(θ)^T``: ``(x, y, z) -> (x cos θ - z sin θ, y, x sin θ + z cos θ)``.

    Args:
        vectors: shape ``(n, ..., 3)``.
        headings: shape ``(n,)``, radians, one per leading row of ``vectors``.

    Example:
        >>> to_root_frame(np.array([[1.0, 0.0, 0.0]]), np.array([np.pi / 2])).round(6).tolist()
        [[0.0, 0.0, 1.0]]
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    shape = (len(headings),) + (1,) * (vectors.ndim - 2)
    c = np.cos(headings).reshape(shape)
    s = np.sin(headings).reshape(shape)
    x, y, z = vectors[..., 0], vectors[..., 1], vectors[..., 2]
    return np.stack([c * x - s * z, y, s * x + c * z], axis=-1)


def wrap_angle(angles: np.ndarray) -> np.ndarray:
    """Angles mapped into ``[-π, π)``.

    Example:
        >>> wrap_angle(np.array([3 * np.pi / 2, -3 * np.pi / 2])).round(6).tolist()
        [-1.570796, 1.570796]
    """
    return (np.asarray(angles, dtype=np.float64) + np.pi) % (2 * np.pi) - np.pi


def root_trajectory(pose: Pose, rig: Rig | None = None, sigma: float = 10.0) -> RootTrajectory:
    """The root of every frame of ``pose`` (definitions in the module docstring).

    Args:
        pose: global joint positions (Y up).
        rig: names of the hips, chest and flank joints; the dog capture's by default.
        sigma: Gaussian smoothing of the facing in frames (0: none).

    Returns:
        The :class:`RootTrajectory`.

    Raises:
        MocapError: the skeleton lacks a rig joint, or neither flanks nor spine ever give a horizontal direction.

    Example:
        >>> names = ("Hips", "L", "R", "C", "a", "b", "c", "d")
        >>> positions = np.zeros((1, 8, 3)); positions[0, 0] = [5, 40, 0]; positions[0, 1] = [6, 40, 0]  # left: +x
        >>> positions[0, 3] = [5, 50, 1]  # chest: ahead (+z) and above the hips
        >>> pose = Pose(names, (-1,) + (0,) * 7, positions, np.zeros((1, 8, 3, 3)), 1 / 60)
        >>> root = root_trajectory(pose, Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d")))
        >>> root.positions.tolist(), root.directions.round(6).tolist()
        ([[5.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
    """
    parts = (rig or Rig()).resolve(pose.names)
    hips = pose.positions[:, parts.hips]
    positions = np.stack([hips[:, 0], np.zeros(len(hips)), hips[:, 2]], axis=1)
    across = (pose.positions[:, list(parts.left)] - pose.positions[:, list(parts.right)]).sum(axis=1)
    # across x up = (-across_z, across_y * 0, across_x); then the hips-to-chest direction
    flank = np.stack([-across[:, 2], np.zeros(len(across)), across[:, 0]], axis=1)
    spine = pose.positions[:, parts.chest] - hips
    facing = flank / _lengths(across) + spine / _lengths(spine)
    facing[:, 1] = 0.0
    facing = gaussian_smooth(facing, sigma)
    norms = np.linalg.norm(facing, axis=1)
    valid = norms > 1e-6
    if len(facing) and not valid.any():
        raise MocapError("the rig's flanks and spine are never horizontal: no facing direction")
    if not valid.all():  # carry the nearest valid direction over degenerate frames
        index = np.where(valid, np.arange(len(valid)), -1)
        index = np.maximum.accumulate(index)
        first = int(np.argmax(valid))
        index[index < 0] = first
        facing, norms = facing[index], norms[index]
    return RootTrajectory(positions, facing / norms[:, None])


def _lengths(vectors: np.ndarray) -> np.ndarray:
    """Euclidean lengths of ``(n, 3)`` vectors as ``(n, 1)``, at least a tiny positive number."""
    return np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
