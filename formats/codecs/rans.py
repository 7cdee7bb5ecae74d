"""Codec 6: static per-tensor rANS with interleaved lanes, vectorised across lanes (spec/CODECS.md, "rANS").

State: 32 bits in ``[L, 2^32)`` with ``L = 2^16``; renormalisation moves one 16-bit word at a time.
Symbol ``i`` of the stream goes to lane ``i mod K`` and is the ``i // K``-th symbol of that lane. The
decoder walks the steps ``t = 0, 1, ...``; at each step every active lane decodes one symbol, then the
lanes whose state fell below ``L`` read one word each, in increasing lane order, from a single word stream.
"""

from __future__ import annotations

import numpy as np

from formats.codecs._bits import read_varint, write_varint
from formats.codecs.rans_table import MAX_PRECISION, FreqTable, choose_table, decode_table, encode_table
from formats.errors import CodecError
from formats.ids import CodecId

STATE_LOW = 1 << 16  # L: the lowest state, also every lane's initial encoder state
WORD_BITS = 16
LANE_BUDGET_DIVISOR = 160  # lanes and table together get 1/160 of the estimated payload
BYTES_PER_LANE = 3  # average flush cost of one lane, in bytes
MAX_LANES = 4096  # the writer never uses more; a reader accepts up to MAX_LANES_READ
MAX_STEPS = 8192  # the writer adds lanes so that no stream of up to 2^25 symbols takes more steps
MIN_STEP_CAP = 2048  # ... and streams shorter than 2^15 symbols take at most this many
MAX_LANES_READ = 1 << 16


def symbol_width(itemsize: int) -> int:
    """Bytes per rANS symbol: 2 for ``itemsize == 2``, else 1 (itemsizes 4 and 8 are coded as bytes).

    Args:
        itemsize: element size of the tensor payload.

    Returns:
        1 or 2.

    Example:
        >>> symbol_width(2), symbol_width(1), symbol_width(4)
        (2, 1, 1)
    """
    return 2 if itemsize == 2 else 1


def lane_count(n_symbols: int, est_bytes: float, table_bytes: int) -> int:
    """Lane count: ``clamp(max(floor((est/160 - table)/3), ceil(n / cap(n))), 1, min(n, 4096))``.

    ``est_bytes`` is the writer's order-0 estimate of the coded words under the chosen table and
    ``table_bytes`` the size of the encoded table. A lane costs about 3 bytes (its flushed 32-bit state
    holds about 8 unused bits, plus the 16 bits of the initial state that serve as the integrity
    check), so lanes and table together take about 1/160 (0.625 %) of the payload. More lanes make the
    numpy decoder faster (fewer steps), fewer lanes make the payload smaller; this is the trade-off.
    Low-entropy and short streams would get a single lane and one step per symbol, so the lane count
    is never below ``ceil(n / cap(n))`` with ``cap(n) = min(8192, max(2048, n // 16))`` steps: short
    tensors (where the 1 % target does not apply) decode in at most 2048 steps, long ones in 8192.

    Args:
        n_symbols: stream length.
        est_bytes: estimated coded bytes.
        table_bytes: bytes of the encoded frequency table.

    Returns:
        The lane count ``K >= 1``.

    Example:
        >>> lane_count(10, 5.0, 3), lane_count(10**6, 64000.0, 20), lane_count(10**6, 10.0, 3)
        (1, 126, 123)
        >>> lane_count(25000, 3900.0, 20)
        13
    """
    budget = int((est_bytes / LANE_BUDGET_DIVISOR - table_bytes) / BYTES_PER_LANE)
    cap = min(MAX_STEPS, max(MIN_STEP_CAP, n_symbols // 16))
    floor = -(-n_symbols // cap)
    return int(max(1, min(n_symbols, MAX_LANES, max(budget, floor))))


def _symbols_of(data: bytes, width: int) -> np.ndarray:
    if width == 2:
        if len(data) % 2:
            raise CodecError(f"rans with 2-byte symbols needs an even length, got {len(data)} bytes")
        return np.frombuffer(data, dtype="<u2").astype(np.uint16)
    return np.frombuffer(data, dtype=np.uint8)


def rans_encode(data: bytes, itemsize: int) -> bytes:
    """Encode a little-endian symbol stream (see :func:`symbol_width`) as a rANS payload.

    Args:
        data: the stream bytes.
        itemsize: element size; 2 selects 16-bit symbols, anything else bytes.

    Returns:
        The payload: precision, lane count, table, lane states, words.

    Example:
        >>> rans_encode(b"", 1)
        b''
    """
    width = symbol_width(itemsize)
    sym = _symbols_of(bytes(data), width)
    n = sym.size
    if n == 0:
        return b""
    counts_all = np.bincount(sym, minlength=1 << (8 * width))
    present = np.flatnonzero(counts_all)
    counts = counts_all[present]
    table = choose_table(present, counts)
    p = table.precision
    table_bytes = encode_table(table)
    if present.size == 1:
        # a constant stream: one lane, no words, the state never leaves L (spec: "single symbol")
        return bytes([p]) + write_varint(1) + table_bytes + STATE_LOW.to_bytes(4, "little")
    est = float((counts * (p - np.log2(table.freqs))).sum()) / 8
    k = lane_count(n, est, len(table_bytes))
    # per-symbol-value tables (alphabet-sized), so the stream indexes them directly
    freq = np.zeros(counts_all.size, dtype=np.uint32)
    cum = np.zeros(counts_all.size, dtype=np.uint32)
    xmax = np.zeros(counts_all.size, dtype=np.uint32)
    freq[present] = table.freqs
    cum[present] = np.cumsum(table.freqs) - table.freqs
    xmax[present] = table.freqs << (32 - p)
    states, words = _encode_lanes(sym, freq, cum, xmax, p, k)
    header = bytes([p]) + write_varint(k) + table_bytes
    return header + states.astype("<u4").tobytes() + words.astype("<u2").tobytes()


def _encode_lanes(
    idx: np.ndarray, freq: np.ndarray, cum: np.ndarray, xmax: np.ndarray, p: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    n = idx.size
    f_all = freq[idx]
    c_all = cum[idx]
    m_all = xmax[idx]
    x = np.full(k, STATE_LOW, dtype=np.uint32)
    q = np.empty(k, dtype=np.uint32)
    r = np.empty(k, dtype=np.uint32)
    emitted: list[np.ndarray] = []
    shift = np.uint32(p)
    wshift = np.uint32(WORD_BITS)
    for lo in range((n - 1) // k * k, -1, -k):
        hi = min(lo + k, n)
        m = hi - lo
        xs, qs, rs = x[:m], q[:m], r[:m]
        f = f_all[lo:hi]
        need = xs >= m_all[lo:hi]
        if need.any():
            emitted.append((xs[need] & np.uint32(0xFFFF)).astype(np.uint16))
            xs[need] >>= wshift
        np.floor_divide(xs, f, out=qs)
        np.multiply(qs, f, out=rs)
        np.subtract(xs, rs, out=rs)
        np.left_shift(qs, shift, out=xs)
        np.add(xs, rs, out=xs)
        np.add(xs, c_all[lo:hi], out=xs)
    emitted.reverse()
    words = np.concatenate(emitted) if emitted else np.zeros(0, dtype=np.uint16)
    return x, words


def rans_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode a rANS payload to exactly ``out_size`` bytes, or raise CodecError.

    Args:
        payload: bytes produced by :func:`rans_encode`.
        out_size: decoded length in bytes (a multiple of the symbol width).
        itemsize: element size (selects the symbol width as in :func:`symbol_width`).

    Returns:
        The decoded stream.

    Example:
        >>> rans_decode(rans_encode(b"aab", 1), 3, 1)
        b'aab'
    """
    buf = bytes(payload)
    width = symbol_width(itemsize)
    if out_size % width:
        raise CodecError(f"rans out_size {out_size} is not a multiple of the symbol width {width}")
    n = out_size // width
    if n == 0:
        if buf:
            raise CodecError(f"rans payload for an empty tensor must be empty, got {len(buf)} bytes")
        return b""
    if not buf:
        raise CodecError("rans payload is empty but the tensor is not")
    p = buf[0]
    if not 1 <= p <= MAX_PRECISION:
        raise CodecError(f"rans precision {p} is outside 1..{MAX_PRECISION}")
    k, pos = read_varint(buf, 1, "rans lane count", MAX_LANES_READ)
    if not 1 <= k <= n:
        raise CodecError(f"rans lane count {k} is outside 1..{n} (the symbol count)")
    table, pos = decode_table(buf, pos, p, 1 << (8 * width))
    if pos + 4 * k > len(buf):
        raise CodecError(f"rans payload too short for {k} lane states")
    if (len(buf) - pos - 4 * k) % 2:
        raise CodecError("rans word stream has an odd number of bytes")
    x = np.frombuffer(buf, dtype="<u4", count=k, offset=pos).astype(np.uint32)
    if (x < STATE_LOW).any():
        raise CodecError(f"rans lane state below {STATE_LOW}; the payload is corrupt")
    words = np.frombuffer(buf, dtype="<u2", offset=pos + 4 * k).astype(np.uint32)
    if table.symbols.size == 1:
        # f = 2^P: decoding never changes a state nor reads a word, so the lanes are checked directly
        if words.size or (x != STATE_LOW).any():
            raise CodecError("rans single-symbol stream must have initial states and no words")
        return np.full(n, table.symbols[0], dtype="<u2" if width == 2 else np.uint8).tobytes()
    slots = _decode_lanes(x, words, table, n)
    return _slot_symbols(table)[slots].astype("<u2" if width == 2 else np.uint8).tobytes()


def _slot_tables(table: FreqTable) -> tuple[np.ndarray, np.ndarray]:
    freqs = table.freqs
    owner = np.repeat(np.arange(freqs.size), freqs)
    cum = np.cumsum(freqs) - freqs
    ftab = freqs[owner].astype(np.uint32)
    otab = (np.arange(owner.size) - cum[owner]).astype(np.uint32)
    return ftab, otab


def _slot_symbols(table: FreqTable) -> np.ndarray:
    return np.repeat(table.symbols, table.freqs)


def _decode_lanes(x: np.ndarray, words: np.ndarray, table: FreqTable, n: int) -> np.ndarray:
    p = table.precision
    k = x.size
    ftab, otab = _slot_tables(table)
    mask = np.uint32((1 << p) - 1)
    shift = np.uint32(p)
    low = np.uint32(STATE_LOW)
    wshift = np.uint32(WORD_BITS)
    slots = np.empty(n, dtype=np.uint16)
    full = n // k
    rows = slots[: full * k].reshape(full, k)
    sl = np.empty(k, dtype=np.intp)
    f = np.empty(k, dtype=np.uint32)
    o = np.empty(k, dtype=np.uint32)
    nd = np.empty(k, dtype=bool)
    band, take, rshift, mul, add, less = np.bitwise_and, np.take, np.right_shift, np.multiply, np.add, np.less
    count = np.count_nonzero
    nwords = words.size
    pos = 0
    # One iteration per step, whole-lane numpy operations only; the last, partial step runs after.
    for t in range(full):
        band(x, mask, out=sl, casting="unsafe")
        rows[t] = sl
        take(ftab, sl, out=f)
        take(otab, sl, out=o)
        rshift(x, shift, out=x)
        mul(x, f, out=x)
        add(x, o, out=x)
        less(x, low, out=nd)
        hit = count(nd)
        if hit:
            end = pos + hit
            if end > nwords:
                raise CodecError("rans word stream ends early; the payload is truncated or corrupt")
            x[nd] = (x[nd] << wshift) | words[pos:end]
            pos = end
    tail = n - full * k
    if tail:
        xs = x[:tail]
        s = (xs & mask).astype(np.intp)
        slots[full * k :] = s
        xs[:] = ftab[s] * (xs >> shift) + otab[s]
        low_lanes = xs < low
        hit = count(low_lanes)
        end = pos + hit
        if end > nwords:
            raise CodecError("rans word stream ends early; the payload is truncated or corrupt")
        xs[low_lanes] = (xs[low_lanes] << wshift) | words[pos:end]
        pos = end
    if pos != nwords:
        raise CodecError(f"rans payload has {2 * (nwords - pos)} bytes of unread words")
    if (x != low).any():
        raise CodecError("rans lanes do not return to the initial state; the payload is corrupt")
    return slots


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
