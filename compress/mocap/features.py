"""Per-frame MANN features: the network input (480), output (363) and gating input (19) of the dog setup.

All quantities are in the root frame of :mod:`compress.mocap.root` (x: the character's left, y: up,
z: its facing), lengths in cm, velocities in cm per frame (1/60 s for the dog capture), angles in radians.

**Input of frame t** (``12 × 13 + 27 × 12 = 480`` for 12 trajectory samples, 6 styles and 27 points):

* trajectory samples at frames ``t + k`` for ``k`` in :data:`TRAJECTORY_OFFSETS` (``-60, -50, ..., 50``:
  1 s of past, the current frame at index 6, 5/6 s of future), each
  ``(pos_x, pos_z, dir_x, dir_z, vel_x, vel_z, speed, style_0..style_5)``: the root position, facing and
  velocity of frame ``t + k`` in the root frame of ``t``, ``speed = |velocity|``, and the smoothed
  one-hot style of frame ``t + k`` (:func:`compress.mocap.styles.style_values`);
* then every joint and end site in skeleton order, each ``(pos_xyz, forward_xyz, up_xyz, vel_xyz)``:
  position, the joint's local +z and +y axes (third and second columns of its global rotation), and
  velocity ``p_t - p_{t-1}``, all in the root frame of ``t``.

**Output of frame t** (``6 × 6 + 27 × 12 + 3 = 363``), describing frame ``t + 1``:

* the 6 samples ``k = 0, 10, ..., 50`` around frame ``t + 1`` in the root frame of ``t + 1``, each
  ``(pos_x, pos_z, dir_x, dir_z, vel_x, vel_z)`` (sample 0 is the root itself: position 0, facing +z);
* every point of frame ``t + 1`` in the root frame of ``t + 1`` as in the input;
* the root update ``(dx, dθ, dz)``: the root displacement ``o_{t+1} - o_t`` in the root frame of ``t``
  and the heading change ``θ_{t+1} - θ_t`` wrapped to ``[-π, π)``.

**Gating input** (``4 × 3 + 1 + 6 = 19``): the velocities of the 4 paw tips and the speed and style
values of the current trajectory sample, copied from the input (their input positions are
:meth:`FeatureLayout.gating_indices`).

A frame has features when all the frames it reads exist: ``60 <= t <= frames - 52``.

Example:
    >>> layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
    >>> layout.input_dim, layout.output_dim, layout.gating_dim
    (480, 363, 19)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from compress.mocap.errors import MocapError
from compress.mocap.kinematics import Pose
from compress.mocap.rig import Rig
from compress.mocap.root import RootTrajectory, to_root_frame, wrap_angle
from compress.mocap.styles import STYLES

__all__ = ["TRAJECTORY_OFFSETS", "FeatureLayout", "MannFeatures", "mann_features"]

#: Frame offsets of the 12 trajectory samples around the current frame.
TRAJECTORY_OFFSETS = tuple(range(-60, 60, 10))

_SAMPLE_IN = ("pos_x", "pos_z", "dir_x", "dir_z", "vel_x", "vel_z", "speed")
_SAMPLE_OUT = ("pos_x", "pos_z", "dir_x", "dir_z", "vel_x", "vel_z")
_POINT = tuple(f"{what}_{axis}" for what in ("pos", "fwd", "up", "vel") for axis in "xyz")


@dataclass(frozen=True)
class FeatureLayout:
    """Sizes, names and positions of the MANN features for one skeleton.

    Attributes:
        points: joint and end-site names, in skeleton order.
        styles: style names (their count sets the style values per sample).
        offsets: frame offsets of the trajectory samples; must contain 0 and ascend.
    """

    points: tuple[str, ...]
    styles: tuple[str, ...] = STYLES
    offsets: tuple[int, ...] = TRAJECTORY_OFFSETS

    def __post_init__(self) -> None:
        if 0 not in self.offsets or list(self.offsets) != sorted(set(self.offsets)) or self.offsets[-1] < 0:
            raise MocapError(f"trajectory offsets must ascend strictly and contain 0, got {self.offsets}")

    @property
    def current(self) -> int:
        """Index of the current frame's sample (6 for the default offsets)."""
        return self.offsets.index(0)

    @property
    def future(self) -> tuple[int, ...]:
        """Offsets of the output's samples (the non-negative ones)."""
        return self.offsets[self.current :]

    @property
    def sample_in_dim(self) -> int:
        """Values per input trajectory sample (13)."""
        return len(_SAMPLE_IN) + len(self.styles)

    @property
    def input_dim(self) -> int:
        """Network input width (480 for the dog)."""
        return len(self.offsets) * self.sample_in_dim + len(self.points) * len(_POINT)

    @property
    def output_dim(self) -> int:
        """Network output width (363 for the dog)."""
        return len(self.future) * len(_SAMPLE_OUT) + len(self.points) * len(_POINT) + 3

    @property
    def gating_dim(self) -> int:
        """Gating input width (19 for the dog)."""
        return 4 * 3 + 1 + len(self.styles)

    @property
    def frames_before(self) -> int:
        """Frames needed before the first frame with features (60)."""
        return -min(self.offsets[0], 0)

    @property
    def frames_after(self) -> int:
        """Frames needed after the last frame with features (51: the output reads ``t + 1 + 50``)."""
        return self.offsets[-1] + 1

    def input_names(self) -> tuple[str, ...]:
        """A name per input column, e.g. ``'traj-60.pos_x'``, ``'traj+0.style_idle'``, ``'Hips.vel_z'``.

        Example:
            >>> FeatureLayout(("Hips",)).input_names()[87:89]
            ('traj+0.style_jump', 'traj+0.style_sit')
        """
        samples = [
            f"traj{k:+d}.{v}" for k in self.offsets for v in _SAMPLE_IN + tuple(f"style_{s}" for s in self.styles)
        ]
        return tuple(samples + [f"{p}.{v}" for p in self.points for v in _POINT])

    def output_names(self) -> tuple[str, ...]:
        """A name per output column; the last three are ``'root.dx'``, ``'root.dtheta'``, ``'root.dz'``.

        Example:
            >>> FeatureLayout(("Hips",)).output_names()[-4:]
            ('Hips.vel_z', 'root.dx', 'root.dtheta', 'root.dz')
        """
        samples = [f"next{k:+d}.{v}" for k in self.future for v in _SAMPLE_OUT]
        points = [f"{p}.{v}" for p in self.points for v in _POINT]
        return tuple(samples + points + ["root.dx", "root.dtheta", "root.dz"])

    def gating_indices(self, paws: tuple[str, ...]) -> tuple[int, ...]:
        """Input columns of the gating input: the 4 paws' ``vel_xyz``, then the current sample's speed and styles.

        Example:
            >>> layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
            >>> layout.gating_indices(("p10", "p15", "p19", "p23"))[-7:]
            (84, 85, 86, 87, 88, 89, 90)
        """
        if len(paws) != 4:
            raise MocapError(f"the gating input needs 4 paws, got {paws}")
        missing = [p for p in paws if p not in self.points]
        if missing:
            raise MocapError(f"paws {', '.join(missing)} are not among the feature points")
        trajectory = len(self.offsets) * self.sample_in_dim
        velocity = _POINT.index("vel_x")
        columns = [trajectory + self.points.index(p) * len(_POINT) + velocity + a for p in paws for a in range(3)]
        current = self.current * self.sample_in_dim
        speed = current + _SAMPLE_IN.index("speed")
        return tuple(columns + [speed] + [current + len(_SAMPLE_IN) + s for s in range(len(self.styles))])


@dataclass(frozen=True, eq=False)
class MannFeatures:
    """Features of the frames of one clip that have all their context.

    Attributes:
        inputs: ``(n, layout.input_dim)`` float32.
        outputs: ``(n, layout.output_dim)`` float32.
        gating: ``(n, layout.gating_dim)`` float32, equal to ``inputs[:, gating_indices]``.
        frames: ``(n,)`` the frame index ``t`` of each row.
    """

    inputs: np.ndarray
    outputs: np.ndarray
    gating: np.ndarray
    frames: np.ndarray


def mann_features(pose: Pose, root: RootTrajectory, styles: np.ndarray, rig: Rig | None = None,
                  layout: FeatureLayout | None = None) -> MannFeatures:
    """The MANN input, output and gating features of every frame of ``pose`` that has its context.

    Args:
        pose: global positions and rotations (cm, Y up).
        root: the root trajectory of ``pose``.
        styles: ``(frames, len(layout.styles))`` style values per frame.
        rig: names the 4 paws (gating input); the dog capture's by default.
        layout: sample offsets and styles; by default the dog setup for ``pose``'s points.

    Returns:
        :class:`MannFeatures` for frames ``frames_before .. frames - 1 - frames_after`` (none for a short clip).

    Example:
        >>> from compress.mocap.root import root_trajectory
        >>> from compress.mocap.styles import style_values
        >>> names = ("Hips", "L", "R", "C", "a", "b", "c", "d")
        >>> positions = np.zeros((200, 8, 3)); positions[:, 1, 0] = 1.0
        >>> positions[:, :, 2] += np.arange(200)[:, None] * 2.0  # 2 cm per frame along +z
        >>> rotations = np.broadcast_to(np.eye(3), (200, 8, 3, 3)).copy()
        >>> pose = Pose(names, (-1,) + (0,) * 7, positions, rotations, 1 / 60)
        >>> rig = Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d"))
        >>> features = mann_features(pose, root_trajectory(pose, rig), style_values(np.ones(200, int)), rig)
        >>> features.inputs.shape, features.outputs.shape, features.gating.shape
        ((89, 252), (89, 135), (89, 19))
        >>> features.outputs[0, -3:].tolist()  # root update: 2 cm forward, no turn
        [0.0, 0.0, 2.0]
    """
    layout = layout or FeatureLayout(pose.names)
    if layout.points != pose.names:
        raise MocapError(f"feature layout points {layout.points} differ from the pose's joints {pose.names}")
    if styles.shape != (pose.num_frames, len(layout.styles)):
        raise MocapError(f"styles must be ({pose.num_frames}, {len(layout.styles)}), got {styles.shape}")
    if root.num_frames != pose.num_frames:
        raise MocapError(f"root has {root.num_frames} frames, the pose {pose.num_frames}")
    paws = (rig or Rig()).paws
    gating_columns = list(layout.gating_indices(paws))
    frames = np.arange(layout.frames_before, pose.num_frames - layout.frames_after)
    if frames.size == 0:
        empty = np.zeros((0,))
        return MannFeatures(np.zeros((0, layout.input_dim), np.float32), np.zeros((0, layout.output_dim), np.float32),
                            np.zeros((0, layout.gating_dim), np.float32), empty.astype(np.int64))
    offsets = np.asarray(layout.offsets)
    velocities = root.velocities
    speeds = np.linalg.norm(velocities, axis=1)

    samples = frames[:, None] + offsets[None, :]
    trajectory = np.concatenate([
        _trajectory(root, velocities, frames, samples),
        speeds[samples][..., None],
        styles[samples],
    ], axis=2).reshape(len(frames), -1)
    inputs = np.concatenate([trajectory, _points(pose, root, frames)], axis=1)

    following = frames + 1
    future = following[:, None] + np.asarray(layout.future)[None, :]
    update = to_root_frame(root.positions[following] - root.positions[frames], root.headings[frames])
    turn = wrap_angle(root.headings[following] - root.headings[frames])
    outputs = np.concatenate([
        _trajectory(root, velocities, following, future).reshape(len(frames), -1),
        _points(pose, root, following),
        np.stack([update[:, 0], turn, update[:, 2]], axis=1),
    ], axis=1)
    return MannFeatures(
        inputs.astype(np.float32), outputs.astype(np.float32), inputs[:, gating_columns].astype(np.float32), frames
    )


def _trajectory(root: RootTrajectory, velocities: np.ndarray, frames: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """``(n, samples, 6)``: position, direction and velocity (x, z) of the sample frames in the root frames."""
    position = root.to_local(frames, root.positions[samples], points=True)
    direction = root.to_local(frames, root.directions[samples], points=False)
    velocity = root.to_local(frames, velocities[samples], points=False)
    return np.concatenate([position[..., ::2], direction[..., ::2], velocity[..., ::2]], axis=2)


def _points(pose: Pose, root: RootTrajectory, frames: np.ndarray) -> np.ndarray:
    """``(n, points * 12)``: position, forward, up and velocity of every point in the root frames."""
    rotations = pose.rotations[frames]
    position = root.to_local(frames, pose.positions[frames], points=True)
    forward = root.to_local(frames, rotations[..., :, 2], points=False)
    up = root.to_local(frames, rotations[..., :, 1], points=False)
    velocity = root.to_local(frames, pose.positions[frames] - pose.positions[frames - 1], points=False)
    return np.concatenate([position, forward, up, velocity], axis=2).reshape(len(frames), -1)
