"""Every golden vector decodes to the bytes its .json pins, with formats and with the reference decoder."""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np
import pytest
from spec_vectors import GOLDEN, VECTORS

import formats
from formats.ids import CodecId, DType, TensorKind


def _expected(name: str) -> dict:
    return json.loads((VECTORS / "golden" / f"{name}.json").read_text())


def _sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def test_the_golden_set_is_complete() -> None:
    assert {f"codec_{c.name.lower()}" for c in CodecId} <= set(GOLDEN)
    assert {"raw_dtypes", "sparse_dtypes", "quantized", "winograd_model", "newer_minor", "rans_zs_split",
            "lzw_segments", "winograd_domain", "v2_mixed", "v2_raw"} <= set(GOLDEN)
    covered = {(t["kind"], t["codec"]) for name in GOLDEN for t in _expected(name)["tensors"]}
    assert {(k.name, c.name) for k in TensorKind for c in CodecId} <= covered
    dtypes = {t["dtype"] for name in GOLDEN for t in _expected(name)["tensors"]}
    assert dtypes == {d.name for d in DType}


def test_vectors_stay_small() -> None:
    total = sum(p.stat().st_size for p in VECTORS.rglob("*") if p.is_file())
    assert total < 450_000  # too_many_tensors alone is 174 KB: 65537 records that differ only in their names


@pytest.mark.parametrize("name", GOLDEN)
def test_formats_reader_matches_expectation(name: str) -> None:
    expected = _expected(name)
    blob = (VECTORS / "golden" / f"{name}.dsz").read_bytes()
    if expected["zlib_runtime_version"] == zlib.ZLIB_RUNTIME_VERSION:
        assert hashlib.sha256(blob).hexdigest() == expected["file_sha256"]
    with formats.open_dsz(VECTORS / "golden" / f"{name}.dsz") as reader:
        reader.verify()
        assert list(reader.names) == [t["name"] for t in expected["tensors"]]
        assert reader.metadata == expected["metadata"]
        for row, record in zip(expected["tensors"], reader.records, strict=True):
            array = reader.read(row["name"])
            assert list(array.shape) == row["shape"]
            assert TensorKind(record.kind).name == row["kind"] and CodecId(record.codec).name == row["codec"]
            assert _sha(array) == row["sha256"], row["name"]
            if "values" in row:
                assert array.tolist() == row["values"], row["name"]

    loaded = formats.load(VECTORS / "golden" / f"{name}.dsz")  # the loader widens BFLOAT16 to float32
    with formats.open_dsz(blob) as reader:
        for row in expected["tensors"]:
            bits = reader.read(row["name"])
            want = formats.bfloat16_to_float32(bits) if row["dtype"] == "BFLOAT16" else bits
            assert loaded[row["name"]].tobytes() == want.tobytes(), row["name"]


@pytest.mark.parametrize("name", GOLDEN)
def test_reference_decoder_matches_expectation(name: str, reference) -> None:
    expected = _expected(name)
    decoded = reference.decode_file(VECTORS / "golden" / f"{name}.dsz")
    assert list(decoded) == [t["name"] for t in expected["tensors"]]
    for row in expected["tensors"]:
        array = decoded[row["name"]]
        assert list(array.shape) == row["shape"]
        assert _sha(array) == row["sha256"], row["name"]
        if "values" in row:
            assert array.tolist() == row["values"], row["name"]
    rows = reference.describe((VECTORS / "golden" / f"{name}.dsz").read_bytes())
    assert [{k: r[k] for k in ("name", "shape", "dtype", "kind", "codec", "sha256")} for r in rows] == [
        {**{k: t[k] for k in ("name", "shape", "dtype", "kind", "sha256")},
         "codec": t["codec"].lower().replace("_", "-")} for t in expected["tensors"]]


@pytest.mark.parametrize("name", GOLDEN)
def test_both_decoders_give_identical_bytes(name: str, reference) -> None:
    path = VECTORS / "golden" / f"{name}.dsz"
    ours = reference.decode_file(path)
    with formats.open_dsz(path) as reader:
        for tensor in reader.names:
            theirs = reader.read(tensor)
            assert theirs.dtype.itemsize == ours[tensor].dtype.itemsize
            assert theirs.tobytes() == ours[tensor].tobytes(), tensor


WINOGRAD = [name for name in GOLDEN if "winograd" in _expected(name)]
WINOGRAD_CASES = [(name, case["sparsity"]) for name in WINOGRAD for case in _expected(name)["winograd"]]


def _case(name: str, sparsity: float) -> list[dict]:
    return next(c["tensors"] for c in _expected(name)["winograd"] if c["sparsity"] == sparsity)


def _check_winograd(out: dict[str, np.ndarray], rows: list[dict]) -> None:
    """WINOGRAD.md 4: dtype and shape exact, zeros exact (pruning), values within one unit in the last place."""
    assert list(out) == [row["name"] for row in rows]
    for row in rows:
        array = out[row["name"]]
        want = np.array(row["values"], dtype=row["dtype"]).reshape(row["shape"])
        assert array.dtype == want.dtype and array.shape == want.shape, row["name"]
        assert np.array_equal(array == 0, want == 0), row["name"]
        assert np.array_equal(np.signbit(array[array == 0]), np.signbit(want[want == 0])), row["name"]
        np.testing.assert_array_max_ulp(array, want, maxulp=1)


def test_winograd_goldens_cover_every_output_dtype_and_a_tie() -> None:
    assert {"winograd_model", "winograd_domain"} <= set(WINOGRAD)
    dtypes = {row["dtype"] for name in WINOGRAD for case in _expected(name)["winograd"] for row in case["tensors"]}
    assert {"float16", "float32", "float64"} <= dtypes
    assert any(case["sparsity"] == 0.0 for case in _expected("winograd_domain")["winograd"])
    tie = _expected("winograd_domain")["winograd"][2]["tensors"]  # tie_a and tie_b transform to equal values
    a, b = (np.array(next(r["values"] for r in tie if r["name"] == n)).ravel() for n in ("tie_a", "tie_b"))
    assert np.count_nonzero(a != b) == 1 and a[a != b] == 0  # the tie at the threshold went to the earlier tensor


@pytest.mark.parametrize(("name", "sparsity"), WINOGRAD_CASES)
def test_formats_winograd_domain_matches_expectation(name: str, sparsity: float) -> None:
    rows = _case(name, sparsity)
    out = formats.load(VECTORS / "golden" / f"{name}.dsz", domain="winograd", sparsity=sparsity)
    _check_winograd(out, rows)
    for row in rows:  # on the machine that made the vectors (and any with the same float64 sums): bit for bit
        if _sha(out[row["name"]]) != row["sha256"]:
            pytest.skip(f"{row['name']}: within one ulp, not bit for bit, on this machine (WINOGRAD.md 4 allows it)")


@pytest.mark.parametrize(("name", "sparsity"), WINOGRAD_CASES)
def test_reference_decoder_winograd_domain_matches_expectation_and_formats(name: str, sparsity: float,
                                                                         reference) -> None:
    blob = (VECTORS / "golden" / f"{name}.dsz").read_bytes()
    ours = reference.decode_winograd(blob, sparsity)
    _check_winograd(ours, _case(name, sparsity))
    theirs = formats.load(blob, domain="winograd", sparsity=sparsity)
    for tensor, array in theirs.items():
        assert array.dtype == ours[tensor].dtype and array.tobytes() == ours[tensor].tobytes(), tensor


def test_v2_vectors_are_format_2_and_the_others_stay_1() -> None:
    """The vectors made before format 2.0 keep their 1.0 bytes (FORMAT.md 13: readers keep reading 1.0)."""
    for name in GOLDEN:
        major = int.from_bytes((VECTORS / "golden" / f"{name}.dsz").read_bytes()[8:10], "little")
        assert major == (2 if name.startswith("v2_") else 1), name
