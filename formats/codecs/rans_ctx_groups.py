"""The group model of codec 8 (spec/CODECS.md section 6): a symbol stream as tokens, and back.

The stream is cut into groups of ``g`` consecutive symbols (the last one may be shorter); ``m`` is the
zero symbol. Each group becomes its *count* ``c`` (symbols other than ``m``) and, when ``0 < c <`` its
length, the *rank* of its pattern of non-zero positions among the ``C(length, c)`` patterns (colex
order: the patterns sorted as bit masks, bit ``p`` for position ``p``). Each non-zero symbol becomes its
*magnitude* ``|s - m|`` and a *sign token*: the sign itself (1 for ``s > m``) for the first non-zero of
its group, else 1 when its sign differs from the previous non-zero's of the group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from formats.codecs.rans_table import FreqTable
from formats.errors import CodecError

MAX_GROUP = 16  # group lengths 1 .. 16: pattern masks fit 16 bits, ranks fit C(16, 8) = 12870
MAX_PRECISION_BITS = 16  # no table is finer than 2^16 slots


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


def widest_pattern_count(g: int, counts: Sequence[int] | np.ndarray) -> int:
    """``max C(g, c)`` over the ``counts`` with ``0 < c < g`` (1 if there are none): the largest pattern table a
    payload with groups of ``g`` and these possible counts can need (a shorter last group needs less).

    Example:
        >>> widest_pattern_count(9, [0, 1, 2, 9]), widest_pattern_count(1, [0, 1])
        (36, 1)
    """
    row = binomials()[g]
    return max([1] + [int(row[int(c)]) for c in counts if 0 < int(c) < g])


def pattern_precision(sizes: np.ndarray | int, slack: int) -> np.ndarray:
    """Precision of the pattern table of ``n`` ranks: ``min(16, bit_length(n - 1) + slack)`` (CODECS.md 6.3).

    Example:
        >>> pattern_precision(np.array([2, 36, 126, 12870]), 3).tolist()
        [4, 9, 10, 16]
    """
    bits = np.frexp(np.asarray(sizes, dtype=np.int64) - 1)[1].astype(np.int64)  # bit_length of n - 1
    return np.minimum(MAX_PRECISION_BITS, bits + slack)


@lru_cache(maxsize=MAX_GROUP + 1)
def rank_masks(bits: int = MAX_GROUP) -> tuple[np.ndarray, np.ndarray]:
    """All ``bits``-bit masks sorted by (popcount, value), and where each popcount starts.

    The masks of popcount ``c`` that fit in ``k <= bits`` bits are the first ``C(k, c)`` of that popcount, in
    increasing order, so ``masks[start[c] + r]`` is the pattern of rank ``r`` for every group length up to
    ``bits``; rank 0 of popcount ``c`` is the ``c`` low bits.

    Example:
        >>> masks, start = rank_masks(4)
        >>> [int(v) for v in masks[start[2] : start[2] + 3]]
        [3, 5, 6]
    """
    values = np.arange(1 << bits, dtype=np.int64)
    ones = popcounts(values)
    order = np.argsort(ones, kind="stable")  # values are ascending: a stable sort keeps them so per popcount
    start = np.concatenate(([0], np.cumsum(np.bincount(ones, minlength=bits + 1))))
    return values[order], start.astype(np.int64)


def popcounts(values: np.ndarray) -> np.ndarray:
    """Number of set bits of each value below 2^16 (int64).

    Example:
        >>> popcounts(np.array([0, 7, 65535])).tolist()
        [0, 3, 16]
    """
    v = np.asarray(values, dtype=np.int64)
    out = np.zeros(v.shape, dtype=np.int64)
    for bit in range(MAX_GROUP):
        out += (v >> bit) & 1
    return out


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


#: Groups, and non-zeros, per chunk of :func:`join_groups` (its temporaries are ~40 bytes per non-zero and ~24 per
#: group of a chunk).
JOIN_CHUNK = 1 << 17


@dataclass(frozen=True)
class Geometry:
    """The groups of several streams side by side: group ``k`` of the joined list belongs to stream
    ``stream[k]``, has length ``length[k]`` and starts at symbol ``base[k]`` of the joined output."""

    n: np.ndarray  # int64, symbols of each stream
    g: np.ndarray  # int64, group length of each stream
    groups: np.ndarray  # int64, group count of each stream
    length: np.ndarray  # int64, per group
    base: np.ndarray  # int64, per group: first symbol in the joined output
    stream: np.ndarray  # int64, per group

    @classmethod
    def of(cls, n: Sequence[int], g: Sequence[int]) -> Geometry:
        """Geometry of streams of ``n[j]`` symbols in groups of ``g[j]``.

        Example:
            >>> Geometry.of([10, 4], [4, 4]).length.tolist()
            [4, 4, 2, 4]
        """
        n_arr, g_arr = np.asarray(n, dtype=np.int64), np.asarray(g, dtype=np.int64)
        groups = -(-n_arr // g_arr)
        stream = np.repeat(np.arange(n_arr.size, dtype=np.int64), groups)
        first = np.cumsum(groups) - groups
        index = np.arange(stream.size, dtype=np.int64) - first[stream]
        offset = np.cumsum(n_arr) - n_arr
        length = np.minimum(g_arr[stream], n_arr[stream] - index * g_arr[stream])
        return cls(n_arr, g_arr, groups, length, offset[stream] + index * g_arr[stream], stream)


def join_streams(
    geometry: Geometry,
    m: Sequence[int],
    width: Sequence[int],
    counts: np.ndarray,
    ranks: np.ndarray,
    magnitudes: np.ndarray,
    signs: np.ndarray,
) -> list[np.ndarray]:
    """Rebuild every stream from its decoded tokens, all streams' tokens joined (the reader's side of
    :func:`split_groups`): :func:`join_groups` on each stream's share of the tokens.

    Args:
        geometry: the streams' groups.
        m: zero symbol of each stream.
        width: bytes per symbol of each stream (1 or 2).
        counts: one per group, each at most its group's length.
        ranks: one per pattern group, each below its table's rank count.
        magnitudes: one per non-zero symbol, each >= 1.
        signs: one sign token per non-zero symbol.

    Returns:
        The symbols of each stream (uint8, or little-endian uint16).

    Raises:
        CodecError: a symbol ``m +- magnitude`` falls outside its alphabet (the message names ``stream j``).

    Example:
        >>> geometry = Geometry.of([6], [3])
        >>> join_streams(geometry, [2], [1], np.array([1, 2]), np.array([1, 2]), np.array([3, 1, 2]),
        ...              np.array([1, 0, 0]))[0].tolist()
        [2, 5, 2, 2, 1, 0]
    """
    counts = np.asarray(counts, dtype=np.int64)
    group_ends = np.cumsum(geometry.groups)
    nz_ends = np.concatenate(([0], np.cumsum(counts)))[group_ends]
    pattern = (counts > 0) & (counts < geometry.length)
    pat_ends = np.concatenate(([0], np.cumsum(pattern)))[group_ends]
    out = []
    g0 = z0 = r0 = 0
    for j, (g1, z1, r1) in enumerate(zip(group_ends.tolist(), nz_ends.tolist(), pat_ends.tolist(), strict=True)):
        try:
            out.append(join_groups(int(geometry.n[j]), int(geometry.g[j]), m[j], width[j], counts[g0:g1],
                                   ranks[r0:r1], magnitudes[z0:z1], signs[z0:z1]))
        except CodecError as err:
            raise CodecError(f"stream {j}: {err}") from err
        g0, z0, r0 = g1, z1, r1
    return out


@lru_cache(maxsize=MAX_GROUP + 1)
def _masks_u16(bits: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rank_masks` with the masks as little-endian uint16 (what :func:`join_groups` unpacks)."""
    masks, start = rank_masks(bits)
    return masks.astype("<u2"), start


def join_groups(
    n: int, g: int, m: int, width: int, counts: np.ndarray, ranks: np.ndarray, magnitudes: np.ndarray, signs: np.ndarray
) -> np.ndarray:
    """Rebuild one stream from its decoded tokens (the reader's side of :func:`split_groups`).

    Each group's pattern mask comes from its count and rank (:func:`rank_masks`); the masks unpacked to bits
    are the stream's non-zero flags, in order. A non-zero's sign is the parity of the sign tokens of its group
    up to it. The work runs over chunks of whole groups (at most ``JOIN_CHUNK`` groups and ``JOIN_CHUNK``
    non-zeros, or one group), so the temporaries stay bounded whatever the stream's size.

    Args:
        n: symbols of the stream.
        g: group length.
        m: zero symbol.
        width: bytes per symbol (1 or 2).
        counts: one per group, each at most its group's length.
        ranks: one per pattern group (``0 < count <`` length), each below ``C(length, count)``.
        magnitudes: one per non-zero symbol, each >= 1.
        signs: one sign token per non-zero symbol (0 or 1).

    Returns:
        The symbols (uint8, or little-endian uint16).

    Raises:
        CodecError: a symbol ``m +- magnitude`` falls outside ``0 .. 2^(8 width) - 1``.

    Example:
        >>> join_groups(6, 3, 2, 1, np.array([1, 2]), np.array([1, 2]), np.array([3, 1, 2]),
        ...             np.array([1, 0, 0])).tolist()
        [2, 5, 2, 2, 1, 0]
    """
    counts = np.asarray(counts, dtype=np.int64)
    groups = counts.size
    lengths = group_lengths(n, g)
    masks_sorted, start = _masks_u16(g)
    # the smallest mask of popcount c is the c low bits: rank 0 serves the empty and the full groups
    rank = start[counts]
    rank[np.flatnonzero((counts > 0) & (counts < lengths))] += ranks
    masks = masks_sorted[rank]
    del rank
    top = (1 << (8 * width)) - 1
    out = np.full(n, m, dtype=np.dtype("<u2") if width == 2 else np.dtype(np.uint8))
    nz_before = np.concatenate(([0], np.cumsum(counts)))  # non-zeros before each group
    # 32 bits hold every token and m + magnitude (< 2^17)
    magnitudes = np.asarray(magnitudes, dtype=np.int32)
    signs = np.asarray(signs, dtype=np.int32)
    a = 0
    while a < groups:
        b = min(groups, a + JOIN_CHUNK, int(np.searchsorted(nz_before, nz_before[a] + JOIN_CHUNK, side="right")) - 1)
        b = max(b, a + 1)
        lo, hi = int(nz_before[a]), int(nz_before[b])
        if hi > lo:
            bits = np.unpackbits(masks[a:b].view(np.uint8).reshape(-1, 2), axis=1, count=g, bitorder="little")
            flags = bits.reshape(-1)[: min(n, b * g) - a * g].view(np.bool_)
            c = counts[a:b]
            # a non-zero is above m when its group's sign tokens up to it have parity 1: one xor scan over the
            # chunk, its restart at each group's first non-zero f made by xor-ing into f's token P(f - 1) ^ P(f' - 1)
            # (P the plain scan, f' the previous group's first), so the scan gives P(i) ^ P(f - 1) in f's group
            tokens = signs[lo:hi]
            firsts = (nz_before[a:b] - lo)[c > 0]
            scan = np.bitwise_xor.accumulate(tokens)
            reset = scan[firsts] ^ tokens[firsts]  # P(f - 1)
            reset[1:] ^= reset[:-1].copy()
            tokens = tokens.copy()
            tokens[firsts] ^= reset
            parity = np.bitwise_xor.accumulate(tokens)
            parity -= 1  # 0 above m, -1 below
            values = magnitudes[lo:hi] ^ parity  # +-magnitude: (v ^ 0) - 0 or (v ^ -1) + 1
            values -= parity
            values += m
            if int(values.min()) < 0 or int(values.max()) > top:
                k = int(np.flatnonzero((values < 0) | (values > top))[0])
                raise CodecError(
                    f"rans-ctx symbol {int(values[k])} (zero symbol {m} plus or minus a magnitude) is outside 0..{top}"
                )
            out[a * g + np.flatnonzero(flags)] = values.astype(out.dtype)
        a = b
    return out


__all__ = [
    "JOIN_CHUNK",
    "MAX_GROUP",
    "Geometry",
    "GroupTokens",
    "binomials",
    "group_lengths",
    "join_groups",
    "join_streams",
    "pattern_precision",
    "pattern_table",
    "popcounts",
    "rank_masks",
    "split_groups",
    "widest_pattern_count",
]
