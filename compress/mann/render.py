"""Skeleton pictures of MANN rollouts: a PNG strip of poses over time and an animated GIF, one or more models.

Each model gets two views of every pose:

* **side**: the dog seen from its left, in its own root frame (facing to the right, the root at 0), so the
  gait stays readable while it turns; the ground (y = 0) is a line;
* **top**: seen from above, in the world, centred on the root, with the root's path so far.

Bones join every point to its parent (``parents``, e.g. from :func:`skeleton_parents`); the four paw tips
are marked, filled while in ground contact (height under :data:`compress.mann.skating.CONTACT_HEIGHT`),
hollow otherwise. Several rollouts (the same scripted scenario run by different models) are drawn side by
side, one column of views each.

The figures are drawn with matplotlib's object API on an Agg canvas (no pyplot, no global backend
change) and written by pillow, so the same rollouts give the same bytes with the same library
versions. Both are the optional ``plots`` extra and are imported only when a picture is drawn.

Example:
    >>> import numpy as np
    >>> sample_frames(301, 4)
    [0, 100, 200, 300]
    >>> side_view(np.array([[[1.0, 2.0, 3.0]]]), np.zeros((1, 3)), np.zeros(1)).tolist()
    [[[3.0, 2.0]]]
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from compress.errors import CompressError
from compress.mann.controller import Rollout
from compress.mann.skating import CONTACT_HEIGHT
from compress.mocap import Rig

__all__ = ["PLOTS_MISSING", "gif_frame_count", "render_gif", "render_strip", "sample_frames", "side_view",
           "skeleton_parents", "top_view"]

#: The one-line error raised when the optional plotting packages are missing.
PLOTS_MISSING = "rendering needs matplotlib and pillow: pip install 'dualsparse[plots]'"

_PAW_COLORS = ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c")  # front left, front right, hind left, hind right
_BONE_COLOR = "#333333"
_GROUND_COLOR = "#8c6d31"
_FPS = 60


def _plotting() -> tuple[Any, Any, Any]:
    """``(Figure, FigureCanvasAgg, PIL.Image)``, or a one-line :class:`CompressError` when missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from PIL import Image
    except ImportError:
        raise CompressError(PLOTS_MISSING) from None
    return Figure, FigureCanvasAgg, Image


def skeleton_parents(names: Sequence[str], skeleton_names: Sequence[str],
                     skeleton_parents_: Sequence[int]) -> tuple[int, ...]:
    """Parent of each of ``names`` as an index into ``names`` (-1: none), from a skeleton's own table.

    Args:
        names: the rollout's point names.
        skeleton_names: the skeleton's joint and end-site names (e.g. ``BVH.skeleton.names``).
        skeleton_parents_: their parents (``BVH.skeleton.parents``, -1 for the root).

    Example:
        >>> skeleton_parents(("Hips", "Neck", "Head"), ("Hips", "Spine", "Neck", "Head"), (-1, 0, 1, 2))
        (-1, 0, 1)
    """
    position = {name: i for i, name in enumerate(skeleton_names)}
    missing = [n for n in names if n not in position]
    if missing:
        raise CompressError(f"skeleton lacks the rollout's points {', '.join(missing)}")
    wanted = {name: i for i, name in enumerate(names)}
    parents = []
    for name in names:
        parent = skeleton_parents_[position[name]]
        while parent >= 0 and skeleton_names[parent] not in wanted:  # skip joints the rollout does not have
            parent = skeleton_parents_[parent]
        parents.append(wanted[skeleton_names[parent]] if parent >= 0 else -1)
    return tuple(parents)


def sample_frames(total: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``0 .. total - 1``, first and last included.

    Example:
        >>> sample_frames(10, 3)
        [0, 4, 9]
    """
    if total < 1 or count < 1:
        raise CompressError(f"need at least one frame and one sample, got {total} frames, {count} samples")
    if count == 1 or total == 1:
        return [0]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def gif_frame_count(total: int, every: int) -> int:
    """GIF frames for ``total`` rollout frames drawing every ``every``-th (the first always).

    Example:
        >>> gif_frame_count(301, 2)
        151
    """
    return len(range(0, total, every))


def side_view(positions: np.ndarray, root: np.ndarray, headings: np.ndarray) -> np.ndarray:
    """``(frames, points, 2)``: (forward, height) of each point in its frame's root frame.

    Example:
        >>> side_view(np.array([[[1.0, 5.0, 0.0]]]), np.zeros((1, 3)), np.array([np.pi / 2])).round(6).tolist()
        [[[1.0, 5.0]]]
    """
    rel = positions - root[:, None, :]
    s, c = np.sin(headings)[:, None], np.cos(headings)[:, None]
    forward = s * rel[..., 0] + c * rel[..., 2]  # the facing is (sin h, cos h) in (x, z)
    return np.stack([forward, positions[..., 1]], axis=-1)


def top_view(positions: np.ndarray, root: np.ndarray) -> np.ndarray:
    """``(frames, points, 2)``: world (x, z) of each point relative to its frame's root.

    Example:
        >>> top_view(np.array([[[1.0, 5.0, 2.0]]]), np.array([[1.0, 0.0, 1.0]])).tolist()
        [[[0.0, 1.0]]]
    """
    rel = positions - root[:, None, :]
    return np.stack([rel[..., 0], rel[..., 2]], axis=-1)


class _Canvas:
    """A figure with a side and a top panel per rollout; :meth:`draw` poses a frame, :meth:`image` grabs it."""

    def __init__(self, rollouts: Sequence[Rollout], parents: Sequence[int] | None, labels: Sequence[str],
                 paws: Sequence[str], columns: int, dpi: int, panel: float) -> None:
        figure_cls, canvas_cls, self._image = _plotting()
        from matplotlib.collections import LineCollection

        self.rollouts = rollouts
        self.columns = columns
        self.bones = [(i, p) for i, p in enumerate(parents or ()) if p >= 0]
        if any(r.names != rollouts[0].names for r in rollouts):
            raise CompressError("rollouts to draw side by side must have the same points")
        missing = [p for p in paws if p not in rollouts[0].names]
        if missing:
            raise CompressError(f"no points named {', '.join(missing)} in the rollout")
        if parents is not None and len(parents) != len(rollouts[0].names):
            raise CompressError(f"{len(parents)} parents for {len(rollouts[0].names)} points")
        self.paw_index = [rollouts[0].names.index(p) for p in paws]
        self.side = [side_view(r.positions, r.root, r.headings) for r in rollouts]
        self.top = [top_view(r.positions, r.root) for r in rollouts]
        height = max(float(np.percentile(r.positions[..., 1], 99.5)) for r in rollouts)
        reach = max(float(np.percentile(np.abs(v), 99.5)) for v in self.side + self.top)
        self.reach = max(reach * 1.15, 10.0)
        self.height = max(height * 1.15, 10.0)
        models = len(rollouts)
        # a strip (columns > 1): two rows (side, top) per model; an animation: one column per model
        rows, cols = (2 * models, columns) if columns > 1 else (2, models)
        ratios = (self.height, 2 * self.reach) * (rows // 2)
        width = panel * cols
        height = panel * sum(ratios) / (2 * self.reach) + 0.25 * (rows // 2)
        self.figure = figure_cls(figsize=(width, height), dpi=dpi)
        self.canvas = canvas_cls(self.figure)
        grid = self.figure.add_gridspec(rows, cols, height_ratios=ratios, left=0.03, right=0.99, top=0.94,
                                        bottom=0.01, wspace=0.05, hspace=0.15)
        self.panels = []
        for m, label in enumerate(labels):
            for c in range(columns):
                side_cell, top_cell = ((grid[2 * m, c], grid[2 * m + 1, c]) if columns > 1
                                       else (grid[0, m], grid[1, m]))
                side = self.figure.add_subplot(side_cell)
                top = self.figure.add_subplot(top_cell)
                side.set_xlim(-self.reach, self.reach)
                side.set_ylim(-0.05 * self.height, self.height)
                side.axhline(0.0, color=_GROUND_COLOR, lw=1.2)
                top.set_xlim(-self.reach, self.reach)
                top.set_ylim(self.reach, -self.reach)  # looking down +y: x to the right, z towards the bottom
                for ax in (side, top):
                    ax.set_aspect("equal")
                    ax.set_xticks([])
                    ax.set_yticks([])
                if c == 0 and columns > 1:
                    side.set_ylabel(label, fontsize=8)
                trail = top.plot([], [], color="#bbbbbb", lw=0.8)[0]
                views = []
                for ax in (side, top):
                    bones = LineCollection([], colors=_BONE_COLOR, linewidths=1.4)
                    ax.add_collection(bones)
                    marks = ax.scatter(np.zeros(len(self.paw_index)), np.zeros(len(self.paw_index)), s=18,
                                       c=list(_PAW_COLORS[: len(self.paw_index)]), zorder=3, linewidths=1.0)
                    views.append((bones, marks))
                title = side.set_title("", fontsize=8)
                self.panels.append((m, c, views, trail, title))
        self.label = labels

    def draw(self, frames: Sequence[int]) -> None:
        """Pose panel ``c`` of every model at ``frames[c]`` (one frame per column)."""
        for m, c, views, trail, title in self.panels:
            rollout = self.rollouts[m]
            t = min(frames[c], len(rollout.positions) - 1)
            contact = rollout.positions[t, self.paw_index, 1] < CONTACT_HEIGHT
            for (bones, marks), coords in zip(views, (self.side[m][t], self.top[m][t]), strict=True):
                bones.set_segments([coords[[i, p]] for i, p in self.bones])
                marks.set_offsets(coords[self.paw_index])
                faces = [col if on else "white" for col, on in zip(_PAW_COLORS, contact, strict=False)]
                marks.set_facecolors(faces)
                marks.set_edgecolors(list(_PAW_COLORS[: len(self.paw_index)]))
            path = rollout.root[: t + 1, [0, 2]] - rollout.root[t, [0, 2]]
            trail.set_data(path[:, 0], path[:, 1])
            if self.columns == 1:
                title.set_text(f"{self.label[m]}  frame {t} ({t / _FPS:.2f} s)")
            elif m == 0:  # a strip: the times above the first model's row, the names at the rows' left
                title.set_text(f"frame {t} ({t / _FPS:.2f} s)")

    def image(self) -> Any:
        """The current drawing as an RGB pillow image."""
        self.canvas.draw()
        rgba = np.asarray(self.canvas.buffer_rgba())
        return self._image.fromarray(rgba[..., :3].copy())


def _check(rollouts: Rollout | Sequence[Rollout], labels: Sequence[str] | None) -> tuple[list[Rollout], list[str]]:
    items = [rollouts] if isinstance(rollouts, Rollout) else list(rollouts)
    if not items:
        raise CompressError("nothing to render: no rollouts given")
    names = list(labels) if labels is not None else [f"model {i + 1}" for i in range(len(items))]
    if len(names) != len(items):
        raise CompressError(f"{len(items)} rollouts but {len(names)} labels")
    for r in items:
        if r.positions.ndim != 3 or r.positions.shape[2] != 3 or len(r.positions) < 1:
            raise CompressError(f"a rollout needs (frames, points, 3) positions, got {r.positions.shape}")
    return items, names


def render_strip(path: str | Path, rollouts: Rollout | Sequence[Rollout], parents: Sequence[int] | None, *,
                 labels: Sequence[str] | None = None, samples: int = 8, paws: Sequence[str] = Rig().paws,
                 dpi: int = 80, panel: float = 1.6) -> tuple[int, int]:
    """Write a PNG: per model, a row of ``samples`` poses spread over the rollout, side view above top view.

    Args:
        path: the ``.png`` to write.
        rollouts: one rollout, or several to draw side by side (e.g. one scenario run by two models).
        parents: parent index of every point (-1 for none), as :func:`skeleton_parents` gives; None: no bones.
        labels: a name per rollout.
        samples: poses per model (frames evenly spread, first and last included).
        paws: names of the paw tips to mark.
        dpi: pixels per inch; ``panel``: inches per panel.

    Returns:
        The image's ``(width, height)`` in pixels.

    Example:
        >>> import os, tempfile  # doctest: +SKIP
        >>> render_strip(os.path.join(tempfile.mkdtemp(), "s.png"), motion, parents, samples=6)  # doctest: +SKIP
        (768, 198)
    """
    items, names = _check(rollouts, labels)
    frames = sample_frames(min(len(r.positions) for r in items), samples)
    canvas = _Canvas(items, parents, names, paws, len(frames), dpi, panel)
    canvas.draw(frames)
    image = canvas.image()
    _save(image, path, "PNG")
    return image.size


def render_gif(path: str | Path, rollouts: Rollout | Sequence[Rollout], parents: Sequence[int] | None, *,
               labels: Sequence[str] | None = None, every: int = 2, paws: Sequence[str] = Rig().paws,
               dpi: int = 80, panel: float = 2.4, colors: int = 32) -> int:
    """Write an animated GIF of the rollouts side by side (side view above top view), played at 60 fps.

    Args:
        path: the ``.gif`` to write.
        rollouts: one rollout or several (drawn side by side; the shortest sets the length).
        parents: parent index of every point (-1 for none); None: no bones.
        labels: a name per rollout (in each panel's title).
        every: draw every ``every``-th frame (each shown ``every / 60`` s).
        paws: names of the paw tips to mark.
        dpi: pixels per inch; ``panel``: inches per panel; ``colors``: palette size.

    Returns:
        The number of GIF frames (:func:`gif_frame_count`).

    Example:
        >>> render_gif("walk.gif", [dense, pruned], parents, labels=["dense", "90 %"])  # doctest: +SKIP
        151
    """
    if every < 1:
        raise CompressError(f"every must be >= 1, got {every}")
    items, names = _check(rollouts, labels)
    total = min(len(r.positions) for r in items)
    canvas = _Canvas(items, parents, names, paws, 1, dpi, panel)
    image_cls = canvas._image
    frames = []
    palette = None
    for t in range(0, total, every):
        canvas.draw([t])
        rgb = canvas.image()
        if palette is None:  # one palette for the whole animation, from the first frame (few colours are drawn)
            palette = rgb.quantize(colors=colors, method=image_cls.Quantize.MEDIANCUT, dither=image_cls.Dither.NONE)
        frames.append(rgb.quantize(palette=palette, dither=image_cls.Dither.NONE))
    duration = max(10, round(1000 * every / _FPS / 10) * 10)  # GIF delays are in hundredths of a second
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0,
                   optimize=False, disposal=1)
    _write(path, buffer.getvalue())
    return len(frames)


def _save(image: Any, path: str | Path, kind: str) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format=kind, optimize=False)
    _write(path, buffer.getvalue())


def _write(path: str | Path, data: bytes) -> None:
    from compress.atomic import atomic_output

    with atomic_output(path) as tmp:
        Path(tmp).write_bytes(data)
