"""Motion capture for the MANN quadruped: BVH reading and forward kinematics (numpy only).

Example:
    >>> from compress.mocap import forward_kinematics, parse_bvh
    >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Yrotation End Site { OFFSET 1 0 0 } }\\n"
    ...                 "MOTION\\nFrames: 1\\nFrame Time: 0.0166667\\n90\\n")
    >>> forward_kinematics(bvh).positions[0, 1].round(6).tolist()
    [0.0, 0.0, -1.0]
"""

from compress.mocap.bvh import BVH, CHANNEL_NAMES, Joint, Skeleton, format_bvh, parse_bvh, read_bvh, write_bvh
from compress.mocap.errors import MocapError
from compress.mocap.kinematics import Pose, axis_rotation, euler_to_matrix, forward_kinematics

__all__ = [
    "BVH",
    "CHANNEL_NAMES",
    "Joint",
    "MocapError",
    "Pose",
    "Skeleton",
    "axis_rotation",
    "euler_to_matrix",
    "format_bvh",
    "forward_kinematics",
    "parse_bvh",
    "read_bvh",
    "write_bvh",
]
