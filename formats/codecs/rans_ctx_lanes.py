"""Lanes of codec 8 (spec/CODECS.md 6.5): rANS lanes whose every token names its own table.

A payload codes its tokens in two *phases* (the counts, then everything the counts give a table to).
Token ``j`` of a phase goes to lane ``j mod K`` as that lane's token ``j div K`` of the phase; a lane
decodes its phase-A tokens in blocks of two, then its phase-B tokens in blocks of two, renormalising
after every block as codec 6 does (64-bit state, ``L = 2^32``, 32-bit words, each lane's words stored
together). Tables may differ in precision from token to token: a block of precisions ``P0 + P1 <= 32``
keeps the renormalisation exact, since ``2^(P0 + P1)`` divides ``L``.

The decoder steps the lanes of many payloads together (:func:`run_lanes`): every token's table is
known before its phase starts, so a step is the same dozen whole-array numpy calls as codec 6's
(:mod:`formats.codecs.rans_band`), with the slot mask, shift and table offset read per token from
arrays gathered once per chunk of steps. Lanes with fewer tokens than the longest step through
*identity* tokens (a one-slot table of precision 0: ``x' = 1 * (x >> 0) + 0``), which change nothing,
and their renormalisations then read nothing (after a block a lane is at ``x >= L`` or has no word left).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from formats.codecs.rans_format import BLOCK, STATE_LOW, STATE_START, WORD_BITS
from formats.codecs.rans_table import FreqTable, slot_starts
from formats.errors import CodecError

IDENTITY = 0  # table id of the identity token in a TableBank
CHUNK_BYTES = 1 << 20  # per-token arrays are built for at most this many bytes of steps at a time
CHUNK_STEPS = 32  # steps per chunk: a payload moves from phase A to phase B at a chunk boundary


@dataclass(frozen=True)
class PhaseTokens:
    """The writer's view of one phase: each token's frequency, first slot and table precision."""

    freq: np.ndarray  # uint64, >= 1
    start: np.ndarray  # uint64
    precision: np.ndarray  # uint64, 1 .. 16

    @property
    def size(self) -> int:
        return int(self.freq.size)


def token_grid(values: np.ndarray, lanes: int, fill: int) -> np.ndarray:
    """Lay a phase's per-token values out as ``(rows, lanes)``: token ``j`` at ``(j // lanes, j % lanes)``.

    ``rows`` is ``ceil(n / lanes)`` rounded up to even (blocks of two); the rest is ``fill``.

    Example:
        >>> token_grid(np.arange(5), 2, -1).tolist()
        [[0, 1], [2, 3], [4, -1], [-1, -1]]
    """
    n = int(values.size)
    rows = -(-n // lanes)
    rows += rows % BLOCK
    grid = np.full(rows * lanes, fill, dtype=values.dtype)
    grid[:n] = values
    return grid.reshape(rows, lanes)


def encode_lanes(phases: list[PhaseTokens], lanes: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """Run every lane backwards from state 1 over its phase-B blocks, then its phase-A blocks.

    Args:
        phases: the tokens of phase A and phase B, in decoding order.
        lanes: the lane count ``K >= 1``.

    Returns:
        ``(states, word_counts, words)``: each lane's final encoder state (its decoder's initial state),
        how many 32-bit words it emitted, and the words, lane after lane, each lane's in decoding order.

    Example:
        >>> one = np.ones(3, dtype=np.uint64)
        >>> phase = PhaseTokens(one, np.array([0, 0, 1], dtype=np.uint64), one)
        >>> states, counts, words = encode_lanes([phase], 1)
        >>> states.tolist(), counts.tolist(), words
        ([12], [0], b'')
    """
    x = np.full(lanes, STATE_START, dtype=np.uint64)
    values: list[np.ndarray] = []  # per block (in encoding order), each lane's state before renormalising
    emits: list[np.ndarray] = []
    wbits, wmask = np.uint64(WORD_BITS), np.uint64((1 << WORD_BITS) - 1)
    never = np.uint64(np.iinfo(np.uint64).max)
    for phase in reversed(phases):
        f = token_grid(phase.freq.astype(np.uint64), lanes, 1)
        c = token_grid(phase.start.astype(np.uint64), lanes, 0)
        p = token_grid(phase.precision.astype(np.uint64), lanes, 0)
        # a step x' = (x // f << p) + x % f + c is x + (x // f) * (2^p - f) + c (exact in uint64: same value)
        g = (np.uint64(1) << p) - f
        # renormalise before a block when x >= F * 2^(64 - bits), F = f0 * f1, bits = p0 + p1, computed as
        # (x >> (64 - bits)) >= F without overflow; blocks of identity tokens (bits 0) never renormalise
        bits = p[0::BLOCK] + p[1::BLOCK]
        coded = bits > 0
        shift = np.where(coded, np.uint64(64) - bits, np.uint64(63))
        bound = np.where(coded, f[0::BLOCK] * f[1::BLOCK], never)
        for b in range(f.shape[0] // BLOCK - 1, -1, -1):
            need = (x >> shift[b]) >= bound[b]
            values.append(x)
            emits.append(need)
            x = np.where(need, x >> wbits, x)
            for row in (BLOCK * b + 1, BLOCK * b):  # a block's tokens, last first
                q = x // f[row]
                q *= g[row]
                q += c[row]
                x += q
    if not values:
        return x, np.zeros(lanes, dtype=np.int64), b""
    # each lane's words in decoding order = the reverse of the order it emitted them; lanes one after another
    emitted = np.stack(emits[::-1]).T
    words = (np.stack(values[::-1]).T & wmask)[emitted]
    return x, emitted.sum(axis=1).astype(np.int64), words.astype("<u4").tobytes()


class TableBank:
    """Decoding tables laid end to end: per slot ``f``, ``slot - c`` and the symbol; per table its offset,
    slot mask and precision. Table 0 is the identity token. :meth:`freeze` builds the slots of all tables
    at once.

    Example:
        >>> bank = TableBank()
        >>> bank.add(FreqTable(1, np.array([4, 9]), np.array([1, 1])))
        1
        >>> bank.freeze()
        >>> bank.symbol[bank.offset[1] : bank.offset[1] + 2].tolist()
        [4, 9]
    """

    def __init__(self) -> None:
        self._tables: list[FreqTable] = []
        self._slots: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._keys: dict[object, int] = {}

    def add(
        self, table: FreqTable, key: object = None, slots: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ) -> int:
        """Append ``table`` (or find the one added under ``key``); returns its table id.

        ``slots``: its :func:`slot_arrays`, when the caller has them already."""
        if key is not None and key in self._keys:
            return self._keys[key]
        self._tables.append(table)
        tid = len(self._tables)
        if slots is not None:
            self._slots[tid] = slots
        if key is not None:
            self._keys[key] = tid
        return tid

    def keys(self) -> dict[object, int]:
        """The table ids of the tables added under a key."""
        return self._keys

    def freeze(self) -> None:
        """Build the slots; after this, ``freq``, ``low``, ``symbol`` (per slot), ``offset``, ``mask``, ``shift``
        (per table id)."""
        precision = np.array([0] + [int(t.precision) for t in self._tables], dtype=np.int64)
        size = np.int64(1) << precision
        self.offset = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
        self.mask = size - 1
        self.shift = precision.astype(np.uint64)
        total = int(size.sum())
        # frequencies and offsets stay 64-bit (the step loop multiplies and adds them to uint64 states
        # without a cast); symbols (< 2^16) are 32-bit
        self.freq = np.ones(total, np.uint64)
        self.low = np.zeros(total, np.uint64)
        self.symbol = np.zeros(total, np.int32)
        built = [i for i in range(1, len(self._tables) + 1) if i not in self._slots]
        if built:
            tables = [self._tables[i - 1] for i in built]
            freqs = np.concatenate([t.freqs for t in tables]).astype(np.int64)
            symbols = np.concatenate([t.symbols for t in tables]).astype(np.int64)
            which = np.repeat(np.array(built, np.int64), [t.freqs.size for t in tables])
            base = np.zeros(size.size, np.int64)  # where each built table starts in their joined slots
            base[built] = np.cumsum(size[built]) - size[built]
            order = np.lexsort((symbols, -freqs, which))  # codec 6's slot order (4.3) within each table
            ranked = freqs[order]
            start = np.empty(freqs.size, np.int64)
            start[order] = np.cumsum(ranked) - ranked - base[which[order]]
            owner = np.repeat(order, ranked)
            local = np.arange(owner.size, dtype=np.int64) - base[which[owner]]
            dest = self.offset[which[owner]] + local
            self.freq[dest] = freqs[owner].astype(np.uint64)
            self.low[dest] = (local - start[owner]).astype(np.uint64)
            self.symbol[dest] = symbols[owner]
        for i, (f, low, sym) in self._slots.items():
            at = slice(int(self.offset[i]), int(self.offset[i] + size[i]))
            self.freq[at], self.low[at], self.symbol[at] = f, low, sym


def slot_arrays(table: FreqTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f``, ``slot - c`` and the symbol of every slot of ``table`` (slots by codec 6's order, 4.3).

    Example:
        >>> f, low, sym = slot_arrays(FreqTable(2, np.array([1, 2]), np.array([1, 3])))
        >>> f.tolist(), low.tolist(), sym.tolist()
        ([3, 3, 3, 1], [0, 1, 2, 0], [2, 2, 2, 1])
    """
    freqs = np.asarray(table.freqs, dtype=np.int64)
    starts = slot_starts(table)
    order = np.argsort(starts, kind="stable")
    owner = np.repeat(order, freqs[order])
    low = np.arange(owner.size, dtype=np.int64) - starts[owner]
    return freqs[owner].astype(np.uint64), low.astype(np.uint64), np.asarray(table.symbols, dtype=np.int32)[owner]


@dataclass
class LaneState:
    """The lanes of many payloads side by side: state, next word, end of words (one entry per lane)."""

    x: np.ndarray  # uint64
    ptr: np.ndarray  # int64
    end: np.ndarray  # int64
    words: np.ndarray  # uint64, all lanes' words, then one 0
    lane0: np.ndarray  # int64, first lane of each payload, and the total at the end

    @classmethod
    def join(cls, states: list[np.ndarray], counts: list[np.ndarray], words: list[np.ndarray]) -> LaneState:
        """Lanes of payloads given as (initial states, word counts, words) each."""
        c = np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, np.int64)
        ptr = np.concatenate(([0], np.cumsum(c)[:-1])).astype(np.int64) if c.size else c
        lane0 = np.concatenate(([0], np.cumsum([s.size for s in states]))).astype(np.int64)
        x = np.concatenate(states).astype(np.uint64) if states else np.zeros(0, np.uint64)
        return cls(x, ptr, ptr + c, np.concatenate([*words, np.zeros(1, np.uint64)]), lane0)

    def bad_lanes(self) -> np.ndarray:
        """Index of each payload with a lane that kept words unread or did not end in state 1."""
        bad = (self.ptr != self.end) | (self.x != STATE_START)
        if not bad.any():
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.searchsorted(self.lane0, np.flatnonzero(bad), side="right") - 1)


def run_lanes(
    lanes: LaneState,
    first: list[np.ndarray],
    bank: TableBank,
    after_first: Callable[[list[int], list[np.ndarray]], list[np.ndarray]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Decode both phases of every payload, all lanes stepping together.

    The loop runs in chunks of ``CHUNK_STEPS`` steps over the lanes of the payloads still decoding
    (gathered into short arrays, scattered back after the chunk). Payload ``j``'s phase A is ``first[j]``
    (the table id of each token); at the first chunk boundary after its phase A ends, ``after_first``
    gives the table ids of its phase B from its decoded phase-A symbols (one call for all payloads whose
    phase A ended there), and its lanes go on with phase B; meanwhile they step identity tokens. So the
    loop runs at most ``max_j (steps of A_j + steps of B_j) + CHUNK_STEPS`` steps.

    Args:
        lanes: the lanes of all payloads (updated in place).
        first: per payload, the table ids of its phase-A tokens.
        bank: the tables (frozen), including every table ``after_first`` names.
        after_first: ``(payload indices, their phase-A symbols) -> their phase-B table ids``; may raise
            CodecError.

    Returns:
        Per payload, the decoded symbols of phase A and of phase B (int32).

    Example:
        >>> bank = TableBank()
        >>> t = bank.add(FreqTable(1, np.array([0, 1]), np.array([1, 1])))
        >>> bank.freeze()
        >>> lanes = LaneState.join([np.array([4], np.uint64)], [np.zeros(1, np.int64)], [])
        >>> a, b = run_lanes(lanes, [np.full(1, t)], bank, lambda js, s: [np.full(1, t)] * len(js))[0]
        >>> a.tolist(), b.tolist(), int(lanes.x[0])
        ([0], [0], 1)
    """
    k_of = np.diff(lanes.lane0).astype(np.int64).tolist()
    work = [_Work(np.asarray(t, np.int32), k) for t, k in zip(first, k_of, strict=True)]
    cols = np.zeros(0, np.int64)
    active: list[int] = []
    while True:
        ended = [j for j, w in enumerate(work) if w.grid is not None and w.row >= w.grid.shape[0]]
        if ended:
            for j in ended:
                work[j].close_phase()
            starting = [j for j in ended if len(work[j].done) == 1]
            if starting:
                second = after_first(starting, [work[j].done[0] for j in starting])
                for j, tids in zip(starting, second, strict=True):
                    work[j].open_phase(np.asarray(tids))
            continue
        now = [j for j, w in enumerate(work) if w.grid is not None]
        if not now:
            break
        if now != active:
            active = now
            cols = np.concatenate([np.arange(lanes.lane0[j], lanes.lane0[j + 1]) for j in active])
        width = int(cols.size)
        span = max(1, min(CHUNK_STEPS, CHUNK_BYTES // (8 * BLOCK * width), max(work[j].rows_left for j in active)))
        rows = span * BLOCK
        tid = np.zeros((rows, width), dtype=np.int64)  # IDENTITY where a payload's phase has no more tokens
        at = 0
        for j in active:
            w = work[j]
            part = w.grid[w.row : w.row + rows]  # type: ignore[index]
            tid[: part.shape[0], at : at + w.k] = part
            at += w.k
        x, ptr = lanes.x[cols], lanes.ptr[cols]
        idx = _steps(x, ptr, lanes.end[cols], lanes.words, tid.reshape(span, BLOCK, width), bank)
        lanes.x[cols], lanes.ptr[cols] = x, ptr
        symbols = bank.symbol[idx].reshape(rows, width)
        at = 0
        for j in active:
            w = work[j]
            part = w.out[w.row : w.row + rows]
            part[...] = symbols[: part.shape[0], at : at + w.k]
            at += w.k
            w.row += rows
    return [w.result() for w in work]


class _Work:
    """One payload in :func:`run_lanes`: its current phase's table-id grid, where it stands, its symbols."""

    def __init__(self, first: np.ndarray, k: int) -> None:
        self.k = k
        self.done: list[np.ndarray] = []
        self.open_phase(first)

    def open_phase(self, tids: np.ndarray) -> None:
        self.size = int(tids.size)
        # table ids and symbols fit 32 bits: half the memory of int64 per token (tables < 2^31, symbols < 2^16)
        self.grid: np.ndarray | None = token_grid(tids.astype(np.int32, copy=False), self.k, IDENTITY)
        self.out = np.empty(self.grid.shape, np.int32)
        self.row = 0

    def close_phase(self) -> None:
        """The current phase is decoded: keep its symbols; after phase B, the payload is done."""
        self.done.append(self.out.reshape(-1)[: self.size])
        self.grid = None

    @property
    def rows_left(self) -> int:
        return max(0, self.grid.shape[0] - self.row) // BLOCK  # type: ignore[union-attr]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self.done[0], self.done[1]


def _steps(
    x: np.ndarray, ptr: np.ndarray, end: np.ndarray, words: np.ndarray, tid: np.ndarray, bank: TableBank
) -> np.ndarray:
    """Decode ``tid.shape[0]`` steps of two tokens per lane in place; returns the slot index of each token."""
    span, _, width = tid.shape
    rows = tid.reshape(span * BLOCK, width)
    mask, base, shift = bank.mask[rows], bank.offset[rows], bank.shift[rows]
    idx = np.empty(rows.shape, dtype=np.int64)
    xi = x.view(np.int64)
    low = np.full(width, STATE_LOW, dtype=np.uint64)
    wshift = np.full(width, WORD_BITS, dtype=np.uint64)
    refill = np.empty(width, dtype=np.uint64)
    need_i, has_i = np.zeros(width, dtype=np.int64), np.zeros(width, dtype=np.int64)
    need, has = _bool_view(need_i), _bool_view(has_i)
    ftab, otab = bank.freq, bank.low
    band, add, rsh, mul = np.bitwise_and, np.add, np.right_shift, np.multiply
    less, lsh, bor, copyto = np.less, np.left_shift, np.bitwise_or, np.copyto
    # the rows of a block as views from one iterator (cheaper than indexing four arrays per token);
    # the step loop is the decoder's whole cost, so both tokens of a block are written out
    row = iter(zip(mask, base, shift, idx, strict=True))
    for (m0, b0, s0, i0), (m1, b1, s1, i1) in zip(row, row, strict=True):
        band(xi, m0, i0)
        add(i0, b0, i0)
        f = ftab[i0]
        o = otab[i0]
        rsh(x, s0, x)
        mul(x, f, x)
        add(x, o, x)
        band(xi, m1, i1)
        add(i1, b1, i1)
        f = ftab[i1]
        o = otab[i1]
        rsh(x, s1, x)
        mul(x, f, x)
        add(x, o, x)
        less(x, low, need)
        less(ptr, end, has)
        band(need_i, has_i, need_i)
        word = words[ptr]
        lsh(x, wshift, refill)
        bor(refill, word, refill)
        copyto(x, refill, where=need)
        add(ptr, need_i, ptr)
    return idx.reshape(tid.shape)


def _bool_view(flags: np.ndarray) -> np.ndarray:
    """A bool view of the low bytes of int64 0/1 flags (as in :mod:`formats.codecs.rans_band`)."""
    low = 0 if sys.byteorder == "little" else 7
    return flags.view(np.bool_).reshape(flags.size, 8)[:, low]


def check_lanes(lanes: LaneState, names: Sequence[str | None] | None) -> None:
    """Every lane must have read all its words and be back in state 1 (spec/CODECS.md 6.5).

    Raises:
        CodecError: naming the first payload with a bad lane.
    """
    bad = lanes.bad_lanes()
    if not bad.size:
        return
    j = int(bad[0])
    where = "" if names is None or names[j] is None else f"{names[j]}: "
    lane = slice(int(lanes.lane0[j]), int(lanes.lane0[j + 1]))
    unread = int((lanes.end[lane] - lanes.ptr[lane]).sum())
    if unread:
        raise CodecError(f"{where}rans-ctx payload has {4 * unread} bytes of unread words")
    raise CodecError(f"{where}rans-ctx lanes do not return to the initial state; the payload is corrupt")


__all__ = [
    "IDENTITY",
    "LaneState",
    "PhaseTokens",
    "TableBank",
    "check_lanes",
    "encode_lanes",
    "run_lanes",
    "slot_arrays",
    "token_grid",
]
