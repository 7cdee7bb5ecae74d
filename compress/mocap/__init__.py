"""Motion capture for the MANN quadruped (numpy only): BVH files to MANN training features.

Pipeline: :func:`read_bvh` -> :func:`forward_kinematics` (global positions and rotations of the 21 joints
and 6 end sites, cm, Y up) -> :func:`root_trajectory` -> :func:`style_labels` -> :func:`mann_features`,
optionally after :func:`mirror_pose`.

Definitions (details in each module):

* **root**: the hips projected on the ground, ``(hips_x, 0, hips_z)``, unsmoothed;
* **facing**: horizontal, from the flanks (``(left - right) × up`` over shoulders and hips) plus the
  hips-to-neck direction, each weighted by how horizontal it is, Gaussian-smoothed (σ = 10 frames);
  the root frame has +z along the facing, +y up, +x to the character's left;
* **velocities**: backward differences ``p_t - p_{t-1}`` in **cm per frame** (60 fps), rotated into
  the root frame of the current frame; speed is the norm of the root velocity; the root update's
  ``dθ`` is in radians per frame;
* **features**: input 480 = 12 trajectory samples at frames ``t-60 .. t+50`` step 10 × 13 values +
  27 points × 12; output 363 = 6 samples ``t+1 .. t+51`` step 10 (in the root frame of ``t+1``) × 6 +
  27 × 12 (frame ``t+1``) + ``(dx, dθ, dz)``; gating 19 = 4 paw-tip velocities + speed + 6 styles;
* **styles** (idle, move, jump, sit, stand, lie): rules on heights above the local ground, paw
  clearance and speed, in :mod:`compress.mocap.styles`;
* **dataset**: :func:`build_dataset` (every clip and its mirror image), :func:`split_clips` (by clip,
  seeded), :func:`fit_normalization` on the training rows only, all saved as plain ``.npz``.

Example:
    >>> from compress.mocap import forward_kinematics, parse_bvh
    >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Yrotation End Site { OFFSET 1 0 0 } }\\n"
    ...                 "MOTION\\nFrames: 1\\nFrame Time: 0.0166667\\n90\\n")
    >>> forward_kinematics(bvh).positions[0, 1].round(6).tolist()
    [0.0, 0.0, -1.0]
"""

from compress.mocap.bvh import BVH, CHANNEL_NAMES, Joint, Skeleton, format_bvh, parse_bvh, read_bvh, write_bvh
from compress.mocap.dataset import (
    DATASET_VERSION,
    ClipSummary,
    MannDataset,
    build_dataset,
    check_same_skeleton,
    clip_name,
    format_summaries,
    read_clips,
)
from compress.mocap.errors import MocapError
from compress.mocap.features import TRAJECTORY_OFFSETS, FeatureLayout, MannFeatures, mann_features
from compress.mocap.filters import gaussian_kernel, gaussian_smooth
from compress.mocap.kinematics import Pose, axis_rotation, euler_to_matrix, forward_kinematics
from compress.mocap.mirror import lateral_axis, mirror_name, mirror_pairs, mirror_pose
from compress.mocap.normalization import NORMALIZATION_VERSION, Normalization, fit_normalization
from compress.mocap.npz import load_npz, save_npz
from compress.mocap.rig import Rig, RigIndices
from compress.mocap.root import RootTrajectory, root_trajectory, to_root_frame, wrap_angle
from compress.mocap.split import ClipSplit, split_clips
from compress.mocap.styles import (
    STYLES,
    StyleSignals,
    StyleThresholds,
    label_fractions,
    merge_short_runs,
    style_labels,
    style_signals,
    style_values,
)

__all__ = [
    "BVH",
    "CHANNEL_NAMES",
    "ClipSplit",
    "ClipSummary",
    "DATASET_VERSION",
    "FeatureLayout",
    "Joint",
    "MannDataset",
    "MannFeatures",
    "MocapError",
    "NORMALIZATION_VERSION",
    "Normalization",
    "Pose",
    "Rig",
    "RigIndices",
    "RootTrajectory",
    "STYLES",
    "Skeleton",
    "StyleSignals",
    "StyleThresholds",
    "TRAJECTORY_OFFSETS",
    "axis_rotation",
    "build_dataset",
    "check_same_skeleton",
    "clip_name",
    "euler_to_matrix",
    "fit_normalization",
    "format_bvh",
    "format_summaries",
    "forward_kinematics",
    "gaussian_kernel",
    "gaussian_smooth",
    "label_fractions",
    "lateral_axis",
    "load_npz",
    "mann_features",
    "merge_short_runs",
    "mirror_name",
    "mirror_pairs",
    "mirror_pose",
    "parse_bvh",
    "read_bvh",
    "read_clips",
    "root_trajectory",
    "save_npz",
    "split_clips",
    "style_labels",
    "style_signals",
    "style_values",
    "to_root_frame",
    "wrap_angle",
    "write_bvh",
]
