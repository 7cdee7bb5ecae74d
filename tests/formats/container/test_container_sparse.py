"""Kind SPARSE: lossless bitmap + byte-plane storage of mostly-zero tensors of every dtype."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import formats
from formats.container.records import digest64
from formats.errors import CodecError, HeaderError, LimitError
from formats.ids import NUMPY_DTYPES, DType, TensorKind

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)


@st.composite
def sparse_arrays(draw: st.DrawFn) -> tuple[np.ndarray, DType]:
    dtype = draw(st.sampled_from(list(DType)))
    array = draw(hnp.arrays(NUMPY_DTYPES[dtype], SHAPES))
    keep = draw(hnp.arrays(np.bool_, array.shape))
    return np.where(keep, array, np.zeros_like(array)), dtype


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sparse_arrays(), st.sampled_from(["raw", "auto"]))
def test_sparse_round_trip_is_bit_exact(case: tuple[np.ndarray, DType], codec: str) -> None:
    array, dtype = case
    dtypes = {"s": dtype} if dtype == DType.BFLOAT16 else None
    blob = formats.dumps({"s": formats.SparseTensor(array)}, codec=codec, dtypes=dtypes, format_major=1)
    with formats.open_dsz(blob) as reader:
        record = reader.record("s")
        assert (record.kind, record.dtype, record.nnz) == (TensorKind.SPARSE, dtype, formats.SparseTensor(array).nnz)
        back = reader.read("s")
    assert back.shape == array.shape and back.dtype == NUMPY_DTYPES[dtype]
    assert back.tobytes() == np.ascontiguousarray(array, NUMPY_DTYPES[dtype]).tobytes()


def test_stored_bytes_are_bitmap_then_msb_first_planes(dsz) -> None:
    x = np.array([0, 0x0102, 0, 0, 0, 0, 0, 0, 0, -2], "<i2")
    blob = formats.dumps({"x": formats.SparseTensor(x)}, codec="raw", format_major=1)
    header, payload = dsz.split(blob)
    assert payload == bytes([0b01000000, 0b01000000, 0x01, 0xFF, 0x02, 0xFE])
    record = header["tensors"][0]
    assert (record["kind"], record["nnz"], record["length"]) == (2, 2, 6)
    assert record["sha256_64"] == digest64(x.tobytes())


def test_negative_zero_and_subnormals_survive() -> None:
    w = np.zeros((37, 11), np.float32)
    w[0, 0], w[1, 1], w[2, 2] = -0.0, np.float32(1e-42), np.nan
    back = formats.loads(formats.dumps({"w": formats.SparseTensor(w)}))["w"]
    assert back.view(np.uint32).tobytes() == w.view(np.uint32).tobytes()
    assert formats.SparseTensor(w).nnz == 3


def test_sparse_file_grows_with_the_non_zeros() -> None:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((256, 256)).astype(np.float32)
    w[rng.random(w.shape) < 0.9] = 0
    dense = len(formats.dumps({"w": w}, codec="zstd"))
    sparse = len(formats.dumps({"w": formats.SparseTensor(w)}, codec="zstd"))
    assert sparse < 0.12 * w.nbytes and sparse < 0.9 * dense, (sparse, dense)


def _sparse_file(dsz, stored: bytes, **record_fields: int) -> bytes:
    blob = formats.dumps({"x": formats.SparseTensor(np.array([0, 5, 0, 7, 0, 0, 0, 0, 0], np.uint8))},
                         codec="raw", format_major=1)
    header, _ = dsz.split(blob)
    record = header["tensors"][0]
    record.update(crc32=zlib.crc32(stored), length=len(stored), **record_fields)
    return dsz.build(header, stored)


@pytest.mark.parametrize(
    ("stored", "fields", "match"),
    [
        (bytes([0b01010000, 0b00000001, 5, 7]), {}, "padding bits"),
        (bytes([0b01110000, 0, 5, 7]), {}, "marks 3 non-zeros"),
        (bytes([0b01010000, 0, 5, 0]), {}, "all-zero bytes"),
        (bytes([0b01000000, 0, 5, 7]), {}, "marks 1 non-zeros"),
    ],
)
def test_inconsistent_sparse_payloads_are_codec_errors(dsz, stored: bytes, fields: dict, match: str) -> None:
    with formats.open_dsz(_sparse_file(dsz, stored, **fields)) as reader:
        with pytest.raises(CodecError, match=match):
            reader.read("x")


def test_sparse_header_checks(dsz) -> None:
    good = bytes([0b01010000, 0, 5, 7])
    assert formats.loads(_sparse_file(dsz, good))["x"].tolist() == [0, 5, 0, 7, 0, 0, 0, 0, 0]
    with pytest.raises(HeaderError, match="'nnz' must be an integer in \\[0, 9\\]"):
        formats.open_dsz(_sparse_file(dsz, good, nnz=10))
    with pytest.raises(HeaderError, match="lacks the required field 'nnz'"):
        blob = _sparse_file(dsz, good)
        header, payloads = dsz.split(blob)
        header["tensors"][0].pop("nnz")
        formats.open_dsz(dsz.build(header, payloads))


def test_bool_sparse_values_must_be_one(dsz) -> None:
    blob = formats.dumps({"m": formats.SparseTensor(np.array([False, True, True]))}, codec="raw", format_major=1)
    header, _ = dsz.split(blob)
    stored = bytes([0b01100000, 1, 2])
    header["tensors"][0].update(crc32=zlib.crc32(stored))
    with formats.open_dsz(dsz.build(header, stored)) as reader:
        with pytest.raises(CodecError, match="bool"):
            reader.read("m")


def test_expansion_rule_bounds_the_dense_size(dsz) -> None:
    blob = formats.dumps({"z": formats.SparseTensor(np.zeros(2**16, np.float64))}, codec="zstd", format_major=1)
    header, payloads = dsz.split(blob)
    header["tensors"][0]["shape"] = [2**31]  # a 256 MiB bitmap would inflate to 16 GiB of float64
    with pytest.raises(LimitError, match="expansion limit"):
        formats.open_dsz(dsz.build(header, payloads), limits=formats.Limits(max_elements=2**40))


def test_sparse_reads_and_loads_dense_and_is_not_quantized(tmp_path) -> None:
    bits = np.array([[0, 0x3F80], [0, 0]], np.uint16)
    path = tmp_path / "s.dsz"
    formats.save(path, {"h": formats.SparseTensor(bits)}, dtypes={"h": DType.BFLOAT16})
    assert formats.load(path)["h"].tolist() == [[0.0, 1.0], [0.0, 0.0]]
    with formats.open_dsz(path) as reader:
        assert reader.read("h").dtype == np.uint16
        with pytest.raises(TypeError, match="stored sparse"):
            reader.read_quantized("h")
