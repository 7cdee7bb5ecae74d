"""Autoregressive MANN rollout under a scripted control signal (walking around, turns, speed changes, sit/lie).

Each frame the controller builds the network input in the root frame of the current frame, runs the
model once, and moves on with its output (features as in :mod:`compress.mocap.features`):

* **past** trajectory samples (offsets -60 .. -10): the generated root history (position, facing,
  velocity ``o_t - o_{t-1}``, style) of those frames;
* **current** sample: the root itself, its velocity and the current style;
* **future** samples (10 .. 50): the trajectory the network predicted at the previous frame, blended
  towards the command (below); their styles come from the command;
* **posture**: the 27 points (position, forward, up, velocity) the network predicted for this frame.

The output's root update ``(dx, dθ, dz)`` moves and turns the root; its posture becomes the next
input's; its future samples (in the new root frame) are taken to the world and blended with the
command: for sample ``j = 1 .. 5`` (10 ``j`` frames ahead) the position becomes
``lerp(predicted, o + 10 j v*, w_j)`` and the velocity ``lerp(predicted, v*, w_j)`` with
``w_j = 1 - (1 - j/5)^position_bias``, the facing ``normalise(lerp(predicted, d*, 1 - (1 - j/5)^direction_bias))``,
where ``v*`` is the commanded velocity and ``d*`` the commanded facing. The near future thus stays
mostly the network's own and the far end follows the command (the scheme of the PFNN/MANN demo
controllers; the biases 0.75 and 1.25 are theirs). Style values move one frame along the samples each
frame (each takes a tenth of the way to the next sample's) and are then blended towards the commanded
style with the same ``w_j``.

The rollout starts from a real frame (a dataset row: its posture and its 1 s of past trajectory,
interpolated to every frame) at the world origin facing +z.

Example:
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> from compress.mocap import FeatureLayout, fit_normalization
    >>> layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
    >>> x, y = np.random.rand(4, 480).astype(np.float32), np.random.rand(4, 363).astype(np.float32)
    >>> norm = fit_normalization(x, y)
    >>> model = MANN(MANNConfig(hidden=16, gating_indices=layout.gating_indices(("p1", "p2", "p3", "p4"))))
    >>> motion = rollout(model, norm, layout, x[0], SCENARIOS["walk"], frames=5)
    >>> motion.positions.shape, motion.omegas.shape
    ((6, 27, 3), (5, 8))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from compress.errors import CompressError
from compress.mann.fast import blended_forward
from compress.mocap import STYLES, FeatureLayout, Normalization
from compress.zoo.mann import MANN

__all__ = ["SCENARIOS", "Command", "ControllerConfig", "Rollout", "Scenario", "Segment", "rollout"]

_SAMPLE_IN = 7  # pos_x, pos_z, dir_x, dir_z, vel_x, vel_z, speed (then styles)
_SAMPLE_OUT = 6
_POINT = 12


@dataclass(frozen=True)
class Command:
    """The control signal of one frame (world frame, y up).

    Attributes:
        velocity: desired root velocity ``(x, z)`` in cm per frame.
        facing: desired facing ``(x, z)``, unit length.
        style: desired style values, one per :data:`compress.mocap.STYLES`.
    """

    velocity: tuple[float, float]
    facing: tuple[float, float]
    style: tuple[float, ...]


@dataclass(frozen=True)
class Segment:
    """A stretch of a scripted scenario.

    Attributes:
        frames: length in frames (60 per second).
        speed: desired speed, cm per frame (walk ~0.9, trot ~2.5).
        style: a style name of :data:`compress.mocap.STYLES`.
        turn: turning rate during the segment, degrees per second (positive turns left).
        snap: heading change at the segment's first frame, degrees (an abrupt turn).
    """

    frames: int
    speed: float
    style: str = "move"
    turn: float = 0.0
    snap: float = 0.0

    def __post_init__(self) -> None:
        if self.frames < 1 or self.speed < 0 or self.style not in STYLES:
            raise CompressError(f"segment needs frames >= 1, speed >= 0 and a style of {STYLES}, got {self}")


@dataclass(frozen=True)
class Scenario:
    """A scripted control signal: segments played in order (the last one holds after its end).

    Example:
        >>> s = Scenario("demo", (Segment(60, 1.0), Segment(60, 1.0, snap=90.0)))
        >>> s.frames, [round(v, 3) for v in s.command(60).facing]
        (120, [1.0, 0.0])
    """

    name: str
    segments: tuple[Segment, ...]

    @property
    def frames(self) -> int:
        """Total frames of the script."""
        return sum(s.frames for s in self.segments)

    def command(self, frame: int) -> Command:
        """The command at ``frame`` (heading starts at 0, i.e. facing +z; positive angles turn left, to +x)."""
        if not self.segments:
            raise CompressError(f"scenario {self.name!r} has no segments")
        heading, start = 0.0, 0
        segment = self.segments[-1]
        for seg in self.segments:
            heading += seg.snap
            if frame < start + seg.frames:
                segment = seg
                heading += seg.turn * (frame - start) / 60.0
                break
            heading += seg.turn * seg.frames / 60.0
            start += seg.frames
        angle = math.radians(heading)
        facing = (math.sin(angle), math.cos(angle))
        style = tuple(1.0 if name == segment.style else 0.0 for name in STYLES)
        return Command((segment.speed * facing[0], segment.speed * facing[1]), facing, style)


#: The study's fixed scenarios (about 20 s each at 60 fps).
SCENARIOS: dict[str, Scenario] = {
    "walk": Scenario("walk", (Segment(120, 0.0, "idle"), Segment(1080, 0.9, turn=18.0))),
    "turn": Scenario("turn", (Segment(120, 0.9), Segment(180, 0.9, snap=90.0), Segment(180, 0.9, snap=-90.0),
                              Segment(180, 0.9, snap=180.0), Segment(180, 0.9, snap=90.0),
                              Segment(180, 0.9, snap=-135.0), Segment(180, 0.9, snap=45.0))),
    "speed": Scenario("speed", (Segment(180, 0.9), Segment(240, 2.5), Segment(180, 0.9), Segment(180, 0.0, "idle"),
                                Segment(240, 2.5), Segment(180, 0.9))),
    "run": Scenario("run", (Segment(120, 0.9), Segment(480, 2.5), Segment(240, 2.5, turn=45.0), Segment(120, 0.9))),
    "jump": Scenario("jump", (Segment(120, 1.2), Segment(90, 1.8, "jump"), Segment(150, 1.2), Segment(90, 1.8, "jump"),
                              Segment(150, 1.2), Segment(90, 1.8, "jump"), Segment(120, 1.2))),
    "sit": Scenario("sit", (Segment(180, 0.9), Segment(60, 0.0, "idle"), Segment(240, 0.0, "sit"),
                            Segment(240, 0.0, "lie"), Segment(180, 0.0, "stand"), Segment(120, 0.0, "idle"),
                            Segment(180, 0.9))),
}


@dataclass(frozen=True)
class ControllerConfig:
    """How strongly the command pulls the future trajectory (see the module text).

    Attributes:
        position_bias: exponent of the position and velocity blend weights.
        direction_bias: exponent of the facing blend weights.
    """

    position_bias: float = 0.75
    direction_bias: float = 1.25


@dataclass(frozen=True, eq=False)
class Rollout:
    """A generated motion, in the world frame (cm, y up).

    Attributes:
        positions: ``(frames + 1, points, 3)`` every point's position, the start frame first.
        root: ``(frames + 1, 3)`` root position (y = 0).
        headings: ``(frames + 1,)`` root heading in radians.
        omegas: ``(frames, experts)`` the gating coefficients of every step.
        names: point names.
    """

    positions: np.ndarray
    root: np.ndarray
    headings: np.ndarray
    omegas: np.ndarray
    names: tuple[str, ...]

    def paws(self, paws: tuple[str, ...]) -> np.ndarray:
        """``(frames + 1, len(paws), 3)`` positions of the named points."""
        missing = [p for p in paws if p not in self.names]
        if missing:
            raise CompressError(f"no points named {', '.join(missing)} in the rollout")
        return self.positions[:, [self.names.index(p) for p in paws]]


def _to_world(local: np.ndarray, heading: float) -> np.ndarray:
    """Rotate root-frame ``(..., 2)`` (x, z) vectors by the heading into the world."""
    c, s = math.cos(heading), math.sin(heading)
    return np.stack([c * local[..., 0] + s * local[..., 1], -s * local[..., 0] + c * local[..., 1]], axis=-1)


def _to_local(world: np.ndarray, heading: float) -> np.ndarray:
    """Rotate world ``(..., 2)`` (x, z) vectors into the root frame of ``heading``."""
    c, s = math.cos(heading), math.sin(heading)
    return np.stack([c * world[..., 0] - s * world[..., 1], s * world[..., 0] + c * world[..., 1]], axis=-1)


def _unit(v: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.where(norm > 1e-6, v / np.maximum(norm, 1e-12), fallback)


def rollout(model: MANN, normalization: Normalization, layout: FeatureLayout, start: np.ndarray,
            scenario: Scenario, frames: int | None = None, config: ControllerConfig | None = None) -> Rollout:
    """Generate ``frames`` frames (default: the scenario's length) from the unnormalised input row ``start``.

    Args:
        model: a trained MANN (run in eval mode, without gradients).
        normalization: the statistics the model was trained with.
        layout: the feature layout of the data (points, styles, sample offsets).
        start: one raw input row of the dataset (its posture and past trajectory start the motion).
        scenario: the scripted command.
        frames: frames to generate.
        config: command blending.

    Returns:
        The :class:`Rollout` (start frame included).
    """
    config = config or ControllerConfig()
    frames = scenario.frames if frames is None else int(frames)
    offsets = np.asarray(layout.offsets)
    current = layout.current
    future = offsets[current + 1 :]
    past = offsets[:current]
    styles = len(layout.styles)
    width = _SAMPLE_IN + styles
    points = len(layout.points)
    if start.shape != (layout.input_dim,) or model.config.input_dim != layout.input_dim:
        raise CompressError(f"start row must have the layout's {layout.input_dim} inputs, got {start.shape}")
    if list(future // 10) != list(range(1, len(future) + 1)) or list(past % 10) != [0] * len(past):
        raise CompressError(f"the controller needs samples every 10 frames, got offsets {layout.offsets}")

    samples = start[: len(offsets) * width].reshape(len(offsets), width).astype(np.float64)
    history = -int(past[0]) if len(past) else 0
    # Per-frame history at frames -history .. 0, interpolated between the start row's samples (heading 0).
    known = offsets[: current + 1]
    hist_pos = np.stack([np.interp(np.arange(-history, 1), known, samples[: current + 1, i]) for i in (0, 1)], 1)
    hist_dir = _unit(np.stack([np.interp(np.arange(-history, 1), known, samples[: current + 1, i]) for i in (2, 3)],
                              1), np.array([0.0, 1.0]))
    hist_style = np.stack([np.interp(np.arange(-history, 1), known, samples[: current + 1, _SAMPLE_IN + i])
                           for i in range(styles)], 1)
    fut_pos = samples[current + 1 :, 0:2].copy()
    fut_dir = _unit(samples[current + 1 :, 2:4].copy(), np.array([0.0, 1.0]))
    fut_vel = samples[current + 1 :, 4:6].copy()
    fut_style = samples[current + 1 :, _SAMPLE_IN:].copy()
    cur_style = samples[current, _SAMPLE_IN:].copy()
    posture = start[len(offsets) * width :].astype(np.float64).reshape(points, _POINT)

    n_future = len(future)
    ramp = np.arange(1, n_future + 1) / n_future
    w_pos = (1.0 - (1.0 - ramp) ** config.position_bias)[:, None]
    w_dir = (1.0 - (1.0 - ramp) ** config.direction_bias)[:, None]

    origin, heading = np.zeros(2), 0.0
    positions = np.zeros((frames + 1, points, 3))
    roots = np.zeros((frames + 1, 3))
    headings = np.zeros(frames + 1)
    omegas = np.zeros((frames, model.config.experts))
    positions[0] = _posture_world(posture, origin, heading)
    model.eval()
    for t in range(frames):
        command = scenario.command(t)
        # Input of this frame, in the root frame (origin, heading).
        row = np.zeros(layout.input_dim)
        traj = row[: len(offsets) * width].reshape(len(offsets), width)
        for i, k in enumerate(past):
            f = len(hist_pos) - 1 + int(k)
            traj[i, 0:2] = _to_local(hist_pos[f] - origin, heading)
            traj[i, 2:4] = _to_local(hist_dir[f], heading)
            traj[i, 4:6] = _to_local(hist_pos[f] - hist_pos[max(f - 1, 0)], heading)
            traj[i, _SAMPLE_IN:] = hist_style[f]
        traj[current, 0:4] = (0.0, 0.0, 0.0, 1.0)
        traj[current, 4:6] = _to_local(hist_pos[-1] - hist_pos[-2], heading)
        traj[current, _SAMPLE_IN:] = cur_style
        traj[current + 1 :, 0:2] = _to_local(fut_pos - origin, heading)
        traj[current + 1 :, 2:4] = _to_local(fut_dir, heading)
        traj[current + 1 :, 4:6] = _to_local(fut_vel, heading)
        traj[current + 1 :, _SAMPLE_IN:] = fut_style
        traj[:, 6] = np.linalg.norm(traj[:, 4:6], axis=1)
        row[len(offsets) * width :] = posture.reshape(-1)

        x = torch.from_numpy(normalization.normalize_inputs(row[None].astype(np.float32)))
        with torch.no_grad():
            prediction, omega = blended_forward(model, x)
        out = normalization.denormalize_outputs(prediction.numpy())[0].astype(np.float64)
        omegas[t] = omega[0].numpy()

        dx, dtheta, dz = out[-3:]
        origin = origin + _to_world(np.array([dx, dz]), heading)
        heading = heading + float(dtheta)
        out_samples = out[: (n_future + 1) * _SAMPLE_OUT].reshape(n_future + 1, _SAMPLE_OUT)
        posture = out[(n_future + 1) * _SAMPLE_OUT : -3].reshape(points, _POINT)

        # Styles move one frame along the samples, then towards the command.
        chain = np.vstack([cur_style, fut_style])
        shifted = chain[:-1] + 0.1 * (chain[1:] - chain[:-1])
        cur_style = shifted[0]
        target_style = np.asarray(command.style, dtype=np.float64)
        fut_style = np.vstack([shifted[1:], chain[-1:]])
        fut_style = fut_style + w_pos * (target_style - fut_style)

        hist_pos = np.vstack([hist_pos[1:], origin])
        hist_dir = np.vstack([hist_dir[1:], [math.sin(heading), math.cos(heading)]])
        hist_style = np.vstack([hist_style[1:], cur_style])

        predicted_pos = origin + _to_world(out_samples[1:, 0:2], heading)
        predicted_dir = _unit(_to_world(out_samples[1:, 2:4], heading), np.array([math.sin(heading),
                                                                                  math.cos(heading)]))
        predicted_vel = _to_world(out_samples[1:, 4:6], heading)
        velocity = np.asarray(command.velocity, dtype=np.float64)
        desired_pos = origin + future[:, None] * velocity
        fut_pos = predicted_pos + w_pos * (desired_pos - predicted_pos)
        fut_vel = predicted_vel + w_pos * (velocity - predicted_vel)
        fut_dir = _unit(predicted_dir + w_dir * (np.asarray(command.facing) - predicted_dir), predicted_dir)

        positions[t + 1] = _posture_world(posture, origin, heading)
        roots[t + 1] = (origin[0], 0.0, origin[1])
        headings[t + 1] = heading
    return Rollout(positions, roots, headings, omegas, tuple(layout.points))


def _posture_world(posture: np.ndarray, origin: np.ndarray, heading: float) -> np.ndarray:
    """World positions ``(points, 3)`` of the root-frame posture rows (their first 3 values)."""
    xz = origin + _to_world(posture[:, [0, 2]], heading)
    return np.stack([xz[:, 0], posture[:, 1], xz[:, 1]], axis=1)

