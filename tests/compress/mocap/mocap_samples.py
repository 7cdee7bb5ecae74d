"""Hand-written and synthetic motions with known answers, shared by the motion-capture tests."""

from __future__ import annotations

import numpy as np

from compress.mocap.bvh import BVH, parse_bvh

# Root (translated and rotated by its channels) -> Child 10 cm along the root's x -> end site 5 cm further.
TINY_BVH = """HIERARCHY
ROOT Root
{
  OFFSET 100 200 300
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Child
  {
    OFFSET 10 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 5 0 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0166667
1 2 3 0 0 0 0 0 0
1 2 3 0 0 90 0 0 0
1 2 3 0 0 90 90 0 0
"""

# A left/right symmetric dog-like skeleton with the capture's joint names (21 joints + 6 end sites) and
# invented proportions: head along +x, left along -z, hips 35 cm up with paws on the floor at rest.
_CHAIN = "CHANNELS 3 Zrotation Xrotation Yrotation"


def _leg(side: str, names: tuple[str, ...], offsets: tuple[str, ...], indent: str) -> str:
    text, closing = "", ""
    for depth, (name, offset) in enumerate(zip(names, offsets[:-1], strict=True)):
        pad = indent + "  " * depth
        text += f"{pad}JOINT {side}{name}\n{pad}{{\n{pad}  OFFSET {offset}\n{pad}  {_CHAIN}\n"
        closing = f"{pad}}}\n" + closing
    pad = indent + "  " * len(names)
    return text + f"{pad}End Site\n{pad}{{\n{pad}  OFFSET {offsets[-1]}\n{pad}}}\n" + closing


def _dog_hierarchy() -> str:
    arm = ("Shoulder", "Arm", "ForeArm", "Hand")
    leg = ("UpLeg", "Leg", "Foot")
    arm_left = ("5 0 -5", "0 -10 0", "0 -10 0", "0 -10 0", "0 -5 0")
    leg_left = ("0 0 -5", "0 -15 0", "0 -15 0", "0 -5 0")
    flip = {"-5": "5"}

    def right(offsets: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(" ".join(flip.get(v, v) if i == 2 else v for i, v in enumerate(o.split())) for o in offsets)

    return (
        "HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0 0\n"
        "  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation\n"
        "  JOINT Spine\n  {\n    OFFSET 10 0 0\n    " + _CHAIN + "\n"
        "    JOINT Spine1\n    {\n      OFFSET 10 0 0\n      " + _CHAIN + "\n"
        "      JOINT Neck\n      {\n        OFFSET 10 5 0\n        " + _CHAIN + "\n"
        "        JOINT Head\n        {\n          OFFSET 8 2 0\n          " + _CHAIN + "\n"
        "          End Site\n          {\n            OFFSET 6 0 0\n          }\n        }\n      }\n"
        + _leg("Left", arm, arm_left, "      ") + _leg("Right", arm, right(arm_left), "      ")
        + "    }\n  }\n"
        + _leg("Left", leg, leg_left, "  ") + _leg("Right", leg, right(leg_left), "  ")
        + _leg("", ("Tail", "Tail1"), ("-5 0 0", "-10 0 0", "-10 0 0"), "  ")
        + "}\n"
    )


DOG_HIERARCHY = _dog_hierarchy()


def synthetic_dog(root_xz: np.ndarray, yaw_degrees: np.ndarray, height: float | np.ndarray = 35.0,
                  joint_angles: np.ndarray | None = None) -> BVH:
    """The synthetic dog moving its root along ``root_xz`` (frames, 2) with yaw ``yaw_degrees`` (frames,).

    With zero joint angles the dog stands with all four paws on the floor; its facing direction is
    ``(cos yaw, 0, -sin yaw)`` (the head's +x turned about +y).
    """
    skeleton = parse_bvh(DOG_HIERARCHY + "MOTION\nFrames: 0\nFrame Time: 0.0166667\n").skeleton
    frames = len(root_xz)
    values = np.zeros((frames, skeleton.num_channels))
    if joint_angles is not None:
        values[:, 6:] = joint_angles
    values[:, 0] = root_xz[:, 0]
    values[:, 1] = height
    values[:, 2] = root_xz[:, 1]
    values[:, 5] = yaw_degrees
    return BVH(skeleton, 0.0166667, values, "synthetic.bvh")
