"""Winograd matrices: exact Cook–Toom construction, float64 accuracy, filter transform, no torch."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.errors import LayoutError, LimitError
from formats.winograd import (
    transform_filters,
    winograd_matrices,
    winograd_matrices_exact,
    winograd_points,
)

PAPER_CASES = [(2, 3), (4, 3), (6, 3), (2, 5), (4, 5)]


def _matmul(a, b):
    return [
        [sum((x * y for x, y in zip(row, col, strict=True)), Fraction(0)) for col in zip(*b, strict=True)] for row in a
    ]


def _transpose(a):
    return [list(col) for col in zip(*a, strict=True)]


def _direct_1d(d, g, m):
    return [sum((d[i + k] * g[k] for k in range(len(g))), Fraction(0)) for i in range(m)]


def _winograd_1d_exact(d, g, m, r):
    at, gm, bt = winograd_matrices_exact(m, r)
    u = [sum((a * b for a, b in zip(row, g, strict=True)), Fraction(0)) for row in gm]
    v = [sum((a * b for a, b in zip(row, d, strict=True)), Fraction(0)) for row in bt]
    return [sum((a * x * y for a, x, y in zip(row, u, v, strict=True)), Fraction(0)) for row in at]


def _rand_fractions(rng, *shape):
    if len(shape) == 1:
        return [Fraction(rng.randint(-50, 50), rng.randint(1, 9)) for _ in range(shape[0])]
    return [_rand_fractions(rng, *shape[1:]) for _ in range(shape[0])]


@pytest.mark.parametrize(("m", "r"), PAPER_CASES)
def test_1d_exact_equals_direct_correlation(m, r):
    rng = random.Random(m * 100 + r)
    for _ in range(5):
        d = _rand_fractions(rng, m + r - 1)
        g = _rand_fractions(rng, r)
        assert _winograd_1d_exact(d, g, m, r) == _direct_1d(d, g, m)


@pytest.mark.parametrize(("m", "r"), PAPER_CASES)
def test_2d_exact_equals_direct_correlation(m, r):
    rng = random.Random(m * 1000 + r)
    n = m + r - 1
    at, gm, bt = (list(map(list, x)) for x in winograd_matrices_exact(m, r))
    x = _rand_fractions(rng, n, n)
    w = _rand_fractions(rng, r, r)
    u = _matmul(_matmul(gm, w), _transpose(gm))
    v = _matmul(_matmul(bt, x), _transpose(bt))
    prod = [[a * b for a, b in zip(ru, rv, strict=True)] for ru, rv in zip(u, v, strict=True)]
    y = _matmul(_matmul(at, prod), _transpose(at))
    direct = [
        [sum((x[i + a][j + b] * w[a][b] for a in range(r) for b in range(r)), Fraction(0)) for j in range(m)]
        for i in range(m)
    ]
    assert y == direct


@given(m=st.integers(1, 8), r=st.integers(1, 7), seed=st.integers(0, 2**31))
@settings(max_examples=40, deadline=None)
def test_1d_exact_for_any_supported_size(m, r, seed):
    rng = random.Random(seed)
    d = _rand_fractions(rng, m + r - 1)
    g = _rand_fractions(rng, r)
    assert _winograd_1d_exact(d, g, m, r) == _direct_1d(d, g, m)


def _direct_2d(x, w):
    r = w.shape[-1]
    m = x.shape[-1] - r + 1
    out = np.zeros(x.shape[:-2] + (m, m))
    for a in range(r):
        for b in range(r):
            out += x[..., a : a + m, b : b + m] * w[..., a : a + 1, b : b + 1]
    return out


@pytest.mark.parametrize(("m", "r"), PAPER_CASES)
def test_float64_within_1e12_relative(m, r):
    rng = np.random.default_rng(m * 10 + r)
    n = m + r - 1
    at, g, bt = winograd_matrices(m, r)
    x = rng.standard_normal((200, n, n))
    w = rng.standard_normal((200, r, r))
    y = at @ ((g @ w @ g.T) * (bt @ x @ bt.T)) @ at.T
    ref = _direct_2d(x, w)
    scale = np.abs(x).max() * np.abs(w).sum(axis=(-1, -2), keepdims=True)
    assert np.max(np.abs(y - ref) / scale) < 1e-12
    d = rng.standard_normal((200, n))
    taps = rng.standard_normal((200, r))
    y1 = ((taps @ g.T) * (d @ bt.T)) @ at.T
    ref1 = np.stack([(d[:, i : i + r] * taps).sum(-1) for i in range(m)], axis=-1)
    assert np.max(np.abs(y1 - ref1) / (np.abs(d).max() * np.abs(taps).sum(-1, keepdims=True))) < 1e-12


def test_lavin_f43_matrices():
    at, g, bt = winograd_matrices(4, 3)
    np.testing.assert_array_equal(bt[0], [4, 0, -5, 0, 1, 0])
    np.testing.assert_array_equal(bt[5], [0, 4, 0, -5, 0, 1])
    np.testing.assert_array_equal(at[3], [0, 1, -1, 8, -8, 1])
    assert g[3, 0] == 1 / 24 and g[1, 0] == -1 / 6


def test_points_follow_spec_sequence():
    assert [str(p) for p in winograd_points(8)] == ["0", "1", "-1", "2", "-2", "1/2", "-1/2"]
    assert [str(p) for p in winograd_points(12)][7:] == ["3", "-3", "1/3", "-1/3"]
    assert winograd_points(1) == ()


def test_float_matrices_are_rounded_exact_values_and_cached():
    for exact, flt in zip(winograd_matrices_exact(6, 3), winograd_matrices(6, 3), strict=True):
        assert flt.dtype == np.float64
        assert flt.tolist() == [[float(v) for v in row] for row in exact]
        assert not flt.flags.writeable
    assert winograd_matrices(6, 3)[0] is winograd_matrices(6, 3)[0]


def test_transform_filters_matches_matrix_product_and_keeps_dtype():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((4, 3, 5, 5)).astype(np.float32)
    out = transform_filters(w, 4)
    _, g, _ = winograd_matrices(4, 5)
    assert out.shape == (4, 3, 8, 8) and out.dtype == np.float32
    exact64 = np.einsum("ia,ocab,jb->ocij", g, w.astype(np.float64), g)
    np.testing.assert_array_equal(out, (g @ w.astype(np.float64) @ g.T).astype(np.float32))
    np.testing.assert_allclose(out, exact64, rtol=2**-23, atol=1e-30)
    assert transform_filters(np.ones((3, 3), np.int8), 2).dtype == np.float64


@pytest.mark.parametrize(("m", "r"), [(0, 3), (2, 0), (10, 8), (2.5, 3), (True, 3)])
def test_bad_sizes_raise_limit_error(m, r):
    with pytest.raises(LimitError, match="F\\(m=|tile size"):
        winograd_matrices(m, r)


def test_non_square_filters_raise_layout_error():
    with pytest.raises(LayoutError, match="square"):
        transform_filters(np.zeros((2, 3, 5)), 2)


def test_formats_winograd_imports_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import formats.winograd as w; print(w.winograd_matrices(2, 3)[0].shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(2, 4)"


def _round_to_float32(value: Fraction) -> np.float32:
    candidate = np.float32(float(value))
    neighbours = [candidate, np.nextafter(candidate, np.float32(-np.inf)), np.nextafter(candidate, np.float32(np.inf))]
    return min(neighbours, key=lambda c: abs(Fraction(float(c)) - value))


def test_float32_via_float64_equals_direct_rounding():
    for n in range(1, 11):
        for r in range(1, n + 1):
            for matrix in winograd_matrices_exact(n - r + 1, r):
                for v in (v for row in matrix for v in row):
                    assert np.float32(float(v)) == _round_to_float32(v), (n, r, v)


def _spec_blocks():
    spec = (Path(__file__).resolve().parents[2] / "spec" / "WINOGRAD.md").read_text(encoding="utf-8")
    for match in re.finditer(r"### F\((\d+), (\d+)\).*?```\n(.*?)```", spec, re.S):
        m, r, body = int(match[1]), int(match[2]), match[3]
        parts = re.split(r"^(AT|G|BT) \(.*\):\n", body, flags=re.M)[1:]
        yield (
            m,
            r,
            {
                name: [[Fraction(c) for c in line.split()] for line in text.strip().splitlines()]
                for name, text in zip(parts[::2], parts[1::2], strict=True)
            },
        )


def test_spec_tables_match_the_construction():
    blocks = list(_spec_blocks())
    assert [(m, r) for m, r, _ in blocks] == PAPER_CASES
    for m, r, printed in blocks:
        at, g, bt = winograd_matrices_exact(m, r)
        assert printed == {
            "AT": [list(row) for row in at],
            "G": [list(row) for row in g],
            "BT": [list(row) for row in bt],
        }
