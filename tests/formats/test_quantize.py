"""Dithered quantization (eq. 6), its bit-exact inverse and the step helpers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from formats.dither import dither_values, stream_for_name
from formats.errors import LimitError
from formats.ids import PrngId
from formats.quantize import dequantize, quantize_dithered, step_for_bits, step_for_percentile, uniform_codebook
from formats.tensors import Dither, QuantizedTensor

VALUES = hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=8), elements=st.floats(-10, 10))
STEPS = st.sampled_from([0.05, 0.1, 0.5, 1.0, 3.0])


@settings(max_examples=80, deadline=None)
@given(VALUES, STEPS, st.integers(0, 2**64 - 1))
def test_error_is_bounded_and_pruning_follows_eq6(values: np.ndarray, step: float, seed: int) -> None:
    q = quantize_dithered(values, step, seed=seed, name="w")
    decoded = dequantize(q).astype(np.float64)
    delta = float(np.float32(step))
    pruned = q.symbols == q.zero_symbol
    kept = ~pruned
    tolerance = delta * (0.5 + 1e-5)
    assert np.all(np.abs(decoded[kept] - values[kept]) <= tolerance + 1e-6 * np.abs(values[kept]))
    assert np.all(decoded[pruned] == 0.0)
    assert np.all(np.abs(values[pruned]) <= delta * (1 + 1e-6))
    u = dither_values(q.dither, q.step, values.size).astype(np.float64).reshape(values.shape)
    levels = np.rint((values + u) / delta)
    assert np.array_equal(q.codebook[q.symbols], (levels * delta).astype(np.float32))


def test_symbols_codebook_and_zero_symbol_layout() -> None:
    q = quantize_dithered(np.array([-1.0, 0.0, 2.0]), 1.0, seed=0, stream=0, prng=PrngId.NONE)
    assert q.codebook.tolist() == [-1.0, 0.0, 1.0, 2.0]
    assert q.zero_symbol == 1 and q.symbols.tolist() == [0, 1, 3]
    assert q.dither == Dither(PrngId.NONE, 0, 0)


def test_round_half_to_even_without_dither() -> None:
    q = quantize_dithered(np.array([0.5, 1.5, 2.5, -0.5, -1.5]), 1.0, seed=0, stream=0, prng=PrngId.NONE)
    assert q.codebook[q.symbols].tolist() == [0.0, 2.0, 2.0, 0.0, -2.0]


def test_zero_level_always_exists() -> None:
    q = quantize_dithered(np.array([5.0, 6.0]), 1.0, seed=0, stream=0, prng=PrngId.NONE)
    assert q.codebook[q.zero_symbol] == 0.0 and q.zero_symbol == 0
    assert q.codebook.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_symbol_width_follows_the_number_of_levels() -> None:
    small = quantize_dithered(np.array([0.0, 255.0]), 1.0, seed=0, stream=0, prng=PrngId.NONE)
    wide = quantize_dithered(np.array([0.0, 256.0]), 1.0, seed=0, stream=0, prng=PrngId.NONE)
    assert small.symbols.dtype == np.uint8 and small.codebook.size == 256
    assert wide.symbols.dtype == np.uint16 and wide.codebook.size == 257
    with pytest.raises(LimitError, match="use a larger step"):
        quantize_dithered(np.array([0.0, 70_000.0]), 1.0, seed=0, stream=0)


def test_stream_defaults_to_the_name() -> None:
    q = quantize_dithered(np.ones(3), 0.5, seed=4, name="layer.weight")
    assert q.dither == Dither(PrngId.SPLITMIX64, 4, stream_for_name("layer.weight"))
    assert quantize_dithered(np.ones(3), 0.5, seed=4, stream=9, name="x").dither.stream == 9


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"values": np.ones(2), "step": 0.0, "seed": 0, "stream": 0}, "step"),
        ({"values": np.ones(2), "step": np.inf, "seed": 0, "stream": 0}, "step"),
        ({"values": np.array([np.nan]), "step": 1.0, "seed": 0, "stream": 0}, "NaN"),
        ({"values": np.ones(2), "step": 1.0, "seed": 0}, "stream"),
        ({"values": np.ones(2), "step": 1.0, "seed": -1, "stream": 0}, "seed"),
    ],
)
def test_quantize_input_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        quantize_dithered(**kwargs)


def test_dequantize_is_bit_exact_float32_subtraction() -> None:
    rng = np.random.default_rng(1)
    q = quantize_dithered(rng.normal(size=1000), 0.07, seed=123, name="w")
    u = dither_values(q.dither, q.step, 1000)
    manual = [
        np.float32(0.0) if s == q.zero_symbol else np.float32(q.codebook[s] - u[i]) for i, s in enumerate(q.symbols)
    ]
    assert dequantize(q).tobytes() == np.array(manual, np.float32).tobytes()


def test_dequantize_rejects_symbols_outside_the_codebook() -> None:
    q = QuantizedTensor(np.array([3], np.uint8), np.zeros(2, np.float32), 0, 1.0, Dither(PrngId.NONE, 0, 0))
    with pytest.raises(ValueError, match="out of range"):
        dequantize(q)


@settings(max_examples=60, deadline=None)
@given(VALUES, st.integers(2, 10), st.integers(0, 2**64 - 1))
def test_step_for_bits_keeps_levels_within_the_budget(values: np.ndarray, bits: int, seed: int) -> None:
    step = step_for_bits(values, bits)
    assert step == float(np.float32(step)) and step > 0
    q = quantize_dithered(values, step, seed=seed, name="w")
    levels = q.symbols.astype(np.int64) - q.zero_symbol
    limit = 2 ** (bits - 1) - 1
    assert levels.size == 0 or np.abs(levels).max() <= limit


def test_step_for_bits_rule_and_errors() -> None:
    assert step_for_bits(np.array([-1.0, 0.5]), 2) == 2.0  # 1 / (1 - 0.5)
    assert step_for_bits(np.array([3.0]), 3) == pytest.approx(3.0 / 2.5)
    assert step_for_bits(np.zeros(3), 4) == 1.0
    for bad in (1, 17, 2.0, True):
        with pytest.raises(ValueError, match="bits"):
            step_for_bits(np.ones(2), bad)  # type: ignore[arg-type]


def test_step_for_percentile() -> None:
    values = np.concatenate([np.linspace(-1, 1, 999), [100.0]])
    assert step_for_percentile(values, 4, 99.0) < step_for_bits(values, 4) / 50
    assert step_for_percentile(values, 4, 100.0) == step_for_bits(values, 4)
    with pytest.raises(ValueError, match="percentile"):
        step_for_percentile(values, 4, 0.0)


def test_quantizer_codebooks_are_the_implicit_uniform_codebook() -> None:
    rng = np.random.default_rng(5)
    for step in (0.013, 0.1, 0.37, 2.5):
        q = quantize_dithered(rng.normal(0, 1, 500), step, seed=2, name="w")
        assert q.codebook.tobytes() == uniform_codebook(q.codebook.size, q.zero_symbol, q.step).tobytes()
    assert uniform_codebook(3, 1, 1.0).view(np.uint32)[1] == 0  # +0.0 at the zero symbol
