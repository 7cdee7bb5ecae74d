"""BVH reader: hierarchy, channels, frames, CRLF tolerance, round trips and one-line errors naming file and line."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from mocap_samples import TINY_BVH

from compress.errors import CompressError
from compress.mocap.bvh import BVH, Joint, Skeleton, format_bvh, parse_bvh, read_bvh, write_bvh
from compress.mocap.errors import MocapError


def test_tiny_hierarchy_and_frames(tiny_text):
    bvh = parse_bvh(tiny_text, "tiny.bvh")
    skeleton = bvh.skeleton
    assert skeleton.names == ("Root", "Child", "ChildSite")
    assert skeleton.parents == (-1, 0, 1)
    assert skeleton.end_sites == (2,)
    assert skeleton.joints[0].channels == (
        "Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    assert skeleton.joints[0].rotation_order == "ZXY" and skeleton.joints[0].position_channels == (0, 1, 2)
    assert skeleton.joints[1].offset == (10.0, 0.0, 0.0) and skeleton.joints[2].offset == (5.0, 0.0, 0.0)
    assert [j.line for j in skeleton.joints] == [2, 6, 10]
    assert skeleton.num_channels == 9 and skeleton.channel_starts == (0, 6, 9)
    assert bvh.frame_time == pytest.approx(1 / 60, rel=1e-5) and bvh.num_frames == 3
    assert bvh.frames_line == 17
    np.testing.assert_array_equal(bvh.channels("Child")[:, 0], [0, 0, 90])
    np.testing.assert_array_equal(bvh.channels(0)[:, 5], [0, 90, 90])
    assert bvh.channels("ChildSite").shape == (3, 0)


def test_crlf_and_lf_read_alike(tiny_text):
    crlf, lf = parse_bvh(tiny_text), parse_bvh(TINY_BVH)
    assert crlf.skeleton == lf.skeleton
    np.testing.assert_array_equal(crlf.frames, lf.frames)


def test_layout_leniency():
    one_line = "HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Yrotation End Site { OFFSET 1 0 0 } }"
    text = "\t" + one_line + "\n\nMOTION\nFrames:\t2\nFrame   Time:\t0.5\n 1 \n\t2\n\n\n"
    bvh = parse_bvh(text)
    assert bvh.skeleton.names == ("A", "ASite") and bvh.frames[:, 0].tolist() == [1.0, 2.0]


def test_zero_frames_is_allowed():
    bvh = parse_bvh("HIERARCHY ROOT A { OFFSET 0 0 0 CHANNELS 1 Yrotation }\nMOTION\nFrames: 0\nFrame Time: 1\n")
    assert bvh.frames.shape == (0, 1)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_format_round_trip(tmp_path, tiny_text, newline):
    bvh = parse_bvh(tiny_text)
    path = tmp_path / "out.bvh"
    write_bvh(bvh, path, newline)
    assert (newline == "\r\n") == (b"\r\n" in path.read_bytes())
    again = read_bvh(path)
    assert again.skeleton == bvh.skeleton and again.frame_time == bvh.frame_time
    np.testing.assert_array_equal(again.frames, bvh.frames)
    assert again.source == str(path)
    assert format_bvh(again) == format_bvh(bvh)


@settings(max_examples=30, deadline=None)
@given(
    frames=arrays(np.float64, st.tuples(st.integers(0, 4), st.just(9)),
                  elements=st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)),
    frame_time=st.floats(1e-4, 10.0),
)
def test_round_trip_is_exact(frames, frame_time):
    bvh = BVH(parse_bvh(TINY_BVH).skeleton, frame_time, frames)
    again = parse_bvh(format_bvh(bvh, "\r\n"))
    assert again.frame_time == frame_time and again.skeleton == bvh.skeleton
    np.testing.assert_array_equal(again.frames, frames)


def test_skeleton_first_difference(tiny_text):
    skeleton = parse_bvh(tiny_text).skeleton
    assert skeleton.first_difference(skeleton) is None
    moved = Skeleton((skeleton.joints[0], Joint("Child", 0, (99.0, 0.0, 0.0), skeleton.joints[1].channels),
                      skeleton.joints[2]))
    assert skeleton.first_difference(moved) is None  # offsets are not part of the layout
    renamed = Skeleton((skeleton.joints[0], Joint("Other", 0, (10.0, 0.0, 0.0), skeleton.joints[1].channels)))
    assert skeleton.first_difference(renamed) == 1
    assert skeleton.first_difference(Skeleton(skeleton.joints[:2])) == 2
    with pytest.raises(MocapError, match="no joint named 'Nope'"):
        skeleton.index("Nope")


def test_frames_shape_is_checked(tiny_text):
    with pytest.raises(MocapError, match=r"shape \(n, 9\)"):
        BVH(parse_bvh(tiny_text).skeleton, 0.1, np.zeros((2, 8)))


def _edit(old: str, new: str) -> str:
    assert old in TINY_BVH
    return TINY_BVH.replace(old, new, 1)


BAD_FILES = [
    ("", r"t\.bvh:1: empty file"),
    ("HELLO\n", r"t\.bvh:1: a BVH file starts with HIERARCHY, got 'HELLO'"),
    (_edit("ROOT Root", "JOINT Root"), r"t\.bvh:2: expected ROOT, got 'JOINT'"),
    (_edit("OFFSET 10 0 0", "OFFSET 10 0"), r"t\.bvh:9: expected a number after OFFSET \(3 values\), got 'CHANNELS'"),
    (_edit("OFFSET 10 0 0", "OFFSET 10 x 0"), r"t\.bvh:8: expected a number after OFFSET"),
    (_edit("OFFSET 10 0 0", "OFFSET 10 nan 0"), r"t\.bvh:8: OFFSET \(3 values\) must be finite"),
    (_edit("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation"), r"t\.bvh:9: unknown channel 'Wrotation' in joint 'Child'"),
    (_edit("CHANNELS 3 Zrotation Xrotation", "CHANNELS 3 Zrotation Zrotation"),
     r"t\.bvh:9: channel Zrotation declared twice"),
    (_edit("CHANNELS 3 Zrotation", "CHANNELS three Zrotation"), r"t\.bvh:9: CHANNELS count must be an integer"),
    (_edit("    CHANNELS 3 Zrotation Xrotation Yrotation\n", ""), r"t\.bvh:9: expected CHANNELS in joint 'Child'"),
    (_edit("      OFFSET 5 0 0\n", "      OFFSET 5 0 0\n      CHANNELS 1 Yrotation\n"),
     r"t\.bvh:13: an End Site holds only an OFFSET, got 'CHANNELS'"),
    (_edit("End Site", "End Point"), r"t\.bvh:10: expected 'End Site', got 'End Point'"),
    (_edit("JOINT Child", "JOINT Root"), r"t\.bvh:6: duplicate joint name 'Root' \(first on line 2\)"),
    (_edit("JOINT Child", "BONE Child"), r"t\.bvh:6: expected JOINT, End Site or '}' in joint 'Root', got 'BONE'"),
    (_edit("  }\n}\nMOTION", "  }\nMOTION"), r"t\.bvh:15: hierarchy ends where '}' closing joint 'Root' \(line 2\)"),
    (_edit("}\nMOTION", "}\nROOT B { OFFSET 0 0 0 CHANNELS 0 }\nMOTION"), r"t\.bvh:16: unexpected a second ROOT"),
    (_edit("MOTION\n", ""), r"t\.bvh:16: unexpected 'Frames:' after the root joint closed; expected MOTION"),
    (TINY_BVH.split("MOTION")[0], r"t\.bvh:15: no MOTION section"),
    (_edit("Frames: 3", "Frames: three"), r"t\.bvh:17: Frames: must be a non-negative integer, got 'three'"),
    (_edit("Frames: 3", "Frame: 3"), r"t\.bvh:17: expected 'Frames: <value>', got 'Frame: 3'"),
    (_edit("Frame Time: 0.0166667", "Frame Time: -1"), r"t\.bvh:18: Frame Time: must be a positive number"),
    (TINY_BVH.split("Frame Time")[0], r"t\.bvh:17: file ends where Frame Time: was expected"),
    (_edit("1 2 3 0 0 90 0 0 0\n", "1 2 3 0 0 90 0 0\n"), r"t\.bvh:20: frame 1 has 8 values; the hierarchy declares 9"),
    (_edit("1 2 3 0 0 90 0 0 0\n", "1 2 3 0 0 90 0 0 0 0\n"), r"t\.bvh:20: frame 1 has 10 values"),
    (_edit("1 2 3 0 0 90 0 0 0\n", "1 2 3 0 0 90 0 0 zero\n"), r"t\.bvh:20: frame 1 holds 'zero', not a finite number"),
    (_edit("1 2 3 0 0 90 0 0 0\n", "1 2 3 0 0 90 0 0 inf\n"), r"t\.bvh:20: frame 1 holds 'inf', not a finite number"),
    (_edit("1 2 3 0 0 90 0 0 0\n", "\n1 2 3 0 0 90 0 0 0\n"), r"t\.bvh:20: frame 1 has a blank line"),
    (_edit("1 2 3 0 0 90 90 0 0\n", ""), r"t\.bvh:20: motion data ends after 2 of the 3 frames declared on line 17"),
    (TINY_BVH + "1 2 3 0 0 0 0 0 0\n", r"t\.bvh:22: more motion lines than the 3 frames declared on line 17"),
    (_edit("MOTION\n", "MOTION please\n"), r"t\.bvh:16: unexpected text after MOTION"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_malformed_files_raise_one_line_errors(text, message, newline):
    with pytest.raises(MocapError, match=f"^{message}") as info:
        parse_bvh(text.replace("\n", newline), "t.bvh")
    assert "\n" not in str(info.value) and isinstance(info.value, CompressError)


def test_truncated_file_on_disk(tmp_path, tiny_text):
    path = tmp_path / "cut.bvh"
    path.write_bytes(tiny_text.encode()[:-12])  # the last frame loses its last values and its line end
    with pytest.raises(MocapError, match=r"cut\.bvh:21: frame 2 has 5 values"):
        read_bvh(path)


def test_unreadable_files(tmp_path):
    with pytest.raises(MocapError, match=r"missing\.bvh: cannot read"):
        read_bvh(tmp_path / "missing.bvh")
    binary = tmp_path / "binary.bvh"
    binary.write_bytes(b"HIERARCHY\nROOT A\n\xff\xfe")
    with pytest.raises(MocapError, match=r"binary\.bvh:3: not UTF-8 text \(byte 0xff\)"):
        read_bvh(binary)


@pytest.mark.data
def test_every_real_clip_reads(dog_clips):
    assert len(dog_clips) == 46
    assert sum(clip.num_frames for clip in dog_clips) == 96221
    reference = dog_clips[0].skeleton
    joints = [j for j in reference.joints if not j.end_site]
    assert len(joints) == 21 and len(reference.end_sites) == 6 and reference.num_channels == 66
    assert {reference.joints[i].name for i in reference.end_sites} == {
        "HeadSite", "LeftHandSite", "RightHandSite", "LeftFootSite", "RightFootSite", "Tail1Site"}
    assert all(j.rotation_order == "ZXY" for j in joints)
    for clip in dog_clips:
        assert clip.skeleton.first_difference(reference) is None, clip.source
        np.testing.assert_array_equal(clip.skeleton.offsets[1:], reference.offsets[1:])
        assert clip.frame_time == 0.0166667
        assert np.isfinite(clip.frames).all()
