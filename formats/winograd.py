"""Winograd transform matrices F(m, r) built exactly by the Cook–Toom construction (numpy only).

A 1-D Winograd correlation of ``m`` outputs with an ``r``-tap filter reads a tile of
``n = m + r - 1`` inputs ``d`` and computes ``y = AT @ ((G @ g) * (BT @ d))``; the 2-D
version nests it: ``Y = AT @ ((G @ w @ G.T) * (BT @ x @ BT.T)) @ AT.T``. The matrices
depend only on ``(m, r)`` and on the interpolation points, which spec/WINOGRAD.md fixes
normatively (``winograd_points``). Everything is computed in exact rational arithmetic
(:class:`fractions.Fraction`) and cast to float64 only at the end, so every runtime that
follows the spec gets bit-identical matrices.

This module never imports torch.
"""

from __future__ import annotations

import functools
from fractions import Fraction

import numpy as np

from formats.errors import LayoutError, LimitError

__all__ = [
    "MAX_TILE",
    "ExactMatrix",
    "transform_filters",
    "winograd_matrices",
    "winograd_matrices_exact",
    "winograd_points",
]

MAX_TILE = 16
"""Largest tile size ``n = m + r - 1`` accepted (beyond it float32 Winograd is useless)."""

ExactMatrix = tuple[tuple[Fraction, ...], ...]


def winograd_points(n: int) -> tuple[Fraction, ...]:
    """The ``n - 1`` finite interpolation points of a tile of size ``n`` (infinity is implied last).

    The sequence is ``0, 1, -1, 2, -2, 1/2, -1/2, 3, -3, 1/3, -1/3, 4, -4, 1/4, -1/4, ...``
    (for k = 2, 3, ...: ``k, -k, 1/k, -1/k``), truncated to its first ``n - 1`` entries.

    Args:
        n: tile size ``m + r - 1``, 1 <= n <= :data:`MAX_TILE`.

    Returns:
        The finite points in the order they index rows of ``G``/``BT`` and columns of ``AT``.

    Example:
        >>> [str(p) for p in winograd_points(6)]
        ['0', '1', '-1', '2', '-2']
    """
    _check_tile(n)
    points = [Fraction(0), Fraction(1), Fraction(-1)]
    k = 2
    while len(points) < n - 1:
        points += [Fraction(k), Fraction(-k), Fraction(1, k), Fraction(-1, k)]
        k += 1
    return tuple(points[: n - 1])


def winograd_matrices_exact(m: int, r: int) -> tuple[ExactMatrix, ExactMatrix, ExactMatrix]:
    """Exact ``(AT, G, BT)`` of F(m, r) as nested tuples of :class:`~fractions.Fraction`.

    Construction (spec/WINOGRAD.md, "Construction"), with finite points ``p_0..p_{n-2}``:
    ``N_i(x) = prod_{k != i} (x - p_k)``, ``f_i = N_i(p_i)``, ``M(x) = prod_k (x - p_k)``;
    ``AT[j][i] = p_i**j`` and ``AT[j][n-1] = [j == m-1]``; ``G[i][j] = p_i**j / f_i`` and
    ``G[n-1][j] = [j == r-1]``; ``BT[i][j]`` = coefficient of ``x**j`` in ``N_i`` and ``BT[n-1][j]``
    = coefficient of ``x**j`` in ``M``. Finally, if ``f_0 < 0``, row 0 of ``G`` and of ``BT`` are negated.

    Args:
        m: outputs per tile (>= 1).
        r: filter taps (>= 1); ``m + r - 1 <= MAX_TILE``.

    Returns:
        ``(AT, G, BT)`` with shapes ``(m, n)``, ``(n, r)``, ``(n, n)``.

    Example:
        >>> AT, G, BT = winograd_matrices_exact(2, 3)
        >>> [str(v) for v in G[1]]
        ['1/2', '1/2', '1/2']
    """
    return _exact(*_check_mr(m, r))


def winograd_matrices(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float64 ``(AT, G, BT)`` of F(m, r), each entry the correctly rounded exact value.

    The arrays are cached and returned read-only; copy them before modifying.

    Args:
        m: outputs per tile (>= 1).
        r: filter taps (>= 1); ``m + r - 1 <= MAX_TILE``.

    Returns:
        ``(AT, G, BT)`` float64 arrays of shapes ``(m, n)``, ``(n, r)``, ``(n, n)``, ``n = m + r - 1``.

    Example:
        >>> AT, G, BT = winograd_matrices(4, 3)
        >>> AT.shape, G.shape, BT.shape
        ((4, 6), (6, 3), (6, 6))
    """
    return _float(*_check_mr(m, r))


def transform_filters(w: np.ndarray, m: int) -> np.ndarray:
    """Winograd-domain filters ``G @ w @ G.T`` of F(m, r) for a stack of square ``r x r`` filters.

    The product is computed in float64 and returned in ``w``'s floating dtype (float64 for
    integer input).

    Args:
        w: array of shape ``(..., r, r)``, e.g. a conv weight ``(out, in, r, r)``.
        m: output tile size of the Winograd algorithm the deployment uses.

    Returns:
        Array of shape ``(..., n, n)``, ``n = m + r - 1``.

    Example:
        >>> transform_filters(np.ones((2, 1, 3, 3), np.float32), 2).shape
        (2, 1, 4, 4)
    """
    w = np.asarray(w)
    if w.ndim < 2 or w.shape[-1] != w.shape[-2]:
        raise LayoutError(
            f"transform_filters needs square filters in the last two axes, got shape {w.shape}; "
            "pass an array shaped (..., r, r)"
        )
    _, g, _ = winograd_matrices(m, w.shape[-1])
    out = np.matmul(np.matmul(g, w.astype(np.float64, copy=False)), g.T)
    dtype = w.dtype if np.issubdtype(w.dtype, np.floating) else np.dtype(np.float64)
    return out.astype(dtype, copy=False)


def _check_tile(n: int) -> None:
    if not 1 <= n <= MAX_TILE:
        raise LimitError(f"Winograd tile size n={n} is outside 1..{MAX_TILE}; choose a smaller m or r")


def _check_mr(m: int, r: int) -> tuple[int, int]:
    if isinstance(m, bool) or isinstance(r, bool) or int(m) != m or int(r) != r or m < 1 or r < 1:
        raise LimitError(f"Winograd F(m={m!r}, r={r!r}) needs integers m >= 1 and r >= 1")
    _check_tile(int(m) + int(r) - 1)
    return int(m), int(r)


def _poly_from_roots(roots: list[Fraction]) -> list[Fraction]:
    coeffs = [Fraction(1)]  # ascending powers
    for root in roots:
        shifted = [Fraction(0)] + coeffs
        for j, c in enumerate(coeffs):
            shifted[j] -= root * c
        coeffs = shifted
    return coeffs


@functools.lru_cache(maxsize=64)
def _exact(m: int, r: int) -> tuple[ExactMatrix, ExactMatrix, ExactMatrix]:
    n = m + r - 1
    points = list(winograd_points(n))
    at = [[p**j for p in points] + [Fraction(int(j == m - 1))] for j in range(m)]
    g_rows: list[list[Fraction]] = []
    bt_rows: list[list[Fraction]] = []
    for i, p in enumerate(points):
        others = points[:i] + points[i + 1 :]
        f = Fraction(1)
        for q in others:
            f *= p - q
        g_rows.append([p**j / f for j in range(r)])
        bt_rows.append(_poly_from_roots(others) + [Fraction(0)])
        if i == 0 and f < 0:
            g_rows[0] = [-v for v in g_rows[0]]
            bt_rows[0] = [-v for v in bt_rows[0]]
    g_rows.append([Fraction(int(j == r - 1)) for j in range(r)])
    bt_rows.append(_poly_from_roots(points))
    return _freeze(at), _freeze(g_rows), _freeze(bt_rows)


def _freeze(rows: list[list[Fraction]]) -> ExactMatrix:
    return tuple(tuple(row) for row in rows)


def _to_float(rows: ExactMatrix) -> np.ndarray:
    # float(Fraction) is correctly rounded (round-half-even), so every runtime agrees bit for bit.
    out = np.array([[float(v) for v in row] for row in rows], dtype=np.float64)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=64)
def _float(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    at, g, bt = _exact(m, r)
    return _to_float(at), _to_float(g), _to_float(bt)
