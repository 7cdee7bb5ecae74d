"""Rate–distortion level choice (formats.rd_levels)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from formats.quantize import dequantize, quantize_dithered
from formats.rd_levels import rd_levels

finite = st.floats(-20, 20, allow_nan=False, width=64)


def _entropy_bits(levels: np.ndarray) -> float:
    _, counts = np.unique(levels, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


@given(arrays(np.float64, st.integers(0, 300), elements=finite))
def test_lambda_zero_rounds_to_nearest(x: np.ndarray) -> None:
    assert np.array_equal(rd_levels(x, 0.0), np.rint(x))


@given(arrays(np.float64, st.integers(1, 300), elements=finite), st.floats(0.001, 2.0))
@settings(max_examples=80)
def test_each_level_is_nearest_one_toward_zero_or_zero(x: np.ndarray, lam: float) -> None:
    k = rd_levels(x, lam)
    nearest = np.rint(x)
    allowed = (k == nearest) | (k == nearest - np.sign(nearest)) | (k == 0)
    assert allowed.all()
    assert np.all(np.abs(k) <= np.abs(nearest))  # never away from zero


def test_larger_lambda_trades_error_for_rate_on_laplacian_weights() -> None:
    x = np.random.default_rng(0).laplace(0, 1, 50_000)  # peaked like trained weights, scale one step
    rows = []
    for lam in (0.0, 0.05, 0.1, 0.2):
        k = rd_levels(x, lam)
        rows.append((_entropy_bits(k), float(np.mean((x - k) ** 2)), float(np.mean(k == 0))))
    rates, errors, zeros = zip(*rows, strict=True)  # rates: total bits of an order-0 code
    assert list(rates) == sorted(rates, reverse=True) and rates[-1] < 0.97 * rates[0]
    assert list(errors) == sorted(errors) and errors[0] < 1 / 12
    assert list(zeros) == sorted(zeros)
    # at a small lambda the bits saved per weight exceed what a finer step would need for the same error
    # (high-rate theory: 0.5 log2 of the error ratio), the point of choosing levels by rate and distortion
    assert (rates[0] - rates[1]) / len(x) > 0.5 * np.log2(errors[1] / errors[0])


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="λ"):
        rd_levels(np.zeros(3), -0.1)
    with pytest.raises(ValueError, match="λ"):
        rd_levels(np.zeros(3), float("nan"))
    with pytest.raises(ValueError, match="passes"):
        rd_levels(np.zeros(3), 0.1, passes=0)


def test_quantizer_uses_the_rd_levels_and_decodes_them() -> None:
    values = np.random.default_rng(1).laplace(0, 0.02, (16, 9)).astype(np.float32)
    from formats.ids import PrngId

    plain = quantize_dithered(values, 0.02, seed=0, name="w", prng=PrngId.NONE)
    rd = quantize_dithered(values, 0.02, seed=0, name="w", prng=PrngId.NONE, rd_lambda=0.2)
    plain_levels = plain.symbols.astype(int) - plain.zero_symbol
    rd_levels_ = rd.symbols.astype(int) - rd.zero_symbol
    assert np.array_equal(plain_levels, np.rint(values.astype(np.float64) / np.float32(0.02)))
    assert np.count_nonzero(rd_levels_) < np.count_nonzero(plain_levels)
    decoded = dequantize(rd)
    assert np.array_equal(decoded, (rd_levels_ * np.float32(0.02)).astype(np.float32))
