"""The dataset of several clips: rows, mirrored copies, provenance, skeleton checks, save/load, and the real set."""

from __future__ import annotations

import numpy as np
import pytest
from mocap_samples import DOG_HIERARCHY, synthetic_dog

from compress.mocap.bvh import BVH, parse_bvh
from compress.mocap.dataset import (
    MannDataset,
    build_dataset,
    check_same_skeleton,
    format_summaries,
    read_clips,
)
from compress.mocap.errors import MocapError
from compress.mocap.normalization import fit_normalization
from compress.mocap.split import split_clips
from compress.mocap.styles import STYLES


def _clip(name: str, frames: int, speed: float, turn: float = 0.0) -> BVH:
    yaw = turn * np.arange(frames)
    facing = np.stack([np.cos(np.radians(yaw)), -np.sin(np.radians(yaw))], axis=1)
    xz = np.concatenate([[[0.0, 0.0]], np.cumsum(facing[:-1] * speed, axis=0)])
    bvh = synthetic_dog(xz, yaw)
    return BVH(bvh.skeleton, bvh.frame_time, bvh.frames, f"capture/{name}.bvh")


@pytest.fixture(scope="module")
def synthetic():
    clips = [_clip("walk", 180, 1.5), _clip("still", 150, 0.0), _clip("turn", 200, 1.0, 1.0), _clip("short", 90, 1.0)]
    return clips, *build_dataset(clips)


def test_rows_copies_and_provenance(synthetic):
    clips, dataset, summaries = synthetic
    assert dataset.clip_names == ("walk", "still", "turn", "short")
    assert [s.rows for s in summaries] == [69, 39, 89, 0] and [s.frames for s in summaries] == [180, 150, 200, 90]
    assert len(dataset) == 2 * (69 + 39 + 89)
    assert dataset.inputs.shape[1:] == (480,) and dataset.outputs.shape[1:] == (363,)
    assert dataset.gating.shape[1:] == (19,)
    np.testing.assert_array_equal(dataset.gating, dataset.inputs[:, list(dataset.gating_indices)])
    walk = dataset.rows_of(["walk"])
    np.testing.assert_array_equal(dataset.frames[walk], np.tile(np.arange(60, 129), 2))
    np.testing.assert_array_equal(dataset.mirrored[walk], [False] * 69 + [True] * 69)
    assert set(dataset.labels[walk].tolist()) == {STYLES.index("move")}
    assert set(dataset.labels[dataset.rows_of(["still"])].tolist()) == {STYLES.index("idle")}
    turn = dataset.rows_of(["turn"])
    dtheta = dataset.outputs[turn, dataset.output_names.index("root.dtheta")]
    np.testing.assert_allclose(dtheta[~dataset.mirrored[turn]], np.radians(1.0), atol=1e-6)
    np.testing.assert_allclose(dtheta[dataset.mirrored[turn]], -np.radians(1.0), atol=1e-6)
    assert summaries[0].fractions["move"] == 1.0
    plain, _ = build_dataset(clips, mirror=False)
    assert len(plain) == len(dataset) // 2 and not plain.mirrored.any()


def test_save_load_round_trip(synthetic, tmp_path):
    _, dataset, _ = synthetic
    path = tmp_path / "dataset.npz"
    dataset.save(path)
    again = MannDataset.load(path)
    for name in ("inputs", "outputs", "gating", "clip_ids", "frames", "labels", "mirrored"):
        np.testing.assert_array_equal(getattr(again, name), getattr(dataset, name))
        assert getattr(again, name).dtype == getattr(dataset, name).dtype
    assert again.clip_names == dataset.clip_names and again.gating_indices == dataset.gating_indices
    assert again.input_names == dataset.input_names and again.output_names == dataset.output_names


def test_split_by_clip_and_training_only_statistics(synthetic):
    _, dataset, _ = synthetic
    split = split_clips(dataset.clip_names, 0.25, seed=0)
    train, held = dataset.rows_of(split.train), dataset.rows_of(split.validation)
    assert not (train & held).any() and (train | held).all()
    norm = fit_normalization(dataset.inputs[train], dataset.outputs[train])
    np.testing.assert_allclose(norm.input_mean, dataset.inputs[train].mean(axis=0), atol=1e-4)
    assert norm.rows == train.sum()
    subset = dataset.select(held)
    assert set(subset.clip_ids.tolist()) == {dataset.clip_names.index(n) for n in split.validation} - {3}
    with pytest.raises(MocapError, match="no clips named nope"):
        dataset.rows_of(["nope"])


def test_summary_table(synthetic):
    _, _, summaries = synthetic
    table = format_summaries(summaries, ["still"]).splitlines()
    assert table[0].split() == ["clip", "frames", "rows", "split", *STYLES]
    assert table[2].split()[:4] == ["still", "150", "39", "val"] and table[2].split()[4] == "100"
    assert table[-1].startswith("all (4 clips)") and "620" in table[-1]


def _text(hierarchy: str, frames: int = 2, frame_time: str = "0.0166667") -> str:
    skeleton = parse_bvh(hierarchy + "MOTION\nFrames: 0\nFrame Time: 1\n").skeleton
    rows = "\n".join(" ".join(["0"] * skeleton.num_channels) for _ in range(frames))
    return f"{hierarchy}MOTION\nFrames: {frames}\nFrame Time: {frame_time}\n{rows}\n"


def test_a_clip_with_another_skeleton_is_named_with_its_line(tmp_path):
    good = tmp_path / "good.bvh"
    good.write_text(_text(DOG_HIERARCHY))
    renamed = tmp_path / "renamed.bvh"
    renamed.write_text(_text(DOG_HIERARCHY.replace("JOINT Neck", "JOINT Nack")))
    line = DOG_HIERARCHY.splitlines().index("      JOINT Neck") + 1
    with pytest.raises(MocapError, match=rf"renamed\.bvh:{line}: skeleton differs from .*good\.bvh: joint 3 is "
                                         r"'Nack' \(parent Spine1, channels Zrotation Xrotation Yrotation\), "
                                         r"expected 'Neck'"):
        read_clips([good, renamed])
    no_tail = DOG_HIERARCHY[: DOG_HIERARCHY.index("  JOINT Tail")] + "}\n"
    short = tmp_path / "short.bvh"
    short.write_text(_text(no_tail))
    with pytest.raises(MocapError, match=r"short\.bvh:\d+: skeleton differs .*joint 24 is the hierarchy ends after "
                                         r"24 joints, expected 'Tail'"):
        read_clips([good, short])
    slow = tmp_path / "slow.bvh"
    slow.write_text(_text(DOG_HIERARCHY, frame_time="0.0333333"))
    frame_time_line = len(DOG_HIERARCHY.splitlines()) + 3
    with pytest.raises(MocapError, match=rf"slow\.bvh:{frame_time_line}: frame time 0.0333333 s differs"):
        read_clips([good, slow])
    with pytest.raises(MocapError, match="clip name 'good' repeats"):
        check_same_skeleton([parse_bvh(good.read_text(), str(good))] * 2)
    with pytest.raises(MocapError, match="no clips"):
        build_dataset([])


def test_dataset_consistency_checks():
    with pytest.raises(MocapError, match="do not have the 2 rows"):
        MannDataset(np.zeros((2, 1)), np.zeros((2, 1)), np.zeros((2, 0)), np.zeros(3, int), np.zeros(2),
                    np.zeros(2), np.zeros(2, bool), ("a",), ("x",), ("y",), ())
    with pytest.raises(MocapError, match="clip ids must be in 0..0"):
        MannDataset(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 0)), np.ones(1, int), np.zeros(1),
                    np.zeros(1), np.zeros(1, bool), ("a",), ("x",), ("y",), ())


@pytest.mark.data
def test_real_dataset(dog_clips):
    check_same_skeleton(dog_clips)
    dataset, summaries = build_dataset(dog_clips)
    assert len(summaries) == 46 and all(s.rows == s.frames - 111 for s in summaries)
    assert len(dataset) == 2 * (96221 - 46 * 111) == 182230
    assert dataset.inputs.shape == (182230, 480) and dataset.outputs.shape == (182230, 363)
    assert dataset.gating.shape == (182230, 19)
    assert np.isfinite(dataset.inputs).all() and np.isfinite(dataset.outputs).all()
    assert dataset.mirrored.sum() == len(dataset) // 2
    counts = np.bincount(dataset.labels, minlength=len(STYLES)) / len(dataset)
    assert (counts > 0.01).all(), dict(zip(STYLES, counts.round(3), strict=True))  # every style is present
    split = split_clips(dataset.clip_names, 0.1, seed=0)
    train = dataset.rows_of(split.train)
    norm = fit_normalization(dataset.inputs[train], dataset.outputs[train])
    assert norm.input_mean.shape == (480,) and norm.output_std.shape == (363,)
    # facing is +z in the root frame by construction: the current sample's direction is exactly (0, 1)
    current_dir_z = dataset.inputs[:, dataset.input_names.index("traj+0.dir_z")]
    np.testing.assert_allclose(current_dir_z, 1.0, atol=1e-6)
