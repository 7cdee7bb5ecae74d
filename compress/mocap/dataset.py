"""The MANN training set of a list of clips: features of every usable frame, optionally mirrored, with labels.

:func:`build_dataset` runs, per clip: forward kinematics, root, style labels, style values, features; then
the same for the mirrored clip (rows flagged ``mirrored``, same clip id, so a split by clip keeps both
copies on one side; a mirrored row carries the label of its original frame, since every style rule
reads heights, speeds and turning rates, which mirroring keeps). Every clip must have the same skeleton
layout and frame time as the first.

Example:
    >>> from compress.mocap.bvh import parse_bvh
    >>> text = ("HIERARCHY ROOT Hips { OFFSET 0 0 0 CHANNELS 3 Xposition Yposition Zposition }\\n"
    ...         "MOTION\\nFrames: 1\\nFrame Time: 0.0166667\\n0 0 0\\n")
    >>> check_same_skeleton([parse_bvh(text, "a.bvh"), parse_bvh(text.replace("0.0166667", "0.02"), "b.bvh")])
    Traceback (most recent call last):
    ...
    compress.mocap.errors.MocapError: b.bvh:4: frame time 0.02 s differs from a.bvh's 0.0166667 s
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from compress.mocap.bvh import BVH, Joint, read_bvh
from compress.mocap.errors import MocapError
from compress.mocap.features import FeatureLayout, MannFeatures, mann_features
from compress.mocap.kinematics import Pose, forward_kinematics
from compress.mocap.mirror import mirror_pose
from compress.mocap.npz import load_npz, save_npz
from compress.mocap.rig import Rig
from compress.mocap.root import RootTrajectory, root_trajectory
from compress.mocap.styles import StyleThresholds, label_fractions, style_labels, style_values

__all__ = [
    "DATASET_VERSION",
    "ClipSummary",
    "MannDataset",
    "build_dataset",
    "check_same_skeleton",
    "clip_name",
    "format_summaries",
    "read_clips",
]

logger = logging.getLogger(__name__)

#: Version written into every saved dataset file.
DATASET_VERSION = 1
_ROW_ARRAYS = ("inputs", "outputs", "gating", "clip_ids", "frames", "labels", "mirrored")


@dataclass(frozen=True)
class ClipSummary:
    """What one clip contributed.

    Attributes:
        name: clip name (file stem).
        frames: frames in the file.
        rows: feature rows per copy (``frames - 111`` for the dog layout; doubled when mirrored).
        fractions: fraction of the clip's frames with each style label.
    """

    name: str
    frames: int
    rows: int
    fractions: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MannDataset:
    """Rows of MANN features with their provenance.

    Attributes:
        inputs: ``(rows, input_dim)`` float32.
        outputs: ``(rows, output_dim)`` float32.
        gating: ``(rows, gating_dim)`` float32 (= ``inputs[:, gating_indices]``).
        clip_ids: ``(rows,)`` int32 index into ``clip_names``.
        frames: ``(rows,)`` int32 frame of the row within its clip.
        labels: ``(rows,)`` int8 style label of that frame.
        mirrored: ``(rows,)`` bool, whether the row comes from the mirrored clip.
        clip_names: one name per clip id.
        input_names: one name per input column.
        output_names: one name per output column.
        gating_indices: input columns that form the gating input.
    """

    inputs: np.ndarray
    outputs: np.ndarray
    gating: np.ndarray
    clip_ids: np.ndarray
    frames: np.ndarray
    labels: np.ndarray
    mirrored: np.ndarray
    clip_names: tuple[str, ...]
    input_names: tuple[str, ...]
    output_names: tuple[str, ...]
    gating_indices: tuple[int, ...]

    def __post_init__(self) -> None:
        rows = len(self.inputs)
        bad = [name for name in _ROW_ARRAYS if len(getattr(self, name)) != rows]
        if bad:
            raise MocapError(f"dataset arrays {', '.join(bad)} do not have the {rows} rows of the inputs")
        widths = (self.inputs.shape[1:], self.outputs.shape[1:], self.gating.shape[1:])
        if widths != ((len(self.input_names),), (len(self.output_names),), (len(self.gating_indices),)):
            raise MocapError(f"dataset widths {widths} do not match the column names")
        if rows and (self.clip_ids.min() < 0 or self.clip_ids.max() >= len(self.clip_names)):
            raise MocapError(f"clip ids must be in 0..{len(self.clip_names) - 1}")

    def __len__(self) -> int:
        return len(self.inputs)

    def rows_of(self, clips: Iterable[str]) -> np.ndarray:
        """Boolean mask of the rows that belong to the named clips (unknown names are an error).

        Example:
            >>> dataset = MannDataset(np.zeros((3, 1)), np.zeros((3, 1)), np.zeros((3, 0)), np.array([0, 1, 1]),
            ...                       np.zeros(3), np.zeros(3), np.zeros(3, bool), ("a", "b"), ("x",), ("y",), ())
            >>> dataset.rows_of(["b"]).tolist()
            [False, True, True]
        """
        wanted = list(clips)
        unknown = [name for name in wanted if name not in self.clip_names]
        if unknown:
            raise MocapError(f"no clips named {', '.join(unknown)} in the dataset")
        ids = [self.clip_names.index(name) for name in wanted]
        return np.isin(self.clip_ids, ids)

    def select(self, mask: np.ndarray) -> MannDataset:
        """The rows where ``mask`` is true (clip names and columns unchanged)."""
        arrays = {name: getattr(self, name)[mask] for name in _ROW_ARRAYS}
        return MannDataset(**arrays, clip_names=self.clip_names, input_names=self.input_names,
                           output_names=self.output_names, gating_indices=self.gating_indices)

    def save(self, path: str | Path) -> None:
        """Write the dataset as one uncompressed ``.npz`` of plain arrays (names as unicode arrays)."""
        save_npz(
            path,
            version=np.int64(DATASET_VERSION),
            clip_names=np.array(self.clip_names, dtype=str),
            input_names=np.array(self.input_names, dtype=str),
            output_names=np.array(self.output_names, dtype=str),
            gating_indices=np.array(self.gating_indices, dtype=np.int64),
            **{name: getattr(self, name) for name in _ROW_ARRAYS},
        )

    @classmethod
    def load(cls, path: str | Path) -> MannDataset:
        """Read a dataset written by :meth:`save` (no unpickling); errors name the file.

        Example:
            >>> import os, tempfile
            >>> dataset = MannDataset(np.ones((2, 1), np.float32), np.ones((2, 1), np.float32),
            ...                       np.ones((2, 1), np.float32), np.zeros(2, np.int32), np.arange(2),
            ...                       np.zeros(2, np.int8), np.zeros(2, bool), ("a",), ("x",), ("y",), (0,))
            >>> path = os.path.join(tempfile.mkdtemp(), "d.npz")
            >>> dataset.save(path)
            >>> MannDataset.load(path).clip_names
            ('a',)
        """
        arrays = load_npz(path, ("version", "clip_names", "input_names", "output_names", "gating_indices")
                          + _ROW_ARRAYS)
        if int(arrays["version"]) != DATASET_VERSION:
            raise MocapError(f"{path}: dataset version {int(arrays['version'])} is not {DATASET_VERSION}")
        try:
            return cls(
                **{name: arrays[name] for name in _ROW_ARRAYS},
                clip_names=tuple(str(n) for n in arrays["clip_names"]),
                input_names=tuple(str(n) for n in arrays["input_names"]),
                output_names=tuple(str(n) for n in arrays["output_names"]),
                gating_indices=tuple(int(i) for i in arrays["gating_indices"]),
            )
        except MocapError as exc:
            raise MocapError(f"{path}: {exc}") from None


def clip_name(bvh: BVH) -> str:
    """The clip's name: the stem of its source file (``D1_001_KAN01_001``).

    Example:
        >>> from compress.mocap.bvh import Skeleton
        >>> clip_name(BVH(Skeleton(()), 0.1, np.zeros((0, 0)), "data/D1_001_KAN01_001.bvh"))
        'D1_001_KAN01_001'
    """
    return Path(bvh.source).stem


def read_clips(paths: Iterable[str | Path]) -> list[BVH]:
    """Read BVH files and check they share one skeleton layout and frame time (:func:`check_same_skeleton`).

    Example:
        >>> read_clips([])
        []
    """
    clips = [read_bvh(path) for path in paths]
    check_same_skeleton(clips)
    return clips


def check_same_skeleton(clips: Sequence[BVH]) -> None:
    """Raise a one-line :class:`MocapError` at the first clip whose skeleton or frame time differs from the first's.

    The error names the differing file and the line of the first differing joint (or of ``Frame Time:``).
    Offsets may differ; names, parents, channels and end sites may not; clip names must be distinct.
    """
    if not clips:
        return
    reference = clips[0]
    seen: dict[str, str] = {}
    for clip in clips:
        name = clip_name(clip)
        if name in seen:
            raise MocapError(f"{clip.source}: clip name {name!r} repeats {seen[name]}")
        seen[name] = clip.source
        index = reference.skeleton.first_difference(clip.skeleton)
        if index is not None:
            ours, theirs = clip.skeleton.joints, reference.skeleton.joints
            if index < len(ours):
                found = _describe(ours[index], clip.skeleton.joints)
                line = ours[index].line
            else:
                found = f"the hierarchy ends after {len(ours)} joints"
                line = max(clip.frames_line - 1, 0)
            expected = _describe(theirs[index], theirs) if index < len(theirs) else f"only {len(theirs)} joints"
            where = f"{clip.source}:{line}" if line else clip.source
            raise MocapError(f"{where}: skeleton differs from {reference.source}: joint {index} is {found}, "
                             f"expected {expected}")
        if not np.isclose(clip.frame_time, reference.frame_time, rtol=1e-6, atol=0):
            line = clip.frames_line + 1 if clip.frames_line else 0
            where = f"{clip.source}:{line}" if line else clip.source
            raise MocapError(f"{where}: frame time {clip.frame_time:g} s differs from {reference.source}'s "
                             f"{reference.frame_time:g} s")


def _describe(joint: Joint, joints: tuple[Joint, ...]) -> str:
    parent = joints[joint.parent].name if joint.parent >= 0 else "none"
    kind = "end site" if joint.end_site else f"channels {' '.join(joint.channels) or 'none'}"
    return f"{joint.name!r} (parent {parent}, {kind})"


def build_dataset(clips: Sequence[BVH], *, mirror: bool = True, rig: Rig | None = None,
                  thresholds: StyleThresholds | None = None, facing_sigma: float = 10.0,
                  style_sigma: float = 5.0) -> tuple[MannDataset, list[ClipSummary]]:
    """Features, labels and provenance of every usable frame of ``clips`` (and of their mirror images).

    Args:
        clips: parsed clips with one skeleton layout (checked).
        mirror: also add every clip mirrored left to right.
        rig: names of hips, flanks, chest and paws; the dog capture's by default.
        thresholds: style rule thresholds.
        facing_sigma: Gaussian smoothing of the facing direction, frames.
        style_sigma: Gaussian smoothing of the one-hot style values, frames.

    Returns:
        The :class:`MannDataset` (rows clip by clip, each clip's mirrored rows after its own) and one
        :class:`ClipSummary` per clip.
    """
    check_same_skeleton(clips)
    if not clips:
        raise MocapError("no clips to build a dataset from")
    rig = rig or Rig()
    layout = FeatureLayout(clips[0].skeleton.names)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _ROW_ARRAYS}
    summaries = []
    for clip_id, clip in enumerate(clips):
        pose = forward_kinematics(clip)
        root = root_trajectory(pose, rig, facing_sigma)
        labels = style_labels(pose, root, rig, thresholds)
        values = style_values(labels, style_sigma)
        copies = [(False, _features(pose, values, rig, layout, facing_sigma, root))]
        if mirror:
            mirrored = mirror_pose(pose)
            copies.append((True, _features(mirrored, values, rig, layout, facing_sigma)))
        for flag, features in copies:
            rows = len(features.frames)
            parts["inputs"].append(features.inputs)
            parts["outputs"].append(features.outputs)
            parts["gating"].append(features.gating)
            parts["clip_ids"].append(np.full(rows, clip_id, np.int32))
            parts["frames"].append(features.frames.astype(np.int32))
            parts["labels"].append(labels[features.frames].astype(np.int8))
            parts["mirrored"].append(np.full(rows, flag))
        summary = ClipSummary(clip_name(clip), clip.num_frames, len(copies[0][1].frames), label_fractions(labels))
        summaries.append(summary)
        logger.info("%s: %d frames, %d rows per copy", summary.name, summary.frames, summary.rows)
    dataset = MannDataset(
        **{name: np.concatenate(arrays) for name, arrays in parts.items()},
        clip_names=tuple(s.name for s in summaries),
        input_names=layout.input_names(),
        output_names=layout.output_names(),
        gating_indices=layout.gating_indices(rig.paws),
    )
    return dataset, summaries


def format_summaries(summaries: Sequence[ClipSummary], validation: Iterable[str] = ()) -> str:
    """A text table: one line per clip with its frames, rows, split and style fractions in percent, then totals.

    Example:
        >>> print(format_summaries([ClipSummary("walk", 300, 189, {"idle": 0.25, "move": 0.75})], ["walk"]))
        clip                    frames   rows split  idle  move
        walk                       300    189 val      25    75
        all (1 clips)              300    189        25.0  75.0
    """
    held = set(validation)
    styles = list(dict.fromkeys(k for s in summaries for k in s.fractions))
    head = f"{'clip':<22}{'frames':>8}{'rows':>7} split" + "".join(f"{name:>6}" for name in styles)
    lines = [head]
    for s in summaries:
        part = "val" if s.name in held else "train"
        lines.append(f"{s.name:<22}{s.frames:>8}{s.rows:>7} {part:<5}"
                     + "".join(f"{100 * s.fractions.get(name, 0.0):>6.0f}" for name in styles))
    frames = sum(s.frames for s in summaries)
    weights = [sum(s.frames * s.fractions.get(name, 0.0) for s in summaries) / max(frames, 1) for name in styles]
    lines.append(f"{f'all ({len(summaries)} clips)':<22}{frames:>8}{sum(s.rows for s in summaries):>7}      "
                 + "".join(f"{100 * w:>6.1f}" for w in weights))
    return "\n".join(lines)


def _features(pose: Pose, values: np.ndarray, rig: Rig, layout: FeatureLayout, sigma: float,
              root: RootTrajectory | None = None) -> MannFeatures:
    """Features of ``pose``, computing its root unless given."""
    trajectory = root if root is not None else root_trajectory(pose, rig, sigma)
    return mann_features(pose, trajectory, values, rig, layout)
