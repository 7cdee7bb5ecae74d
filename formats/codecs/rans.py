"""Codec 6: static per-tensor rANS with interleaved lanes (spec/CODECS.md, "rANS").

State: 64 bits; a lane renormalises after every two symbols, reading one 32-bit word when its state
is below ``L = 2^32`` and it has words left (``M^2`` divides ``L`` for every precision ``P <= 16``, so
two symbols between renormalisations stay exact). Symbol ``i`` of the stream goes to lane ``i mod K``
and is the ``i // K``-th symbol of that lane. Every lane starts encoding at state 1, so a lane costs
only its final state (an exponent and the bits below the leading one) and its word count, about two
bytes, and long streams can afford hundreds of lanes: that is what makes the lane-vectorised decoder
(:mod:`formats.codecs.rans_decode`) fast. Each lane's words are stored together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import pack_bits, write_varint
from formats.codecs.rans_decode import decode_many, rans_decode
from formats.codecs.rans_format import BLOCK, STATE_START, WORD_BITS, symbol_width
from formats.codecs.rans_table import FreqTable, choose_table, encode_table, slot_starts
from formats.errors import CodecError
from formats.ids import CodecId

# P <= 13: on LeNet fc1, P 16 would save 0.05 % of N*H0 (8 lanes) but cost 3 more bits per lane (measured)
WRITER_MAX_PRECISION = 13
PRECISION_SLACK = 4  # P <= bit_length(N) - 4: at most about N/8 slots per stream
LANE_BUDGET_DIVISOR = 115  # lanes and table together get about 1/115 (0.87 %) of the estimated payload
BYTES_PER_LANE = 2.0  # what one lane adds to a long stream: its word count, state exponent, start-up
MAX_LANES = 4096  # the writer never uses more
MAX_STEPS = 4096  # the writer adds lanes so that no stream of up to 2^25 symbols takes more steps
SHORT_STEP_CAP = 256  # ... and streams shorter than 2^16 symbols take at most this many
RATIO_BOUND_SYMBOLS = 1 << 16  # streams this long must stay within 1 % of N*H0, so their cap is looser


def lane_count(n_symbols: int, est_bytes: float, table_bytes: int) -> int:
    """Lane count of the reference writer (spec/CODECS.md 4.5).

    ``budget = floor((est/115 - table) / 2)`` lanes keep lanes and table near 1/115 (0.87 %) of the
    payload (a lane costs about two bytes: its word count, its state's exponent, and the start-up of a
    state that begins at 1); ``floor = ceil(n / (2 * step_cap(n)))`` bounds the step count whatever
    the entropy. ``K = clamp(max(budget, floor), 1, min(n, 4096))``.

    Args:
        n_symbols: stream length.
        est_bytes: estimated coded bytes.
        table_bytes: bytes of the encoded frequency table.

    Returns:
        The lane count ``K >= 1``.

    Example:
        >>> lane_count(10, 5.0, 3), lane_count(10**6, 200000.0, 20), lane_count(10**6, 10.0, 3)
        (1, 859, 123)
        >>> lane_count(25000, 3900.0, 20)
        49
    """
    budget = int((est_bytes / LANE_BUDGET_DIVISOR - table_bytes) / BYTES_PER_LANE)
    floor = -(-n_symbols // (BLOCK * step_cap(n_symbols)))
    return int(max(1, min(n_symbols, MAX_LANES, max(budget, floor))))


def step_cap(n_symbols: int) -> int:
    """Most steps (of two symbols per lane) the writer lets a stream of ``n_symbols`` take.

    256 below 2^16 symbols (short tensors, where the 1 % target does not apply: every stream of a file
    then finishes in about as many steps, which suits the batched decoder), ``min(4096, n // 32)``
    from 2^16 on (where lanes must also fit the 1 % ratio budget).

    Args:
        n_symbols: stream length.

    Returns:
        The step cap.

    Example:
        >>> step_cap(5000), step_cap(36864), step_cap(65536), step_cap(10**7)
        (256, 256, 2048, 4096)
    """
    if n_symbols >= RATIO_BOUND_SYMBOLS:
        return min(MAX_STEPS, n_symbols // 32)
    return SHORT_STEP_CAP


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


def plan_stream(data: bytes, itemsize: int, max_precision: int = WRITER_MAX_PRECISION) -> StreamPlan:
    """Count symbols, choose the table (precision and frequencies) and estimate the coded size.

    Args:
        data: little-endian symbol stream.
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).
        max_precision: highest table precision the writer may pick (raised to the lowest that fits).

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
    # short streams get coarser tables: a decoder builds 2^P slots per stream (costs < 0.1 %, measured)
    table = choose_table(present, counts, min(max_precision, max(1, sym.size.bit_length() - PRECISION_SLACK)))
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
        '0101016101000000030004'
    """
    table, sym, n = plan.table, plan.symbols, plan.n
    if table is None:
        return b""
    if table.symbols.size == 1:
        # a constant stream: one lane, no words, the state never leaves 1 (spec: "single symbol")
        return bytes([table.precision]) + write_varint(1) + plan.table_bytes + write_varint(0) + bytes(3)
    k = int(max(1, min(n, MAX_LANES, lanes)))
    states, counts, words = _encode_lanes(sym, table, 1 << (8 * plan.width), k)
    return bytes([table.precision]) + write_varint(k) + plan.table_bytes + lane_fields(states, counts) + words


def lane_fields(states: np.ndarray, counts: np.ndarray) -> bytes:
    """``cmin``, ``cbits``, ``emin``, ``ebits`` and the bit block of word counts, exponents, mantissas (4.2).

    Codec 8 writes its lane fields with this too (``spec/CODECS.md`` 6).

    Example:
        >>> lane_fields(np.array([12], np.uint64), np.array([0])).hex()
        '0000030004'
    """
    cmin = int(counts.min())
    extra = (counts - cmin).astype(np.uint64)
    cbits = int(extra.max()).bit_length()
    exps = np.array([int(v).bit_length() - 1 for v in states.tolist()], dtype=np.int64)
    emin = int(exps.min())
    ebits = int(exps.max() - emin).bit_length()
    mant = states - (np.uint64(1) << exps.astype(np.uint64))
    k = states.size
    values = np.concatenate((extra, (exps - emin).astype(np.uint64), mant))
    widths = np.concatenate((np.full(k, cbits), np.full(k, ebits), exps))
    return write_varint(cmin) + bytes([cbits, emin, ebits]) + pack_bits(values, widths)


def _encode_lanes(sym: np.ndarray, table: FreqTable, alphabet: int, k: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """Run the lanes backwards from state 1; returns final states, words per lane, and the words (lane-major)."""
    n, p = sym.size, table.precision
    freq = np.zeros(alphabet, dtype=np.uint64)
    cum = np.zeros(alphabet, dtype=np.uint64)
    freq[table.symbols] = table.freqs
    cum[table.symbols] = slot_starts(table)
    rows = -(-n // k)
    rows += rows % BLOCK
    grid = np.zeros(rows * k, dtype=sym.dtype)
    grid[:n] = sym
    grid = grid.reshape(rows, k)  # grid[i, l]: the i-th symbol of lane l (padding past n)
    lane_len = np.full(k, n // k, dtype=np.int64)
    lane_len[: n % k] += 1
    x = np.full(k, STATE_START, dtype=np.uint64)
    slots, zero = np.uint64(1 << p), np.uint64(0)
    limit_two = np.uint64(64 - 2 * p)
    wbits, wmask = np.uint64(WORD_BITS), np.uint64((1 << WORD_BITS) - 1)
    emitted: list[np.ndarray] = []
    lanes_of: list[np.ndarray] = []
    full_rows = int(lane_len.min())  # rows every lane has
    # gathered once: f and c of every symbol, g = M - f (a step x' = (x // f << P) + x % f + c is
    # x + (x // f) * g + c, the same uint64 value), and the renormalisation bound (f0 * f1) << (64 - 2P)
    f_all, c_all = freq[grid], cum[grid]
    g_all = slots - f_all
    bound = (f_all[0::BLOCK] * f_all[1::BLOCK]) << limit_two
    for b in range(rows // BLOCK - 1, -1, -1):
        i0, i1 = BLOCK * b, BLOCK * b + 1
        if i1 >= full_rows:  # the last block: a lane codes two symbols, one, or none (f = M is the identity)
            has0, has1 = i0 < lane_len, i1 < lane_len
            f0, c0 = np.where(has0, f_all[i0], slots), np.where(has0, c_all[i0], zero)
            f1, c1 = np.where(has1, f_all[i1], slots), np.where(has1, c_all[i1], zero)
            need = (x >= (f0 * f1) << limit_two) & has0
            steps = ((f1, slots - f1, c1), (f0, slots - f0, c0))
        else:
            need = x >= bound[b]  # the decoder's state after the block would be below L
            steps = ((f_all[i1], g_all[i1], c_all[i1]), (f_all[i0], g_all[i0], c_all[i0]))
        hit = np.flatnonzero(need)
        if hit.size:
            emitted.append(x[hit] & wmask)
            lanes_of.append(hit)
            x[hit] >>= wbits
        for f, g, c in steps:  # code the block's symbols last to first
            q = x // f
            q *= g
            q += c
            x += q
    if not emitted:
        return x, np.zeros(k, dtype=np.int64), b""
    # emission order is the reverse of decoding order; a stable sort by lane keeps each lane's order
    words = np.concatenate(emitted)[::-1]
    lanes = np.concatenate(lanes_of)[::-1]
    order = np.argsort(lanes, kind="stable")
    return x, np.bincount(lanes, minlength=k).astype(np.int64), words[order].astype("<u4").tobytes()


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
