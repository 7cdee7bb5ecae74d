"""Which joints of a quadruped skeleton play which part: hips, flanks, chest, paws.

The defaults are the names of the MANN dog capture (Hips, LeftShoulder/RightShoulder,
LeftUpLeg/RightUpLeg, Neck, and the end sites under the hands and feet as paw tips); another skeleton
can be described with other names.

Example:
    >>> Rig().paws
    ('LeftHandSite', 'RightHandSite', 'LeftFootSite', 'RightFootSite')
"""

from __future__ import annotations

from dataclasses import dataclass

from compress.mocap.errors import MocapError

__all__ = ["Rig", "RigIndices"]


@dataclass(frozen=True)
class Rig:
    """Named body parts used by the root, feature and style computations.

    Attributes:
        hips: the joint whose ground projection is the root.
        left: joints on the left flank (front first), paired in order with ``right``; the horizontal
            vector from the right to the left ones gives the facing direction.
        right: the matching joints on the right flank.
        chest: a joint at the front of the trunk: hips-to-chest is the spine direction, and the chest's
            height separates sitting from lying.
        paws: the four paw tips, front left, front right, hind left, hind right.
    """

    hips: str = "Hips"
    left: tuple[str, ...] = ("LeftShoulder", "LeftUpLeg")
    right: tuple[str, ...] = ("RightShoulder", "RightUpLeg")
    chest: str = "Neck"
    paws: tuple[str, str, str, str] = ("LeftHandSite", "RightHandSite", "LeftFootSite", "RightFootSite")

    def __post_init__(self) -> None:
        if len(self.left) != len(self.right) or not self.left:
            raise MocapError(f"rig needs as many left as right joints (at least one), got {self.left} / {self.right}")
        if len(self.paws) != 4:
            raise MocapError(f"rig needs 4 paws (front left, front right, hind left, hind right), got {self.paws}")

    def resolve(self, names: tuple[str, ...]) -> RigIndices:
        """Positions of the rig's parts within ``names``; a one-line :class:`MocapError` names any missing joint.

        Example:
            >>> Rig(left=("L",), right=("R",), chest="C", paws=("a", "b", "c", "d")).resolve(
            ...     ("Hips", "L", "R", "C", "a", "b", "c", "d")).paws
            (4, 5, 6, 7)
        """
        wanted = (self.hips, *self.left, *self.right, self.chest, *self.paws)
        missing = [name for name in wanted if name not in names]
        if missing:
            raise MocapError(f"skeleton lacks the rig's joints {', '.join(missing)} (it has {', '.join(names)})")
        return RigIndices(
            hips=names.index(self.hips),
            left=tuple(names.index(n) for n in self.left),
            right=tuple(names.index(n) for n in self.right),
            chest=names.index(self.chest),
            paws=tuple(names.index(n) for n in self.paws),
        )


@dataclass(frozen=True)
class RigIndices:
    """The parts of a :class:`Rig` as joint indices of one skeleton (see :meth:`Rig.resolve`)."""

    hips: int
    left: tuple[int, ...]
    right: tuple[int, ...]
    chest: int
    paws: tuple[int, ...]
