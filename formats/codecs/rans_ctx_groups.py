"""The group model of codec 8 (spec/CODECS.md section 6): a symbol stream as tokens, and back.

The stream is cut into groups of ``g`` consecutive symbols (the last one may be shorter); ``m`` is the
zero symbol. Each group becomes its *count* ``c`` (symbols other than ``m``) and, when ``0 < c <`` its
length, the *rank* of its pattern of non-zero positions among the ``C(length, c)`` patterns (colex
order: the patterns sorted as bit masks, bit ``p`` for position ``p``). Each non-zero symbol becomes its
*magnitude* ``|s - m|`` and a *sign token*: the sign itself (1 for ``s > m``) for the first non-zero of
its group, else 1 when its sign differs from the previous non-zero's of the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from formats.codecs.rans_table import FreqTable
from formats.errors import CodecError

MAX_GROUP = 16  # group lengths 1 .. 16: pattern masks fit 16 bits, ranks fit C(16, 8) = 12870


@lru_cache(maxsize=1)
def binomials() -> np.ndarray:
    """``C(n, k)`` for ``0 <= n, k <= MAX_GROUP`` as an int64 table (0 where ``k > n``).

    Example:
        >>> int(binomials()[9, 4]), int(binomials()[3, 5])
        (126, 0)
    """
    table = np.zeros((MAX_GROUP + 1, MAX_GROUP + 1), dtype=np.int64)
    for n in range(MAX_GROUP + 1):
        table[n, 0] = 1
        for k in range(1, n + 1):
            table[n, k] = table[n - 1, k - 1] + table[n - 1, k]
    return table


def widest_pattern_count(g: int) -> int:
    """``max_c C(g, c)`` over ``0 < c < g`` (1 for ``g <= 2``): the largest implicit pattern table of a group length.

    Example:
        >>> widest_pattern_count(9), widest_pattern_count(1)
        (126, 1)
    """
    return max(1, int(binomials()[g, g // 2])) if g >= 2 else 1


@lru_cache(maxsize=1)
def rank_masks() -> tuple[np.ndarray, np.ndarray]:
    """All 16-bit masks sorted by (popcount, value), and where each popcount starts.

    The masks of popcount ``c`` that fit in ``k`` bits are the first ``C(k, c)`` of that popcount, in
    increasing order, so ``masks[start[c] + r]`` is the pattern of rank ``r`` for every group length.

    Example:
        >>> masks, start = rank_masks()
        >>> [int(v) for v in masks[start[2] : start[2] + 3]]
        [3, 5, 6]
    """
    values = np.arange(1 << MAX_GROUP, dtype=np.int64)
    ones = popcounts(values)
    order = np.argsort(ones, kind="stable")  # values are ascending already: stable keeps them so per popcount
    start = np.concatenate(([0], np.cumsum(np.bincount(ones, minlength=MAX_GROUP + 1))))
    return values[order].astype("<u2"), start.astype(np.int64)


@lru_cache(maxsize=1)
def set_positions() -> np.ndarray:
    """For every 16-bit mask, the positions of its set bits in increasing order (then 0s): uint8 (65536, 16).

    Example:
        >>> set_positions()[0b1010, :2].tolist()
        [1, 3]
    """
    values = np.arange(1 << MAX_GROUP, dtype="<u2")
    bits = np.unpackbits(values.view(np.uint8), bitorder="little").reshape(-1, MAX_GROUP)
    order = np.argsort(1 - bits, axis=1, kind="stable")  # the set positions first, each run ascending
    return np.where(np.take_along_axis(bits, order, axis=1) == 1, order, 0).astype(np.uint8)


def popcounts(values: np.ndarray) -> np.ndarray:
    """Number of set bits of each value below 2^16 (int64).

    Example:
        >>> popcounts(np.array([0, 7, 65535])).tolist()
        [0, 3, 16]
    """
    v = np.asarray(values, dtype="<u2")
    return np.unpackbits(v.reshape(-1, 1).view(np.uint8), axis=1).sum(axis=1).astype(np.int64).reshape(v.shape)


@lru_cache(maxsize=256)
def pattern_table(n: int, precision: int) -> FreqTable:
    """The implicit near-uniform table of ``n`` pattern ranks at ``precision`` (``n <= 2^precision``).

    With ``M = 2^precision``, ``q = M // n`` and ``r = M % n``: ranks ``0 .. r - 1`` get ``q + 1`` slots,
    the others ``q`` (so the slot order of codec 6 puts rank ``i`` at ``i (q + 1)`` or ``r + i q``).

    Example:
        >>> pattern_table(3, 2).freqs.tolist()
        [2, 1, 1]
    """
    total = 1 << precision
    if not 1 <= n <= total:
        raise ValueError(f"{n} patterns do not fit a table of precision {precision}")
    q, r = divmod(total, n)
    freqs = np.full(n, q, dtype=np.int64)
    freqs[:r] += 1
    return FreqTable(precision, np.arange(n, dtype=np.int64), freqs)


@dataclass(frozen=True)
class GroupTokens:
    """The tokens of one stream for a group length ``g`` and zero symbol ``m`` (see the module doc)."""

    n: int  # symbols of the stream
    g: int  # group length
    counts: np.ndarray  # int64, one per group
    ranks: np.ndarray  # int64, one per pattern group (0 < count < group length), in group order
    pattern_sizes: np.ndarray  # int64, C(length, count) of each pattern group (its table's rank count)
    magnitudes: np.ndarray  # int64 |s - m| of each non-zero symbol, in stream order
    signs: np.ndarray  # int64 sign token of each non-zero symbol
    first: np.ndarray  # bool, the non-zero is the first of its group

    @property
    def nonzeros(self) -> int:
        return int(self.magnitudes.size)


def group_lengths(n: int, g: int) -> np.ndarray:
    """Length of each group: ``g``, the last one ``n - (G - 1) g`` (``G = ceil(n / g)``).

    Example:
        >>> group_lengths(10, 4).tolist()
        [4, 4, 2]
    """
    count = -(-n // g)
    lengths = np.full(count, g, dtype=np.int64)
    if count:
        lengths[-1] = n - (count - 1) * g
    return lengths


def split_groups(symbols: np.ndarray, m: int, g: int) -> GroupTokens:
    """Tokens of a stream (the writer's side of :func:`join_groups`).

    Args:
        symbols: the stream, uint8 or uint16.
        m: the zero symbol.
        g: group length, ``1 .. 16``.

    Returns:
        The tokens.

    Example:
        >>> t = split_groups(np.array([2, 5, 2, 2, 1, 0], dtype=np.uint8), 2, 3)
        >>> t.counts.tolist(), t.ranks.tolist(), t.magnitudes.tolist(), t.signs.tolist()
        ([1, 2], [1, 2], [3, 1, 2], [1, 0, 0])
    """
    sym = np.asarray(symbols).astype(np.int64)
    n = sym.size
    lengths = group_lengths(n, g)
    padded = np.zeros(lengths.size * g, dtype=bool)
    padded[:n] = sym != m
    flags = padded.reshape(-1, g)
    counts = flags.sum(axis=1).astype(np.int64)
    ordinal = np.cumsum(flags, axis=1)  # 1-based ordinal of each non-zero within its group
    pos = np.broadcast_to(np.arange(g), flags.shape)
    weights = np.where(flags, binomials()[pos, ordinal * flags], 0)
    ranks_all = weights.sum(axis=1)
    is_pattern = (counts > 0) & (counts < lengths)
    nz = np.flatnonzero(padded[:n])
    values = sym[nz] - m
    positive = (values > 0).astype(np.int64)
    first = np.ones(nz.size, dtype=bool)
    first[1:] = nz[1:] // g != nz[:-1] // g
    signs = positive.copy()
    signs[1:] ^= np.where(first[1:], 0, positive[:-1])
    return GroupTokens(
        n=n,
        g=g,
        counts=counts,
        ranks=ranks_all[is_pattern].astype(np.int64),
        pattern_sizes=binomials()[lengths[is_pattern], counts[is_pattern]],
        magnitudes=np.abs(values),
        signs=signs,
        first=first,
    )


def phase_b_layout(counts: np.ndarray, n: int, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the counts say about the phase-B tokens (checked against the group lengths).

    Args:
        counts: decoded count of each group.
        n: symbols of the stream.
        g: group length.

    Returns:
        ``(pattern_sizes, first, lengths)``: the rank count of each pattern group's table, whether each
        non-zero is the first of its group, and the group lengths.

    Raises:
        CodecError: a count exceeds its group's length.

    Example:
        >>> sizes, first, _ = phase_b_layout(np.array([2, 0, 1]), 7, 3)
        >>> sizes.tolist(), first.tolist()
        ([3], [True, False, True])
    """
    lengths = group_lengths(n, g)
    counts = np.asarray(counts, dtype=np.int64)
    if (counts > lengths).any():
        i = int(np.flatnonzero(counts > lengths)[0])
        raise CodecError(f"rans-ctx group {i} has count {int(counts[i])}, more than its {int(lengths[i])} symbols")
    is_pattern = (counts > 0) & (counts < lengths)
    first = np.zeros(int(counts.sum()), dtype=bool)
    nonempty = counts > 0
    first[(np.cumsum(counts) - counts)[nonempty]] = True
    return binomials()[lengths[is_pattern], counts[is_pattern]], first, lengths


def join_groups(
    n: int, g: int, m: int, width: int, counts: np.ndarray, ranks: np.ndarray, magnitudes: np.ndarray, signs: np.ndarray
) -> np.ndarray:
    """Rebuild the stream from decoded tokens (the reader's side of :func:`split_groups`).

    Args:
        n: symbols of the stream.
        g: group length.
        m: the zero symbol.
        width: bytes per symbol (1 or 2).
        counts: one per group.
        ranks: one per pattern group, each below its table's rank count.
        magnitudes: one per non-zero symbol, each >= 1.
        signs: one sign token per non-zero symbol.

    Returns:
        The symbols (uint8, or little-endian uint16).

    Raises:
        CodecError: a symbol ``m +- magnitude`` falls outside the alphabet.

    Example:
        >>> join_groups(6, 3, 2, 1, np.array([1, 2]), np.array([1, 2]), np.array([3, 1, 2]),
        ...             np.array([1, 0, 0])).tolist()
        [2, 5, 2, 2, 1, 0]
    """
    lengths = group_lengths(n, g)
    counts = np.asarray(counts, dtype=np.int64)
    masks_sorted, start = rank_masks()
    full = counts == lengths
    masks = np.zeros(counts.size, dtype="<u2")
    masks[full] = ((np.int64(1) << lengths[full]) - 1).astype("<u2")
    is_pattern = (counts > 0) & ~full
    masks[is_pattern] = masks_sorted[start[counts[is_pattern]] + np.asarray(ranks, dtype=np.int64)]
    group_of = np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    first_at = np.cumsum(counts) - counts
    ordinal = np.arange(group_of.size, dtype=np.int64) - first_at[group_of]
    nz = set_positions()[masks[group_of], ordinal] + g * group_of
    signs = np.asarray(signs, dtype=np.int64)
    nonempty = counts > 0
    starts = first_at[nonempty]
    running = np.cumsum(signs)
    base = np.repeat(running[starts] - signs[starts], counts[nonempty])
    positive = ((running - base) & 1).astype(bool)
    mags = np.asarray(magnitudes, dtype=np.int64)
    values = np.where(positive, m + mags, m - mags)
    top = (1 << (8 * width)) - 1
    if nz.size and (int(values.min()) < 0 or int(values.max()) > top):
        bad = int(values[(values < 0) | (values > top)][0])
        raise CodecError(f"rans-ctx symbol {bad} (zero symbol {m} plus or minus a magnitude) is outside 0..{top}")
    dtype = np.dtype("<u2") if width == 2 else np.dtype(np.uint8)
    out = np.full(n, m, dtype=dtype)
    out[nz] = values
    return out


__all__ = [
    "MAX_GROUP",
    "GroupTokens",
    "binomials",
    "group_lengths",
    "join_groups",
    "pattern_table",
    "phase_b_layout",
    "popcounts",
    "rank_masks",
    "split_groups",
    "widest_pattern_count",
]
