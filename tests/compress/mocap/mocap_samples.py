"""Hand-written and synthetic motions with known answers, shared by the motion-capture tests."""

from __future__ import annotations

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
