"""Codec 6: static per-tensor rANS with interleaved lanes in groups of 8 (spec/CODECS.md, "rANS").

State: 32 bits in ``[L, 2^32)`` with ``L = 2^16``; renormalisation moves one 16-bit word at a time.
Symbol ``i`` of the stream goes to lane ``i mod K`` and is the ``i // K``-th symbol of that lane. Lanes
``8g .. 8g+7`` form group ``g``, which has its own word stream; at each step every active lane decodes
one symbol, then the lanes whose state fell below ``L`` read one word each, in increasing lane order,
from their group's word stream. Groups make a batch of streams decode as one ``(rows, 8)`` array
(:mod:`formats.codecs.rans_decode`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import write_varint
from formats.codecs.rans_decode import decode_many, rans_decode
from formats.codecs.rans_format import LANE_GROUP, STATE_LOW, WORD_BITS, symbol_width
from formats.codecs.rans_table import MAX_PRECISION, FreqTable, choose_table, encode_table
from formats.errors import CodecError
from formats.ids import CodecId

LANE_BUDGET_DIVISOR = 160  # lanes and table together get 1/160 of the estimated payload
BYTES_PER_LANE = 3.25  # average flush cost of one lane plus its share of a group length, in bytes
MAX_LANES = 4096  # the writer never uses more
MAX_STEPS = 8192  # the writer adds lanes so that no stream of up to 2^25 symbols takes more steps
MIN_STEP_CAP = 1024  # ... and streams shorter than 2^15 symbols take at most this many
RATIO_BOUND_SYMBOLS = 1 << 16  # streams this long must stay within 1 % of N*H0, so their cap is looser


def lane_count(n_symbols: int, est_bytes: float, table_bytes: int) -> int:
    """Lane count of the reference writer (spec/CODECS.md 4.5).

    ``budget = floor((est/160 - table) / 3.25)`` lanes keep lanes and table near 1/160 (0.63 %) of the
    payload (a lane costs about 3 bytes of flushed state plus a share of its group's word count);
    ``floor = ceil(n / step_cap(n))`` bounds the step count whatever the entropy. Above one group
    the count is a whole number of groups: the budget rounded down, the floor rounded up.
    ``K = clamp(max(budget, floor), 1, min(n, 4096))``.

    Args:
        n_symbols: stream length.
        est_bytes: estimated coded bytes.
        table_bytes: bytes of the encoded frequency table.

    Returns:
        The lane count ``K >= 1``.

    Example:
        >>> lane_count(10, 5.0, 3), lane_count(10**6, 200000.0, 20), lane_count(10**6, 10.0, 3)
        (1, 376, 128)
        >>> lane_count(25000, 3900.0, 20)
        32
    """
    budget = int((est_bytes / LANE_BUDGET_DIVISOR - table_bytes) / BYTES_PER_LANE)
    cap = step_cap(n_symbols)
    floor = -(-n_symbols // cap)
    if budget > LANE_GROUP:
        budget -= budget % LANE_GROUP
    if floor > LANE_GROUP:
        floor += -floor % LANE_GROUP
    return int(max(1, min(n_symbols, MAX_LANES, max(budget, floor))))


def step_cap(n_symbols: int) -> int:
    """Most steps the writer lets a stream of ``n_symbols`` take (fewer lanes would be smaller).

    1024 below 2^15 symbols (short tensors, where the 1 % target does not apply: they batch well in
    :func:`decode_many`), ``n // 32`` below 2^16, ``min(8192, n // 16)`` from 2^16 on (where lanes
    must also fit the 1 % ratio budget).

    Args:
        n_symbols: stream length.

    Returns:
        The step cap.

    Example:
        >>> step_cap(5000), step_cap(36864), step_cap(65536), step_cap(10**7)
        (1024, 1152, 4096, 8192)
    """
    if n_symbols >= RATIO_BOUND_SYMBOLS:
        return min(MAX_STEPS, n_symbols // 16)
    return max(MIN_STEP_CAP, n_symbols // 32)


def _symbols_of(data: bytes, width: int) -> np.ndarray:
    if width == 2:
        if len(data) % 2:
            raise CodecError(f"rans with 2-byte symbols needs an even length, got {len(data)} bytes")
        return np.frombuffer(data, dtype="<u2").astype(np.uint16)
    return np.frombuffer(data, dtype=np.uint8)


@dataclass(frozen=True)
class StreamPlan:
    """What the writer knows about a symbol stream before choosing its lanes (see :func:`plan_stream`)."""

    symbols: np.ndarray  # the stream, uint8 or uint16
    width: int  # bytes per symbol
    table: FreqTable | None  # None for an empty stream
    table_bytes: bytes  # wire form of the table
    est_bytes: float  # estimated coded bytes, sum(count * (P - log2 f)) / 8

    @property
    def n(self) -> int:
        return int(self.symbols.size)


def plan_stream(data: bytes, itemsize: int, max_precision: int = MAX_PRECISION) -> StreamPlan:
    """Count symbols, choose the table (precision and frequencies) and estimate the coded size.

    Args:
        data: little-endian symbol stream.
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).
        max_precision: highest table precision the writer may pick (codec 6 uses 16).

    Returns:
        The plan, to be coded by :func:`encode_plan` with a lane count.

    Example:
        >>> plan_stream(b"aab", 1).table.precision
        1
    """
    width = symbol_width(itemsize)
    sym = _symbols_of(bytes(data), width)
    if sym.size == 0:
        return StreamPlan(sym, width, None, b"", 0.0)
    counts_all = np.bincount(sym, minlength=1 << (8 * width))
    present = np.flatnonzero(counts_all)
    counts = counts_all[present]
    table = choose_table(present, counts, max_precision)
    est = float((counts * (table.precision - np.log2(table.freqs))).sum()) / 8
    return StreamPlan(sym, width, table, encode_table(table), est)


def rans_encode(data: bytes, itemsize: int) -> bytes:
    """Encode a little-endian symbol stream (see :func:`symbol_width`) as a rANS payload.

    Args:
        data: the stream bytes.
        itemsize: element size; 2 selects 16-bit symbols, anything else bytes.

    Returns:
        The payload: precision, lane count, table, group lengths, lane states, words.

    Example:
        >>> rans_encode(b"", 1)
        b''
    """
    plan = plan_stream(data, itemsize)
    return encode_plan(plan, lane_count(plan.n, plan.est_bytes, len(plan.table_bytes)))


def encode_plan(plan: StreamPlan, lanes: int) -> bytes:
    """Code a planned stream with ``lanes`` interleaved lanes (clamped to ``1 .. min(n, 4096)``).

    A constant stream always gets one lane and no words, an empty stream the empty payload.

    Args:
        plan: from :func:`plan_stream`.
        lanes: requested lane count.

    Returns:
        The rANS payload (codec 6 wire format).

    Example:
        >>> encode_plan(plan_stream(b"aab", 1), 1).hex()
        '01010161010004000800'
    """
    table, sym, n = plan.table, plan.symbols, plan.n
    if table is None:
        return b""
    p = table.precision
    if table.symbols.size == 1:
        # a constant stream: one lane, no words, the state never leaves L (spec: "single symbol")
        return bytes([p]) + write_varint(1) + plan.table_bytes + STATE_LOW.to_bytes(4, "little")
    k = int(max(1, min(n, MAX_LANES, lanes)))
    alphabet = 1 << (8 * plan.width)
    # per-symbol-value tables (alphabet-sized), so the stream indexes them directly
    freq = np.zeros(alphabet, dtype=np.uint32)
    cum = np.zeros(alphabet, dtype=np.uint32)
    xmax = np.zeros(alphabet, dtype=np.uint32)
    freq[table.symbols] = table.freqs
    cum[table.symbols] = np.cumsum(table.freqs) - table.freqs
    xmax[table.symbols] = table.freqs << (32 - p)
    states, words, per_group = _encode_lanes(sym, freq, cum, xmax, p, k)
    lengths = b"".join(write_varint(int(c)) for c in per_group[:-1])
    header = bytes([p]) + write_varint(k) + plan.table_bytes + lengths
    return header + states.astype("<u4").tobytes() + words.astype("<u2").tobytes()


def _encode_lanes(
    idx: np.ndarray, freq: np.ndarray, cum: np.ndarray, xmax: np.ndarray, p: int, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the lanes backwards; returns final states, words in group-major decoding order, words per group."""
    n = idx.size
    f_all = freq[idx]
    c_all = cum[idx]
    m_all = xmax[idx]
    x = np.full(k, STATE_LOW, dtype=np.uint32)
    q = np.empty(k, dtype=np.uint32)
    r = np.empty(k, dtype=np.uint32)
    need = np.empty(k, dtype=bool)
    emitted: list[np.ndarray] = []
    lanes: list[np.ndarray] = []
    shift = np.uint32(p)
    wshift = np.uint32(WORD_BITS)
    for lo in range((n - 1) // k * k, -1, -k):
        hi = min(lo + k, n)
        m = hi - lo
        xs, qs, rs, nd = x[:m], q[:m], r[:m], need[:m]
        f = f_all[lo:hi]
        np.greater_equal(xs, m_all[lo:hi], out=nd)
        hit = np.flatnonzero(nd)
        if hit.size:
            emitted.append(xs[hit].astype(np.uint16))  # the low 16 bits
            lanes.append(hit)
            xs[hit] >>= wshift
        np.floor_divide(xs, f, out=qs)
        np.multiply(qs, f, out=rs)
        np.subtract(xs, rs, out=rs)
        np.left_shift(qs, shift, out=xs)
        np.add(xs, rs, out=xs)
        np.add(xs, c_all[lo:hi], out=xs)
    groups = -(-k // LANE_GROUP)
    if not emitted:
        return x, np.zeros(0, dtype=np.uint16), np.zeros(groups, dtype=np.int64)
    # decoding order: steps first to last, lanes ascending within a step; then stable by group
    words = np.concatenate(emitted[::-1])
    group = np.concatenate(lanes[::-1]) // LANE_GROUP
    order = np.argsort(group, kind="stable")
    return x, words[order], np.bincount(group, minlength=groups)


class RansCodec:
    """Static per-tensor interleaved rANS (wire id 6).

    Example:
        >>> c = RansCodec()
        >>> c.decode(c.encode(b"abcabc", 1), 6, 1)
        b'abcabc'
    """

    codec_id = int(CodecId.RANS)
    name = "rans"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return rans_encode(data, itemsize)

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        return rans_decode(payload, out_size, itemsize)


__all__ = [
    "RansCodec",
    "StreamPlan",
    "decode_many",
    "encode_plan",
    "lane_count",
    "plan_stream",
    "rans_decode",
    "rans_encode",
    "step_cap",
    "symbol_width",
]
