"""Huffman code lengths and the exact size of a Huffman-coded symbol sequence (numpy only)."""

from __future__ import annotations

import heapq
import itertools

import numpy as np

__all__ = ["huffman_bits", "huffman_code_lengths"]


def huffman_code_lengths(counts: np.ndarray) -> np.ndarray:
    """Code length in bits of each symbol of a Huffman code for these counts (0 for absent symbols).

    A lone symbol gets 1 bit (a decoder still needs one bit per symbol to count them).

    Example:
        >>> huffman_code_lengths(np.array([5, 1, 1, 0])).tolist()
        [1, 2, 2, 0]
    """
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.zeros(counts.size, dtype=np.int64)
    present = np.flatnonzero(counts > 0)
    if present.size == 1:
        lengths[present] = 1
    if present.size <= 1:
        return lengths
    tie = itertools.count()
    heap = [(int(counts[i]), next(tie), [int(i)]) for i in present]
    heapq.heapify(heap)
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        lengths[s1 + s2] += 1
        heapq.heappush(heap, (c1 + c2, next(tie), s1 + s2))
    return lengths


def huffman_bits(symbols: np.ndarray, alphabet: int) -> int:
    """Bits of ``symbols`` (integers in ``[0, alphabet)``) under their own Huffman code, plus the code
    table sent as one 5-bit length per symbol of the alphabet.

    Example:
        >>> huffman_bits(np.array([0, 0, 0, 1]), 2)
        14
    """
    counts = np.bincount(np.asarray(symbols, dtype=np.int64).reshape(-1), minlength=alphabet)
    return int((counts * huffman_code_lengths(counts)).sum()) + 5 * alphabet
