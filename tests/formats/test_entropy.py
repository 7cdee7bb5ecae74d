"""Order-0 entropy helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from formats.entropy import order0_entropy_bits, order0_entropy_bytes, symbol_counts


def test_known_values() -> None:
    assert order0_entropy_bits(np.array([], dtype=np.uint8)) == 0.0
    assert order0_entropy_bits(np.full(100, 3, dtype=np.uint8)) == 0.0
    assert order0_entropy_bits(np.array([0, 1] * 8, dtype=np.uint8)) == pytest.approx(16.0)
    assert order0_entropy_bytes(np.arange(256, dtype=np.uint8)) == pytest.approx(256.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int32, np.int64])
def test_dtypes_agree(dtype: type) -> None:
    sym = np.array([0, 0, 0, 1, 2, 2, 5, 0], dtype=dtype)
    p = np.array([4, 1, 2, 1]) / 8
    expected = -8 * float((p * np.log2(p)).sum())
    assert order0_entropy_bits(sym) == pytest.approx(expected)
    assert sorted(symbol_counts(sym).tolist()) == [1, 1, 2, 4]


def test_shape_is_ignored() -> None:
    sym = np.random.default_rng(0).integers(0, 7, (30, 40)).astype(np.uint8)
    assert order0_entropy_bits(sym) == pytest.approx(order0_entropy_bits(sym.ravel()))
    assert order0_entropy_bits(sym) <= sym.size * math.log2(7) + 1e-9
