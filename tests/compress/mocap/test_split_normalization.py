"""Split by clip (deterministic, disjoint) and normalisation statistics (floored std, plain .npz round trip)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from compress.mocap.errors import MocapError
from compress.mocap.normalization import Normalization, fit_normalization
from compress.mocap.npz import load_npz, save_npz
from compress.mocap.split import split_clips

NAMES = [f"D1_{i:03d}" for i in range(46)]


def test_split_is_deterministic_disjoint_and_sized():
    split = split_clips(NAMES, 0.1, seed=0)
    assert len(split.validation) == 5 and len(split.train) == 41
    assert set(split.train).isdisjoint(split.validation) and set(split.train) | set(split.validation) == set(NAMES)
    assert split == split_clips(list(reversed(NAMES)), 0.1, seed=0)
    assert split.validation != split_clips(NAMES, 0.1, seed=1).validation
    assert split.is_validation(split.validation[0]) and not split.is_validation(split.train[0])
    with pytest.raises(MocapError, match="in neither"):
        split.is_validation("other")


@given(st.integers(2, 60), st.floats(0.01, 0.99), st.integers(0, 2**32 - 1))
def test_split_sizes(count, fraction, seed):
    split = split_clips([f"c{i}" for i in range(count)], fraction, seed)
    assert 1 <= len(split.validation) <= count - 1
    assert len(split.validation) + len(split.train) == count


def test_split_by_frames_comes_closest_to_the_fraction():
    frames = {name: 100 + 37 * i for i, name in enumerate(NAMES)}
    total = sum(frames.values())
    for seed in range(5):
        split = split_clips(NAMES, 0.1, seed=seed, frames=frames)
        held = sum(frames[name] for name in split.validation)
        assert abs(held / total - 0.1) < max(frames.values()) / total
        assert split == split_clips(NAMES, 0.1, seed=seed, frames=frames)
    assert split_clips(["a", "b"], 0.9, frames={"a": 1, "b": 1}).validation in (("a",), ("b",))  # keeps one
    with pytest.raises(MocapError, match="no frame count for clips b"):
        split_clips(["a", "b"], 0.5, frames={"a": 1})
    with pytest.raises(MocapError, match="positive total"):
        split_clips(["a", "b"], 0.5, frames={"a": 0, "b": 0})


@pytest.mark.parametrize(("names", "fraction", "message"), [
    (["a"], 0.5, "at least 2 clips"),
    (["a", "a", "b"], 0.5, "repeated: a"),
    (["a", "b"], 0.0, r"in \(0, 1\)"),
    (["a", "b"], 1.0, r"in \(0, 1\)"),
])
def test_split_errors(names, fraction, message):
    with pytest.raises(MocapError, match=message):
        split_clips(names, fraction)


def test_fit_normalization_values_and_floor():
    rng = np.random.default_rng(0)
    inputs = rng.normal(3.0, 2.0, (5000, 4)).astype(np.float32)
    inputs[:, 3] = 7.0  # constant feature
    outputs = rng.normal(-1.0, 0.5, (5000, 2)).astype(np.float32)
    norm = fit_normalization(inputs, outputs, floor=0.01)
    np.testing.assert_allclose(norm.input_mean, inputs.astype(np.float64).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(norm.input_std[:3], inputs[:, :3].astype(np.float64).std(axis=0), rtol=1e-5)
    assert norm.input_std[3] == np.float32(0.01) and norm.rows == 5000
    normalized = norm.normalize_inputs(inputs)
    np.testing.assert_allclose(normalized[:, :3].mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(normalized[:, :3].std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(normalized[:, 3], 0.0)
    np.testing.assert_allclose(norm.denormalize_outputs(norm.normalize_outputs(outputs)), outputs, atol=1e-5)


def test_fit_normalization_errors():
    with pytest.raises(MocapError, match="matching non-empty"):
        fit_normalization(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(MocapError, match="matching non-empty"):
        fit_normalization(np.zeros((3, 2)), np.zeros((2, 2)))
    with pytest.raises(MocapError, match="floor must be a positive number"):
        fit_normalization(np.zeros((3, 2)), np.zeros((3, 2)), floor=0.0)
    with pytest.raises(MocapError, match="stds must be positive"):
        Normalization(np.zeros(1, np.float32), np.zeros(1, np.float32), np.zeros(1, np.float32),
                      np.ones(1, np.float32), 0.01, 1)


def test_normalization_round_trip_is_plain_npz(tmp_path):
    rng = np.random.default_rng(1)
    norm = fit_normalization(rng.normal(size=(50, 480)).astype(np.float32),
                             rng.normal(size=(50, 363)).astype(np.float32))
    path = tmp_path / "normalization.npz"
    norm.save(path)
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == ["floor", "input_mean", "input_std", "output_mean", "output_std", "rows",
                                     "version"]
    again = Normalization.load(path)
    for name in ("input_mean", "input_std", "output_mean", "output_std"):
        np.testing.assert_array_equal(getattr(again, name), getattr(norm, name))
    assert (again.floor, again.rows) == (norm.floor, 50)
    assert [p.name for p in tmp_path.iterdir()] == ["normalization.npz"]  # no temporary left behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_normalization_load_errors(tmp_path):
    path = tmp_path / "n.npz"
    save_npz(path, version=np.int64(1), floor=np.float64(0.01), rows=np.int64(1))
    with pytest.raises(MocapError, match=r"n\.npz: missing arrays input_mean, input_std"):
        Normalization.load(path)
    arrays = {name: np.ones(2, np.float32) for name in ("input_mean", "input_std", "output_mean", "output_std")}
    save_npz(path, version=np.int64(2), floor=np.float64(0.01), rows=np.int64(1), **arrays)
    with pytest.raises(MocapError, match="normalisation version 2 is not 1"):
        Normalization.load(path)
    arrays["input_std"] = np.array([1.0, np.nan], np.float32)
    save_npz(path, version=np.int64(1), floor=np.float64(0.01), rows=np.int64(1), **arrays)
    with pytest.raises(MocapError, match=r"n\.npz: normalisation input_std must be a finite 1-D array"):
        Normalization.load(path)


def test_npz_refuses_pickles_and_garbage(tmp_path):
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(MocapError, match=r"pickled\.npz: not a plain \.npz file"):
        load_npz(pickled, ("x",))
    with pytest.raises(MocapError, match="holds Python objects"):
        save_npz(tmp_path / "o.npz", x=np.array([None], dtype=object))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(MocapError, match=r"garbage\.npz: not a plain \.npz file"):
        load_npz(garbage, ("x",))
    with pytest.raises(MocapError, match=r"absent\.npz: cannot read"):
        load_npz(tmp_path / "absent.npz", ("x",))
