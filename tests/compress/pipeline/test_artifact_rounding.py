"""round_codebook: the codebook at a chosen float32 mantissa precision, as torch rounds to bfloat16 for 7 bits."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from compress.pipeline.artifact import round_codebook
from formats.ids import PrngId
from formats.tensors import Dither, QuantizedTensor

_FINITE = st.floats(-(2.0**126), 2.0**126, allow_nan=False, allow_infinity=False, width=32, allow_subnormal=False)


def _quantized(values: list[float]) -> QuantizedTensor:
    codebook = np.array([0.0, *values], np.float32)
    return QuantizedTensor(np.zeros(3, np.uint8), codebook, 0, 0.1, Dither(PrngId.NONE, seed=0, stream=0))


@given(st.lists(_FINITE, min_size=1, max_size=20))
def test_seven_bits_round_as_bfloat16_does(values: list[float]) -> None:
    rounded = round_codebook(_quantized(values), 7).codebook
    expected = torch.tensor(np.array([0.0, *values], np.float32)).bfloat16().float().numpy()
    assert np.array_equal(rounded, expected)


@given(st.lists(_FINITE, min_size=1, max_size=20), st.integers(0, 22))
def test_rounding_keeps_zero_bounds_the_error_and_23_bits_change_nothing(values: list[float], bits: int) -> None:
    q = _quantized(values)
    rounded = round_codebook(q, bits).codebook
    assert rounded[0] == 0.0 and not np.signbit(rounded[0])
    finite = np.isfinite(rounded[1:])
    error = np.abs(rounded[1:] - q.codebook[1:])[finite]
    assert np.all(error <= np.abs(q.codebook[1:])[finite] * 2.0 ** -(bits + 1) * (1 + 1e-6))
    assert round_codebook(q, 23) is q
