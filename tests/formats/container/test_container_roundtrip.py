"""Round trips through dumps/save -> open_dsz/loads for every tensor kind and dtype."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import formats
import formats.errors
from formats.container.dtypes import bfloat16_to_float32
from formats.ids import NUMPY_DTYPES, CodecId, DType, PrngId, TensorKind

RAW_DTYPES = list(DType)  # BFLOAT16 arrays are uint16 bits with a dtype override
SHAPES = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
CODECS = st.sampled_from(["raw", "auto"])


@st.composite
def raw_arrays(draw: st.DrawFn) -> tuple[np.ndarray, DType]:
    dtype = draw(st.sampled_from(RAW_DTYPES))
    array = draw(hnp.arrays(NUMPY_DTYPES[dtype], SHAPES))
    return array, dtype


@st.composite
def quantized_tensors(draw: st.DrawFn) -> formats.QuantizedTensor:
    shape = draw(SHAPES)
    values = draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3)))
    step = draw(st.sampled_from([0.01, 0.1, 0.37, 1.0]))
    prng = draw(st.sampled_from(list(PrngId)))
    seed = draw(st.integers(0, 2**64 - 1))
    return formats.quantize_dithered(values, step, seed=seed, name=draw(st.text(min_size=1)), prng=prng)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(min_size=1, max_size=20), raw_arrays(), min_size=1, max_size=4), CODECS)
def test_raw_tensors_round_trip(tensors: dict[str, tuple[np.ndarray, DType]], codec: str) -> None:
    arrays = {name: array for name, (array, _) in tensors.items()}
    overrides = {name: dtype for name, (_, dtype) in tensors.items() if dtype == DType.BFLOAT16}
    blob = formats.dumps(arrays, codec=codec, dtypes=overrides)
    loaded = formats.loads(blob)
    assert list(loaded) == list(arrays)
    for name, array in arrays.items():
        assert _same(loaded[name], array.astype(array.dtype.newbyteorder("<")))
    with formats.open_dsz(blob) as reader:
        for record in reader.records:
            assert record.kind == TensorKind.RAW
            assert record.dtype == tensors[record.name][1]
        reader.verify()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(quantized_tensors(), min_size=1, max_size=3), CODECS)
def test_quantized_tensors_round_trip(qs: list[formats.QuantizedTensor], codec: str) -> None:
    tensors = {f"t{i}": q for i, q in enumerate(qs)}
    blob = formats.dumps(tensors, codec=codec)
    with formats.open_dsz(blob) as reader:
        for name, q in tensors.items():
            values = reader.read(name)
            assert _same(values, formats.dequantize(q))
            back = reader.read_quantized(name)
            assert np.array_equal(back.symbols, q.symbols) and back.symbols.dtype == q.symbols.dtype
            assert back.codebook.tobytes() == q.codebook.tobytes()
            assert (back.zero_symbol, back.step, back.dither) == (q.zero_symbol, q.step, q.dither)
            assert reader.record(name).sha256_64 == hashlib.sha256(values.astype("<f4").tobytes()).digest()[:8]


def test_big_endian_and_noncontiguous_inputs_are_stored_little_endian() -> None:
    array = np.arange(24, dtype=">i4").reshape(4, 6)[:, ::2]
    loaded = formats.loads(formats.dumps({"x": array}, codec="raw"))["x"]
    assert loaded.dtype == np.dtype("<i4") and np.array_equal(loaded, array)


def test_bfloat16_bits_are_kept_and_widened_on_request() -> None:
    bits = np.array([0x3F80, 0xC000, 0x0000, 0x7F80], dtype=np.uint16)
    blob = formats.dumps({"h": bits}, dtypes={"h": DType.BFLOAT16}, codec="raw")
    with formats.open_dsz(blob) as reader:
        assert reader.record("h").dtype == DType.BFLOAT16
        assert _same(reader.read("h"), bits)
        assert reader.read("h", widen_bfloat16=True).tolist() == [1.0, -2.0, 0.0, np.inf]
    assert bfloat16_to_float32(bits).dtype == np.float32


def test_dtype_override_must_match_the_array() -> None:
    with pytest.raises(ValueError, match="bfloat16 is given as uint16 bits"):
        formats.dumps({"h": np.zeros(2, np.float32)}, dtypes={"h": DType.BFLOAT16})


def test_unsupported_numpy_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be stored"):
        formats.dumps({"c": np.zeros(2, np.complex64)})


def test_save_and_open_path_match_dumps(tmp_path) -> None:
    tensors = {"w": formats.quantize_dithered(np.linspace(-1, 1, 50), 0.1, seed=3, name="w"),
               "b": np.ones(3, np.float16)}
    path = tmp_path / "m.dsz"
    kwargs = {"metadata": {"task": "demo", "é": "ü"}, "recipe": {"steps": [1, 2.5, None], "name": "r"},
              "attrs": {"w": {"winograd": {"m": 2, "r": 3}}}}
    formats.save(path, tensors, **kwargs)
    assert path.read_bytes() == formats.dumps(tensors, **kwargs)
    with formats.open_dsz(path) as reader:
        assert reader.names == ("w", "b")
        assert reader.metadata == kwargs["metadata"]
        assert reader.recipe == kwargs["recipe"]
        assert reader.producer.name == "dualsparse"
        assert reader.version == (2, 0)
        assert reader.record("w").attrs == {"winograd": {"m": 2, "r": 3}}
        assert "w" in reader and len(reader) == 2
        reader.verify()
    assert all(np.array_equal(a, b) for a, b in zip(formats.loads(path.read_bytes()).values(),
                                                   [formats.dequantize(tensors["w"]), tensors["b"]], strict=True))


def test_writer_streams_tensors_and_returns_records(tmp_path) -> None:
    path = tmp_path / "w.dsz"
    with formats.Writer(path, recipe={"a": 1}) as writer:
        first = writer.add("a", np.zeros(1000, np.float32), codec="raw")
        second = writer.add("b", np.ones(10, np.uint8), codec=int(CodecId.RAW))
        assert (first.offset, first.length, second.offset) == (0, 4000, 4000)
        assert writer.records == (first, second)
    with formats.open_dsz(path) as reader:
        assert reader.read("b").tolist() == [1] * 10
        assert reader.read_payload("a") == bytes(4000)


def test_auto_codec_picks_a_smaller_payload_than_raw() -> None:
    blob = formats.dumps({"z": np.zeros(10_000, np.float32)})
    with formats.open_dsz(blob) as reader:
        record = reader.record("z")
        assert record.codec != CodecId.RAW and record.length < 1000


def test_named_codec_is_used() -> None:
    with formats.open_dsz(formats.dumps({"z": np.zeros(100, np.int16)}, codec="zstd")) as reader:
        assert reader.record("z").codec == CodecId.ZSTD


def test_same_input_gives_identical_bytes() -> None:
    def make() -> bytes:
        q = formats.quantize_dithered(np.sin(np.arange(300.0)), 0.05, seed=9, name="w")
        return formats.dumps({"w": q, "b": np.arange(5.0)}, recipe={"z": 1, "a": {"y": 2, "b": 3}},
                             metadata={"k2": "v", "k1": "v"})
    assert make() == make()


def test_map_key_order_does_not_change_bytes() -> None:
    a = formats.dumps({"x": np.zeros(1)}, recipe={"a": 1, "b": 2}, metadata={"p": "1", "q": "2"})
    b = formats.dumps({"x": np.zeros(1)}, recipe={"b": 2, "a": 1}, metadata={"q": "2", "p": "1"})
    assert a == b


def test_missing_tensor_is_a_key_error_with_the_names() -> None:
    with formats.open_dsz(formats.dumps({"a": np.zeros(1)})) as reader:
        with pytest.raises(KeyError, match="no tensor named 'nope'"):
            reader.read("nope")
        with pytest.raises(TypeError, match="stored raw"):
            reader.read_quantized("a")


def test_writer_input_errors(tmp_path) -> None:
    q = formats.quantize_dithered(np.ones(4), 0.5, seed=1, name="q")
    with formats.Writer(tmp_path / "e.dsz") as writer:
        writer.add("a", np.zeros(1))
        with pytest.raises(formats.errors.LayoutError, match="already added"):
            writer.add("a", np.zeros(1))
        with pytest.raises(formats.errors.LimitError, match="UTF-8 bytes"):
            writer.add("", np.zeros(1))
        with pytest.raises(ValueError, match="zero_symbol"):
            writer.add("q", formats.QuantizedTensor(q.symbols, q.codebook, 99, q.step, q.dither))
        with pytest.raises(ValueError, match="must be 0.0"):
            bad = q.codebook.copy()
            bad[q.zero_symbol] = 1.0
            writer.add("q", formats.QuantizedTensor(q.symbols, bad, q.zero_symbol, q.step, q.dither))
        with pytest.raises(ValueError, match="not a string"):
            writer.add("q", q, attrs={1: 2})
    with pytest.raises(ValueError, match="closed"):
        writer.add("b", np.zeros(1))
    with pytest.raises(ValueError, match="not being saved"):
        formats.dumps({"a": np.zeros(1)}, attrs={"b": {}})
    with pytest.raises(ValueError, match="str to str"):
        formats.dumps({"a": np.zeros(1)}, metadata={"k": 1})
    with pytest.raises(ValueError, match="deeper"):
        nested: dict = {}
        for _ in range(40):
            nested = {"n": nested}
        formats.dumps({"a": np.zeros(1)}, recipe=nested)
    with pytest.raises(formats.errors.UnknownIdError, match="unknown codec"):
        formats.dumps({"a": np.zeros(1)}, codec="snappy")


def test_per_tensor_codecs_reencode_what_auto_chose_byte_for_byte() -> None:
    rng = np.random.default_rng(0)
    tensors = {
        "q": formats.quantize_dithered(rng.normal(0, 0.1, (16, 8, 3, 3)), 0.05, seed=1, name="q"),
        "f": rng.normal(size=40).astype(np.float32),
        "z": np.zeros(300, np.int8),
    }
    auto = formats.dumps(tensors, codec="auto")
    with formats.open_dsz(auto) as reader:
        chosen = {record.name: int(record.codec) for record in reader.records}
    assert formats.dumps(tensors, codecs=chosen) == auto
    forced = formats.dumps(tensors, codec="auto", codecs={"f": "raw"})
    with formats.open_dsz(forced) as reader:
        assert int(reader.record("f").codec) == 0 and int(reader.record("q").codec) == chosen["q"]
    with pytest.raises(ValueError, match="codecs names tensors that are not being saved"):
        formats.dumps(tensors, codecs={"nope": "raw"})
