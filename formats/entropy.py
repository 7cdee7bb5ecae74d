"""Order-0 empirical entropy of a symbol stream: the bound a static per-tensor entropy coder aims at."""

from __future__ import annotations

import numpy as np


def symbol_counts(symbols: np.ndarray) -> np.ndarray:
    """Occurrence count of each distinct value of ``symbols`` (order of values unspecified, zeros dropped).

    Args:
        symbols: integer (or boolean) array of any shape.

    Returns:
        int64 array of the positive counts.

    Example:
        >>> symbol_counts(np.array([3, 3, 1], dtype=np.uint8)).tolist()
        [1, 2]
    """
    flat = np.asarray(symbols).reshape(-1)
    if flat.size == 0:
        return np.zeros(0, dtype=np.int64)
    if flat.dtype in (np.uint8, np.uint16, np.bool_):
        counts = np.bincount(flat.astype(np.intp, copy=False))
        return counts[counts > 0].astype(np.int64)
    _, counts = np.unique(flat, return_counts=True)
    return counts.astype(np.int64)


def order0_entropy_bits(symbols: np.ndarray) -> float:
    """Total order-0 entropy ``N * H0`` in bits, with ``H0 = -sum p log2 p`` over the empirical frequencies.

    Args:
        symbols: integer array of any shape (flattened).

    Returns:
        ``N * H0`` in bits (0.0 for an empty or constant stream).

    Example:
        >>> order0_entropy_bits(np.array([0, 1, 0, 1], dtype=np.uint8))
        4.0
    """
    counts = symbol_counts(symbols).astype(np.float64)
    n = counts.sum()
    if n == 0:
        return 0.0
    return float(-(counts * np.log2(counts / n)).sum()) + 0.0


def order0_entropy_bytes(symbols: np.ndarray) -> float:
    """``N * H0 / 8``: the order-0 bound in bytes (see :func:`order0_entropy_bits`).

    Args:
        symbols: integer array of any shape.

    Returns:
        The bound in bytes, as a float.

    Example:
        >>> order0_entropy_bytes(np.arange(256, dtype=np.uint8))
        256.0
    """
    return order0_entropy_bits(symbols) / 8.0
