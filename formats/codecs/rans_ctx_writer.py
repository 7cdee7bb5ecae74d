"""Codec 8 writer (spec/CODECS.md 6.6): group length, tables, lanes, and the plain fallback.

The writer picks the zero symbol (the most frequent) and the group length ``g`` with the smallest
estimated cost (:func:`choose_group`), builds the tables (:func:`plan_context`), the lane count
(:func:`lane_count`) and runs the lanes backwards (:func:`formats.codecs.rans_ctx_lanes.encode_lanes`);
when context mode does not clearly win it also codes the stream plain and keeps the smaller payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from formats.codecs.rans import MAX_LANES, StreamPlan, encode_plan, lane_fields, plan_stream
from formats.codecs.rans_ctx_format import MODE_PLAIN, binary_table, stream_size, write_header
from formats.codecs.rans_ctx_groups import (
    MAX_GROUP,
    GroupTokens,
    binomials,
    group_lengths,
    pattern_precision,
    split_groups,
    widest_pattern_count,
)
from formats.codecs.rans_ctx_lanes import PhaseTokens, encode_lanes
from formats.codecs.rans_format import symbol_dtype
from formats.codecs.rans_table import FreqTable, choose_table, slot_starts

CTX_MIN_SYMBOLS = 64  # shorter streams are written plain
CTX_MAX_PRECISION = 12  # explicit tables: at most 4096 slots, and at most about n/8 for a table of n tokens
PRECISION_SLACK = 4
PATTERN_SLACK = 3  # pattern tables give each rank at least 2^3 slots ...
PATTERN_WIDE_BITS = 11  # ... one slack bit less per bit the widest table needs beyond 11 (at least 1)
GROUP_CANDIDATES = tuple(range(1, MAX_GROUP + 1))
LANE_BUDGET_DIVISOR = 256  # lanes and tables get about 1/256 of the estimated payload ...
STEP_CAP = 512  # ... but at least enough lanes that a payload takes at most about this many steps
BYTES_PER_LANE = 2.0
PLAIN_SKIP = 0.97  # the writer codes plain mode too unless context mode's estimate is below this fraction of it
CONTEXT_GAIN = 0.99  # ... and then keeps context mode only if it is smaller than this fraction of plain mode


def table_precision(tokens: int) -> int:
    """Highest precision the writer gives an explicit table of ``tokens`` tokens: ``min(12, bit_length - 4)``.

    Example:
        >>> table_precision(100), table_precision(10**6)
        (3, 12)
    """
    return min(CTX_MAX_PRECISION, max(1, tokens.bit_length() - PRECISION_SLACK))


def choose_binary(zeros: int, ones: int) -> FreqTable:
    """The binary table (precision and frequency of 1) that minimises coded bits plus its field's bits.

    Example:
        >>> t = choose_binary(30, 10)
        >>> t.precision, t.freqs.tolist()
        (2, [3, 1])
    """
    n = zeros + ones
    if zeros == 0 or ones == 0:
        return binary_table(1, 2 if zeros == 0 else 0)
    best, best_bits = binary_table(1, 1), float("inf")
    for p in range(1, table_precision(n) + 1):
        total = 1 << p
        f = min(total - 1, max(1, round(ones * total / n)))
        bits = zeros * np.log2(total / (total - f)) + ones * np.log2(total / f) + 8 * (1 + (f.bit_length() + 6) // 7)
        if bits < best_bits - 1e-9:
            best, best_bits = binary_table(p, f), bits
    return best


def _order0_bits(counts: np.ndarray) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    counts = counts[counts > 0]
    total = counts.sum()
    return float((counts * np.log2(total / counts)).sum()) if total else 0.0


def group_cost(flags: np.ndarray, positive: np.ndarray, g: int) -> float:
    """Estimated bits of everything but the magnitudes for group length ``g`` (the writer's choice of ``g``).

    Counts (order 0 plus about 12 bits per table entry), pattern ranks (``log2 C(length, count)``) and
    sign tokens (order 0 of first signs and of flips).

    Example:
        >>> flags = np.array([1, 1, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
        >>> round(group_cost(flags, np.ones(9, dtype=bool), 3), 2), round(group_cost(flags, np.ones(9, bool), 1), 2)
        (29.92, 32.92)
    """
    return _GroupCoster(flags, positive).cost(g)


class _GroupCoster:
    """:func:`group_cost` for several ``g`` over one stream: what does not depend on ``g`` is computed once
    (the arithmetic per ``g`` is the same, so the costs are bit-identical)."""

    def __init__(self, flags: np.ndarray, positive: np.ndarray) -> None:
        self.flags = flags
        self.ends = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))  # non-zeros before each position
        self.nz = np.flatnonzero(flags)
        pos = positive[self.nz].astype(np.int64)
        self.pos = pos
        self.flips = pos[1:] ^ pos[:-1]
        self.flip_total = int(self.flips.sum())

    def cost(self, g: int) -> float:
        flags, nz = self.flags, self.nz
        n = flags.size
        lengths = group_lengths(n, g)
        bounds = self.ends[np.minimum(np.arange(lengths.size + 1, dtype=np.int64) * g, n)]
        counts = bounds[1:] - bounds[:-1]  # non-zeros per group
        hist = np.bincount(counts, minlength=g + 1)
        bits = _order0_bits(hist) + 12.0 * np.count_nonzero(hist)
        log_binom = np.log2(binomials()[lengths, counts].astype(np.float64))
        bits += float(log_binom.sum())
        if nz.size:
            # the first non-zero of each non-empty group is non-zero number bounds[j]: its sign is coded alone,
            # every later one's as a flip from the one before (counts per group, not per non-zero)
            first = bounds[:-1][counts > 0]
            first_positive = int(self.pos[first].sum())
            firsts = np.array([first.size - first_positive, first_positive], dtype=np.int64)
            skipped = self.flips[first[first > 0] - 1]  # flips into a group's first non-zero are not coded
            later_flips = self.flip_total - int(skipped.sum())
            later = np.array([nz.size - first.size - later_flips, later_flips], dtype=np.int64)
            bits += _order0_bits(firsts) + _order0_bits(later)
        return float(bits)


def choose_group(symbols: np.ndarray, m: int) -> int:
    """The group length (``1 .. min(16, n)``) with the smallest :func:`group_cost`, ties to the shorter.

    Example:
        >>> choose_group(np.tile(np.array([0, 0, 0, 0, 3, 0, 0, 0, 0], np.uint8), 50), 0)
        9
    """
    flags = np.asarray(symbols) != m
    positive = np.asarray(symbols).astype(np.int64) > m
    coster = _GroupCoster(flags, positive)
    best, best_bits = 1, float("inf")
    for g in GROUP_CANDIDATES:
        if g > flags.size:
            break
        bits = coster.cost(g)
        if bits < best_bits - 1e-9:
            best, best_bits = g, bits
    return best


def _lookup(table: FreqTable, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequency and first slot of each of ``symbols`` in ``table``."""
    at = np.searchsorted(table.symbols, symbols)
    return table.freqs[at], slot_starts(table)[at]


def _pattern_codes(sizes: np.ndarray, ranks: np.ndarray, precision: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequency and first slot of each pattern rank in its near-uniform table (rank count ``sizes``)."""
    total = np.int64(1) << precision
    q, r = total // sizes, total % sizes
    big = ranks < r
    freq = np.where(big, q + 1, q)
    start = np.where(big, ranks * (q + 1), r * (q + 1) + (ranks - r) * q)
    return freq, start


def _phase(freq: np.ndarray, start: np.ndarray, precision: np.ndarray) -> PhaseTokens:
    return PhaseTokens(freq.astype(np.uint64), start.astype(np.uint64), precision.astype(np.uint64))


@dataclass(frozen=True)
class CtxPlan:
    """The writer's tables and tokens for one stream in context mode."""

    g: int
    m: int
    width: int
    tokens: GroupTokens
    counts: FreqTable
    magnitudes: FreqTable
    pattern_slack: int
    first: FreqTable
    flip: FreqTable

    def phases(self) -> list[PhaseTokens]:
        """Phase A (counts) and phase B (pattern ranks, magnitudes, sign tokens) as coder tokens (built once)."""
        return self._phases

    @cached_property
    def _phases(self) -> list[PhaseTokens]:
        t = self.tokens
        fa, sa = _lookup(self.counts, t.counts)
        phase_a = _phase(fa, sa, np.full(fa.size, self.counts.precision))
        pp = pattern_precision(t.pattern_sizes, self.pattern_slack)
        fp, sp = _pattern_codes(t.pattern_sizes, t.ranks, pp)
        fm, sm = _lookup(self.magnitudes, t.magnitudes)
        fs, ss = np.zeros(t.nonzeros, np.int64), np.zeros(t.nonzeros, np.int64)
        fs[t.first], ss[t.first] = _lookup(self.first, t.signs[t.first])
        fs[~t.first], ss[~t.first] = _lookup(self.flip, t.signs[~t.first])
        ps = np.where(t.first, self.first.precision, self.flip.precision)
        freq = np.concatenate((fp, fm, fs))
        start = np.concatenate((sp, sm, ss))
        prec = np.concatenate(
            (pp, np.full(fm.size, self.magnitudes.precision), ps)
        )
        return [phase_a, _phase(freq, start, prec)]

    def estimate_bits(self) -> float:
        """Coded bits of all tokens under the tables (lanes excluded; computed once)."""
        return self._estimate_bits

    @cached_property
    def _estimate_bits(self) -> float:
        total = 0.0
        for phase in self.phases():
            total += float((phase.precision.astype(np.float64) - np.log2(phase.freq.astype(np.float64))).sum())
        return total

    def header_bytes(self, lanes: int) -> bytes:
        """The context-mode header with ``lanes`` lanes (each lane count's built once)."""
        cache = self._headers
        if lanes not in cache:
            tables = (self.counts, self.magnitudes, self.pattern_slack, self.first, self.flip)
            cache[lanes] = write_header(self.g, self.m, self.width, lanes, tables)
        return cache[lanes]

    @cached_property
    def _headers(self) -> dict[int, bytes]:
        return {}

    @property
    def token_count(self) -> int:
        t = self.tokens
        return t.counts.size + t.ranks.size + 2 * t.nonzeros


def plan_context(symbols: np.ndarray, m: int, g: int, width: int) -> CtxPlan:
    """Tokens and tables of a stream in context mode (reference writer, spec/CODECS.md 6.6).

    Example:
        >>> plan = plan_context(np.array([0, 0, 5, 0, 0, 0, 0, 1, 0] * 8, np.uint8), 0, 3, 1)
        >>> plan.tokens.counts[:3].tolist(), plan.pattern_slack
        ([1, 0, 1], 3)
    """
    tokens = split_groups(symbols, m, g)
    present = np.flatnonzero(np.bincount(tokens.counts, minlength=g + 1))
    hist = np.bincount(tokens.counts, minlength=g + 1)[present]
    counts = choose_table(present, hist, table_precision(tokens.counts.size))
    if tokens.nonzeros:
        mag_hist = np.bincount(tokens.magnitudes)
        mag_present = np.flatnonzero(mag_hist)
        mags = choose_table(mag_present, mag_hist[mag_present], table_precision(tokens.nonzeros))
    else:
        mags = FreqTable(1, np.array([1], np.int64), np.array([2], np.int64))
    wide = (widest_pattern_count(g, present) - 1).bit_length()
    slack = max(1, PATTERN_SLACK - max(0, wide - PATTERN_WIDE_BITS))
    first_signs = tokens.signs[tokens.first]
    flips = tokens.signs[~tokens.first]
    first = choose_binary(int((first_signs == 0).sum()), int(first_signs.sum()))
    flip = choose_binary(int((flips == 0).sum()), int(flips.sum()))
    return CtxPlan(g, m, width, tokens, counts, mags, slack, first, flip)


def lane_count(tokens: int, est_bytes: float, table_bytes: int, limit: int) -> int:
    """Lane count of the reference writer (spec/CODECS.md 6.6), for both modes.

    ``budget = floor((E / 256 - Tb) / 2)`` keeps lanes and tables near 1/256 of the payload (a lane costs
    one to two bytes); ``floor = ceil(T / (2 * 512))`` (``T`` tokens) bounds the steps of a lane at about
    512; ``K = clamp(max(budget, floor), 1, min(limit, 4096))``.

    Args:
        tokens: tokens of the payload (both phases; the symbols for plain mode).
        est_bytes: estimated coded bytes ``E``.
        table_bytes: bytes of the tables and fields ``Tb``.
        limit: the most lanes the format allows (``G``, or ``N`` for plain mode).

    Returns:
        ``K >= 1``.

    Example:
        >>> lane_count(1000, 300.0, 20, 100), lane_count(200_000, 60_000.0, 40, 20_000)
        (1, 196)
    """
    budget = int((est_bytes / LANE_BUDGET_DIVISOR - table_bytes) / BYTES_PER_LANE)
    floor = -(-tokens // (2 * STEP_CAP))
    return int(max(1, min(limit, MAX_LANES, max(budget, floor))))


def encode_context(plan: CtxPlan, lanes: int | None = None) -> bytes:
    """The context-mode payload of a planned stream (``lanes`` default: :func:`context_lanes`).

    Example:
        >>> plan = plan_context(np.array([0, 0, 5, 0, 0, 0, 0, 1, 0] * 8, np.uint8), 0, 3, 1)
        >>> encode_context(plan)[:2].hex()
        '0103'
    """
    if lanes is None:
        est = plan.estimate_bits() / 8
        lanes = lane_count(plan.token_count, est, len(plan.header_bytes(1)), plan.tokens.counts.size)
    k = int(max(1, min(plan.tokens.counts.size, lanes)))
    states, counts, words = encode_lanes(plan.phases(), k)
    return plan.header_bytes(k) + lane_fields(states, counts) + words


def plain_payload(data: bytes, width: int, n: int, plan: StreamPlan | None = None) -> bytes:
    """Mode 0: the mode byte, then a codec-6 payload (tables up to precision 12, lanes by :func:`lane_count`).

    Example:
        >>> plain_payload(b"aab", 1, 3).hex()
        '000101016101000000030004'
    """
    plan = plan_stream(data, width, CTX_MAX_PRECISION) if plan is None else plan
    return bytes([MODE_PLAIN]) + encode_plan(plan, lane_count(n, plan.est_bytes, len(plan.table_bytes), n))


def rans_ctx_encode(data: bytes, itemsize: int) -> bytes:
    """Encode a symbol stream as a codec-8 payload: context mode, or plain when context mode gains under 1 %.

    The zero symbol is the most frequent one (ties to the lowest value), the group length the one with
    the smallest estimated cost (:func:`choose_group`). Streams shorter than 64 symbols and constant
    streams are written plain. When the context mode's estimate (coded bits and header) is below 0.97 of
    the plain mode's (coded bits and table), the plain payload is not even coded; otherwise context mode
    must be under 0.99 of plain mode's size to be kept (plain payloads decode about twice as fast).

    Args:
        data: little-endian symbol stream.
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The payload (empty for an empty stream).

    Example:
        >>> rans_ctx_encode(b"aab", 1).hex()
        '000101016101000000030004'
    """
    return draft_ctx(data, itemsize).payload()


@dataclass(frozen=True)
class CtxDraft:
    """What the codec-8 writer decides about a stream before it runs any lane.

    :meth:`payload` codes it (exactly :func:`rans_ctx_encode`'s payload); :meth:`estimate` is its size
    from the tables' estimates, without coding (:mod:`formats.codecs.estimate`).

    Example:
        >>> d = draft_ctx(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) * 40, 1)
        >>> d.payload() == rans_ctx_encode(bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) * 40, 1), d.plan is not None
        (True, True)
    """

    data: bytes
    width: int
    n: int
    flat: StreamPlan | None  # None for an empty stream
    plan: CtxPlan | None  # None when the stream is written plain whatever the estimates

    @property
    def skips_plain(self) -> bool:
        """True when context mode's estimate is so far below plain mode's that plain mode is not coded."""
        if self.plan is None or self.flat is None:
            return False
        ctx = self.plan.estimate_bits() / 8 + len(self.plan.header_bytes(1))
        return ctx < PLAIN_SKIP * (self.flat.est_bytes + len(self.flat.table_bytes))

    def plain_lanes(self) -> int:
        """Lanes of the plain-mode payload."""
        flat = self.flat
        return 1 if flat is None else lane_count(self.n, flat.est_bytes, len(flat.table_bytes), self.n)

    def context_lanes(self) -> int:
        """Lanes of the context-mode payload (1 without a context plan)."""
        plan = self.plan
        if plan is None:
            return 1
        est = plan.estimate_bits() / 8
        lanes = lane_count(plan.token_count, est, len(plan.header_bytes(1)), plan.tokens.counts.size)
        return int(max(1, min(plan.tokens.counts.size, lanes)))

    def estimate(self) -> float:
        """Estimated payload bytes (:func:`formats.codecs.estimate.ctx_estimate`)."""
        from formats.codecs.estimate import ctx_estimate

        return ctx_estimate(self)

    def payload(self) -> bytes:
        """The codec-8 payload."""
        flat, plan = self.flat, self.plan
        if flat is None:
            return b""
        if plan is None:
            return plain_payload(self.data, self.width, self.n, flat)
        ctx = encode_context(plan)
        if self.skips_plain:
            return ctx
        plain = plain_payload(self.data, self.width, self.n, flat)
        return ctx if len(ctx) < CONTEXT_GAIN * len(plain) else plain


def draft_ctx(data: bytes, itemsize: int, flat: StreamPlan | None = None) -> CtxDraft:
    """Tables and choices of the codec-8 writer for ``data`` (no lane is run; see :class:`CtxDraft`).

    ``flat``: ``plan_stream(data, width, 12)`` when the caller has it already (the same plan, not recomputed).

    Example:
        >>> draft_ctx(b"aab", 1).plan is None
        True
    """
    data = bytes(data)
    n, width = stream_size(len(data), itemsize)
    if n == 0:
        return CtxDraft(data, width, 0, None, None)
    sym = np.frombuffer(data, dtype=symbol_dtype(width))
    hist = np.bincount(sym)
    m = int(hist.argmax())
    flat = plan_stream(data, width, CTX_MAX_PRECISION) if flat is None else flat
    if n < CTX_MIN_SYMBOLS or int(hist[m]) == n:
        return CtxDraft(data, width, n, flat, None)
    return CtxDraft(data, width, n, flat, plan_context(sym, m, choose_group(sym, m), width))


__all__ = [
    "CTX_MIN_SYMBOLS",
    "CtxDraft",
    "CtxPlan",
    "choose_binary",
    "choose_group",
    "draft_ctx",
    "encode_context",
    "group_cost",
    "lane_count",
    "plain_payload",
    "plan_context",
    "rans_ctx_encode",
    "table_precision",
]
