"""BVH motion files: the joint hierarchy, each joint's channel layout, and the motion frames.

The reader is lenient about layout (LF or CRLF line ends, tabs, blank lines in the hierarchy, braces on
their own line or not, trailing blank lines) and strict about content: every problem raises a one-line
:class:`~compress.mocap.errors.MocapError` of the form ``file:line: what is wrong``.

An ``End Site`` becomes a :class:`Joint` with ``end_site=True``, no channels and the name of its parent
followed by ``Site`` (``LeftHand`` -> ``LeftHandSite``). Joints, end sites included, are kept in file
order (depth first), so a parent always precedes its children.

Example:
    >>> text = '''HIERARCHY
    ... ROOT Hips
    ... {
    ...   OFFSET 0 0 0
    ...   CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
    ...   End Site
    ...   {
    ...     OFFSET 0 10 0
    ...   }
    ... }
    ... MOTION
    ... Frames: 1
    ... Frame Time: 0.0166667
    ... 1 2 3 0 0 90
    ... '''
    >>> bvh = parse_bvh(text, "tiny.bvh")
    >>> bvh.skeleton.names, bvh.frames.shape
    (('Hips', 'HipsSite'), (1, 6))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import NoReturn

import numpy as np

from compress.mocap.errors import MocapError

__all__ = [
    "BVH",
    "CHANNEL_NAMES",
    "Joint",
    "Skeleton",
    "format_bvh",
    "parse_bvh",
    "read_bvh",
    "write_bvh",
]

#: The channel names a BVH file may declare.
CHANNEL_NAMES = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")

_FRAMES = re.compile(r"Frames:\s*(\S+)\s*$")
_FRAME_TIME = re.compile(r"Frame\s+Time:\s*(\S+)\s*$")


@dataclass(frozen=True)
class Joint:
    """One joint or end site of a BVH hierarchy.

    Attributes:
        name: joint name; an end site is named after its parent plus ``Site``.
        parent: index of the parent in :attr:`Skeleton.joints`, ``-1`` for the root.
        offset: the declared ``OFFSET`` (x, y, z) from the parent, in the file's unit.
        channels: declared channel names in file order (empty for an end site).
        end_site: whether this is an ``End Site``.
        line: 1-based line of the declaration in the source (not compared).

    Example:
        >>> Joint("Spine", 0, (19.0, 0.0, 0.0), ("Zrotation", "Xrotation", "Yrotation")).rotation_order
        'ZXY'
    """

    name: str
    parent: int
    offset: tuple[float, float, float]
    channels: tuple[str, ...] = ()
    end_site: bool = False
    line: int = field(default=0, compare=False)

    @property
    def rotation_order(self) -> str:
        """The rotation axes in declared order, e.g. ``'ZXY'`` (empty when the joint has no rotation channel)."""
        return "".join(c[0] for c in self.channels if c.endswith("rotation"))

    @property
    def position_channels(self) -> tuple[int, ...]:
        """Positions within :attr:`channels` of ``Xposition``, ``Yposition``, ``Zposition`` (those present)."""
        return tuple(i for i, c in enumerate(self.channels) if c.endswith("position"))


@dataclass(frozen=True)
class Skeleton:
    """The hierarchy of a BVH file: joints and end sites in file order.

    Example:
        >>> s = Skeleton((Joint("Hips", -1, (0.0, 0.0, 0.0), ("Yrotation",)), Joint("HipsSite", 0, (1.0, 0.0, 0.0),
        ...     end_site=True)))
        >>> s.index("HipsSite"), s.num_channels, s.parents
        (1, 1, (-1, 0))
    """

    joints: tuple[Joint, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Joint and end-site names in file order."""
        return tuple(j.name for j in self.joints)

    @property
    def parents(self) -> tuple[int, ...]:
        """Parent index of every joint (``-1`` for the root)."""
        return tuple(j.parent for j in self.joints)

    @property
    def offsets(self) -> np.ndarray:
        """Declared offsets, shape ``(joints, 3)``."""
        return np.array([j.offset for j in self.joints], dtype=np.float64).reshape(-1, 3)

    @property
    def num_channels(self) -> int:
        """Values per motion frame."""
        return sum(len(j.channels) for j in self.joints)

    @property
    def channel_starts(self) -> tuple[int, ...]:
        """Column of each joint's first channel in a motion frame."""
        starts, column = [], 0
        for joint in self.joints:
            starts.append(column)
            column += len(joint.channels)
        return tuple(starts)

    @property
    def end_sites(self) -> tuple[int, ...]:
        """Indices of the end sites."""
        return tuple(i for i, j in enumerate(self.joints) if j.end_site)

    def index(self, name: str) -> int:
        """Index of the joint called ``name``; :class:`MocapError` if there is none."""
        try:
            return self.names.index(name)
        except ValueError:
            raise MocapError(f"no joint named {name!r}; the skeleton has {', '.join(self.names)}") from None

    def first_difference(self, other: Skeleton) -> int | None:
        """Index in ``other`` of the first joint whose name, parent, channels or kind differ; ``None`` if alike.

        Offsets are not compared (the same skeleton may be measured slightly differently per file).
        When one skeleton is a prefix of the other, the index is the shorter one's length.
        """
        for i, (mine, theirs) in enumerate(zip(self.joints, other.joints, strict=False)):
            if (mine.name, mine.parent, mine.channels, mine.end_site) != (
                theirs.name, theirs.parent, theirs.channels, theirs.end_site
            ):
                return i
        if len(self.joints) != len(other.joints):
            return min(len(self.joints), len(other.joints))
        return None


@dataclass(frozen=True, eq=False)
class BVH:
    """A parsed BVH file.

    Attributes:
        skeleton: the hierarchy.
        frame_time: seconds per frame.
        frames: channel values, shape ``(frames, skeleton.num_channels)``, float64 (degrees, file units).
        source: the file name used in error messages.
        frames_line: the line of ``Frames:`` (0 when not read from text).
    """

    skeleton: Skeleton
    frame_time: float
    frames: np.ndarray
    source: str = "<bvh>"
    frames_line: int = 0

    def __post_init__(self) -> None:
        if self.frames.ndim != 2 or self.frames.shape[1] != self.skeleton.num_channels:
            raise MocapError(
                f"{self.source}: frames must have shape (n, {self.skeleton.num_channels}), got {self.frames.shape}"
            )

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return int(self.frames.shape[0])

    def channels(self, joint: int | str) -> np.ndarray:
        """The columns of ``joint`` (index or name), shape ``(frames, len(joint.channels))``."""
        index = self.skeleton.index(joint) if isinstance(joint, str) else joint
        start = self.skeleton.channel_starts[index]
        return self.frames[:, start : start + len(self.skeleton.joints[index].channels)]


def read_bvh(path: str | Path) -> BVH:
    """Read a BVH file; errors name the file and line.

    Args:
        path: the ``.bvh`` file (UTF-8 or ASCII text).

    Returns:
        The parsed :class:`BVH`, with ``source`` set to ``str(path)``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "t.bvh")
        >>> _ = open(path, "w").write("HIERARCHY\\nROOT A\\n{\\nOFFSET 0 0 0\\nCHANNELS 1 Yrotation\\n}\\n"
        ...                           "MOTION\\nFrames: 2\\nFrame Time: 0.5\\n10\\n20\\n")
        >>> read_bvh(path).frames[:, 0].tolist()
        [10.0, 20.0]
    """
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise MocapError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MocapError(f"{source}:{line}: not UTF-8 text (byte {data[exc.start]:#04x})") from None
    return parse_bvh(text, source)


def parse_bvh(text: str, source: str = "<bvh>") -> BVH:
    """Parse the text of a BVH file.

    Args:
        text: the whole file.
        source: name used in error messages.

    Returns:
        The parsed :class:`BVH`.

    Raises:
        MocapError: ``source:line: problem`` for anything malformed (unknown keyword, missing brace, wrong
            number of values on a motion line, fewer or more motion lines than ``Frames:`` declares, ...).

    Example:
        >>> parse_bvh("HIERARCHY\\nROOT A\\n{\\nOFFSET 0 0\\n}\\n", "bad.bvh")
        Traceback (most recent call last):
        ...
        compress.mocap.errors.MocapError: bad.bvh:5: expected a number after OFFSET (3 values), got '}'
    """
    lines = [line.rstrip("\r") for line in text.split("\n")]
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the text after the final line end is not a line
    motion_index = next((i for i, line in enumerate(lines) if line.split()[:1] == ["MOTION"]), None)
    hierarchy_end = len(lines) if motion_index is None else motion_index
    tokens = [(tok, number) for number, line in enumerate(lines[:hierarchy_end], 1) for tok in line.split()]
    skeleton = _HierarchyParser(tokens, source, min(hierarchy_end + 1, len(lines))).parse()
    if motion_index is None:
        raise MocapError(f"{source}:{len(lines)}: no MOTION section after the hierarchy")
    if lines[motion_index].split() != ["MOTION"]:
        raise MocapError(f"{source}:{motion_index + 1}: unexpected text after MOTION")
    return _parse_motion(lines, motion_index + 1, skeleton, source)


class _HierarchyParser:
    """Recursive-descent parser over ``(token, line)`` pairs of the HIERARCHY section."""

    def __init__(self, tokens: list[tuple[str, int]], source: str, end_line: int) -> None:
        self.tokens = tokens
        self.source = source
        self.end_line = max(end_line, 1)
        self.pos = 0
        self.joints: list[Joint] = []

    def fail(self, line: int, message: str) -> MocapError:
        return MocapError(f"{self.source}:{line}: {message}")

    def next(self, expected: str) -> tuple[str, int]:
        if self.pos >= len(self.tokens):
            raise self.fail(self.end_line, f"hierarchy ends where {expected} was expected")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, word: str) -> int:
        token, line = self.next(repr(word))
        if token != word:
            raise self.fail(line, f"expected {word!r}, got {token!r}")
        return line

    def number(self, what: str) -> float:
        token, line = self.next(f"a number for {what}")
        try:
            value = float(token)
        except ValueError:
            raise self.fail(line, f"expected a number after {what}, got {token!r}") from None
        if not math.isfinite(value):
            raise self.fail(line, f"{what} must be finite, got {token!r}")
        return value

    def parse(self) -> Skeleton:
        if not self.tokens:
            raise self.fail(1, "empty file; a BVH file starts with HIERARCHY")
        token, line = self.next("HIERARCHY")
        if token != "HIERARCHY":
            raise self.fail(line, f"a BVH file starts with HIERARCHY, got {token!r}")
        token, line = self.next("ROOT")
        if token != "ROOT":
            raise self.fail(line, f"expected ROOT, got {token!r}")
        self.joint(-1, line, "ROOT")
        if self.pos < len(self.tokens):
            token, line = self.tokens[self.pos]
            what = "a second ROOT (only one is supported)" if token == "ROOT" else repr(token)
            raise self.fail(line, f"unexpected {what} after the root joint closed; expected MOTION")
        return Skeleton(tuple(self.joints))

    def joint(self, parent: int, line: int, keyword: str) -> None:
        name, name_line = self.next(f"a name after {keyword}")
        if name in ("{", "}"):
            raise self.fail(name_line, f"{keyword} needs a name, got {name!r}")
        self.add_name(name, line)
        self.expect("{")
        offset = self.offset()
        token, channels_line = self.next("CHANNELS")
        if token != "CHANNELS":
            raise self.fail(channels_line, f"expected CHANNELS in joint {name!r}, got {token!r}")
        channels = self.channels(name, channels_line)
        index = len(self.joints)
        self.joints.append(Joint(name, parent, offset, channels, False, line))
        while True:
            token, child_line = self.next(f"'}}' closing joint {name!r} (line {line})")
            if token == "}":
                return
            if token == "JOINT":
                self.joint(index, child_line, "JOINT")
            elif token == "End":
                self.end_site(index, child_line)
            elif token in ("OFFSET", "CHANNELS"):
                raise self.fail(child_line, f"second {token} in joint {name!r}")
            else:
                raise self.fail(child_line, f"expected JOINT, End Site or '}}' in joint {name!r}, got {token!r}")

    def end_site(self, parent: int, line: int) -> None:
        token, site_line = self.next("Site")
        if token != "Site":
            raise self.fail(site_line, f"expected 'End Site', got 'End {token}'")
        name = self.joints[parent].name + "Site"
        self.add_name(name, line)
        self.expect("{")
        offset = self.offset()
        token, close_line = self.next("'}' closing the End Site")
        if token != "}":
            raise self.fail(close_line, f"an End Site holds only an OFFSET, got {token!r}")
        self.joints.append(Joint(name, parent, offset, (), True, line))

    def add_name(self, name: str, line: int) -> None:
        if any(j.name == name for j in self.joints):
            first = next(j.line for j in self.joints if j.name == name)
            raise self.fail(line, f"duplicate joint name {name!r} (first on line {first})")

    def offset(self) -> tuple[float, float, float]:
        token, line = self.next("OFFSET")
        if token != "OFFSET":
            raise self.fail(line, f"expected OFFSET, got {token!r}")
        return (self.number("OFFSET (3 values)"), self.number("OFFSET (3 values)"), self.number("OFFSET (3 values)"))

    def channels(self, joint: str, line: int) -> tuple[str, ...]:
        token, count_line = self.next("the channel count")
        if not token.isdigit() or int(token) > 6:
            raise self.fail(count_line, f"CHANNELS count must be an integer 0..6, got {token!r}")
        names: list[str] = []
        for _ in range(int(token)):
            channel, channel_line = self.next(f"a channel name ({token} declared on line {line})")
            if channel not in CHANNEL_NAMES:
                raise self.fail(
                    channel_line,
                    f"unknown channel {channel!r} in joint {joint!r} (CHANNELS declares {token}; "
                    f"known: {', '.join(CHANNEL_NAMES)})",
                )
            if channel in names:
                raise self.fail(channel_line, f"channel {channel} declared twice in joint {joint!r}")
            names.append(channel)
        return tuple(names)


def _parse_motion(lines: list[str], start: int, skeleton: Skeleton, source: str) -> BVH:
    """Parse ``Frames:``, ``Frame Time:`` and the frame lines that follow line index ``start - 1``."""
    position = start

    def header(pattern: re.Pattern[str], what: str) -> tuple[str, int]:
        nonlocal position
        while position < len(lines) and not lines[position].strip():
            position += 1
        if position >= len(lines):
            raise MocapError(f"{source}:{len(lines)}: file ends where {what} was expected")
        match = pattern.match(lines[position].strip())
        if match is None:
            raise MocapError(f"{source}:{position + 1}: expected '{what} <value>', got {lines[position].strip()!r}")
        position += 1
        return match.group(1), position

    count_text, frames_line = header(_FRAMES, "Frames:")
    if not count_text.isdigit():
        raise MocapError(f"{source}:{frames_line}: Frames: must be a non-negative integer, got {count_text!r}")
    count = int(count_text)
    time_text, time_line = header(_FRAME_TIME, "Frame Time:")
    try:
        frame_time = float(time_text)
    except ValueError:
        frame_time = math.nan
    if not (math.isfinite(frame_time) and frame_time > 0):
        raise MocapError(f"{source}:{time_line}: Frame Time: must be a positive number, got {time_text!r}")

    data = lines[position:]
    while data and not data[-1].strip():
        data.pop()
    channels = skeleton.num_channels
    rows = [line.split() for line in data[:count]]
    for i, row in enumerate(rows):
        if len(row) != channels:
            what = "a blank line" if not row else f"{len(row)} values"
            raise MocapError(
                f"{source}:{position + i + 1}: frame {i} has {what}; the hierarchy declares {channels} channels"
            )
    if len(data) > count:
        raise MocapError(
            f"{source}:{position + count + 1}: more motion lines than the {count} frames declared on line {frames_line}"
        )
    if len(data) < count:
        raise MocapError(
            f"{source}:{position + len(data)}: motion data ends after {len(data)} of the {count} frames "
            f"declared on line {frames_line} (truncated file?)"
        )
    try:
        values = np.array(list(chain.from_iterable(rows)), dtype=np.float64).reshape(count, channels)
        usable = bool(np.isfinite(values).all())
    except ValueError:
        values, usable = np.empty((count, channels)), False
    if not usable:
        _raise_first_bad_value(rows, position, source)
    return BVH(skeleton, frame_time, values, source, frames_line)


def _raise_first_bad_value(rows: list[list[str]], first_line: int, source: str) -> NoReturn:
    """Raise the error naming the first motion value that is not a finite number."""
    for i, row in enumerate(rows):
        for token in row:
            try:
                ok = math.isfinite(float(token))
            except ValueError:
                ok = False
            if not ok:
                raise MocapError(f"{source}:{first_line + i + 1}: frame {i} holds {token!r}, not a finite number")
    raise MocapError(f"{source}: motion values could not be read")


def format_bvh(bvh: BVH, newline: str = "\n") -> str:
    """The BVH text of ``bvh``; :func:`parse_bvh` of it gives back the same skeleton and frames exactly.

    Args:
        bvh: the motion to write.
        newline: line end, ``"\\n"`` or ``"\\r\\n"``.

    Example:
        >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Yrotation }\\nMOTION\\nFrames: 1\\n"
        ...                 "Frame Time: 0.1\\n0.25\\n")
        >>> print(format_bvh(bvh).splitlines()[-1])
        0.25
    """
    skeleton = bvh.skeleton
    children: dict[int, list[int]] = {i: [] for i in range(-1, len(skeleton.joints))}
    for i, joint in enumerate(skeleton.joints):
        children[joint.parent].append(i)
    out = ["HIERARCHY"]

    def emit(index: int, depth: int) -> None:
        joint = skeleton.joints[index]
        pad = "  " * depth
        if joint.end_site:
            out.append(f"{pad}End Site")
        else:
            out.append(f"{pad}{'ROOT' if joint.parent < 0 else 'JOINT'} {joint.name}")
        out.append(f"{pad}{{")
        out.append(f"{pad}  OFFSET {' '.join(repr(float(v)) for v in joint.offset)}")
        if not joint.end_site:
            out.append(f"{pad}  CHANNELS {len(joint.channels)} {' '.join(joint.channels)}".rstrip())
        for child in children[index]:
            emit(child, depth + 1)
        out.append(f"{pad}}}")

    for root in children[-1]:
        emit(root, 0)
    out += ["MOTION", f"Frames: {bvh.num_frames}", f"Frame Time: {bvh.frame_time!r}"]
    out += [" ".join(repr(v) for v in row) for row in bvh.frames.tolist()]
    return newline.join(out) + newline


def write_bvh(bvh: BVH, path: str | Path, newline: str = "\n") -> None:
    """Write ``bvh`` to ``path`` as text (see :func:`format_bvh`).

    Example:
        >>> import tempfile, os
        >>> bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Yrotation }\\nMOTION\\nFrames: 1\\n"
        ...                 "Frame Time: 0.1\\n5\\n")
        >>> path = os.path.join(tempfile.mkdtemp(), "out.bvh")
        >>> write_bvh(bvh, path)
        >>> read_bvh(path).frames.tolist()
        [[5.0]]
    """
    Path(path).write_text(format_bvh(bvh, newline), encoding="utf-8", newline="")
