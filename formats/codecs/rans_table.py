"""The static frequency table of the rANS codec: normalisation, precision choice, and its wire encoding.

See spec/CODECS.md, "rANS", for the normative description; this module is the writer's and reader's
implementation of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import pack_bits, read_varint, read_varints, write_varint
from formats.errors import CodecError

MAX_PRECISION = 16
SMALL_TABLE = 64  # frequency blocks of at most this many symbols are parsed with Python integers
SMALL_RUNS = 16  # ... and run lists of at most this many runs


@dataclass(frozen=True)
class FreqTable:
    """Present symbols (ascending) and their frequencies, which sum to ``1 << precision``."""

    precision: int
    symbols: np.ndarray  # int64, ascending, distinct
    freqs: np.ndarray  # int64, each >= 1


def normalize_counts(counts: np.ndarray, precision: int) -> np.ndarray:
    """Scale positive counts to integer frequencies >= 1 summing to ``1 << precision`` (exact integers).

    Largest-remainder (Hamilton) apportionment with a floor of one: symbols whose share would round down
    to zero get 1 and leave the apportionment; the others share the rest in proportion to their counts,
    the leftover units going to the largest remainders, ties to the lower position.

    Args:
        counts: int64 counts, all >= 1, at most ``1 << precision`` of them.
        precision: table precision ``P`` (total ``M = 1 << P``).

    Returns:
        int64 frequencies, same order as ``counts``.

    Example:
        >>> normalize_counts(np.array([5, 3, 1, 1]), 3).tolist()
        [4, 2, 1, 1]
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = 1 << precision
    if counts.size > total:
        raise ValueError(f"{counts.size} symbols do not fit a table of precision {precision}")
    small = np.zeros(counts.size, dtype=bool)
    while True:
        k = int(small.sum())
        budget = total - k
        big_total = int(counts[~small].sum())
        newly = ~small & (counts * budget < big_total)
        if not newly.any():
            break
        small |= newly
    freqs = np.ones(counts.size, dtype=np.int64)
    big = np.flatnonzero(~small)
    if big.size:
        scaled = counts[big] * budget
        base = scaled // big_total
        rem = scaled - base * big_total
        left = budget - int(base.sum())
        order = np.lexsort((big, -rem))  # largest remainder first, then lower position
        base[order[:left]] += 1
        freqs[big] = base
    return freqs


def slot_starts(table: FreqTable) -> np.ndarray:
    """First slot ``c_i`` of each table entry: slots go to the symbols by decreasing frequency.

    Ties go to the lower symbol. The most frequent symbol owns the slots from 0, which keeps a lane
    cheap while its state is still small (spec/CODECS.md 4.3).

    Args:
        table: a frequency table (entries in increasing symbol order).

    Returns:
        int64 ``c_i`` for each entry, in the table's order.

    Example:
        >>> slot_starts(FreqTable(3, np.array([1, 2, 3]), np.array([1, 5, 2]))).tolist()
        [7, 0, 5]
    """
    order = np.argsort(-np.asarray(table.freqs, dtype=np.int64), kind="stable")
    starts = np.empty(order.size, dtype=np.int64)
    ranked = np.asarray(table.freqs, dtype=np.int64)[order]
    starts[order] = np.cumsum(ranked) - ranked
    return starts


def table_bits(freqs: np.ndarray) -> int:
    """Bits taken by the frequency field of the table (nibble exponents plus mantissas), before padding."""
    if freqs.size < 2:
        return 0
    exps = _bit_length(freqs) - 1
    return int(4 * freqs.size + exps.sum())


def choose_table(symbols: np.ndarray, counts: np.ndarray, max_precision: int = MAX_PRECISION) -> FreqTable:
    """Pick the precision that minimises the estimated coded size (ties -> lower precision).

    The estimate is ``sum(c * log2(M / f))`` plus the frequency field of the table, in bits.

    Args:
        symbols: ascending present symbol values.
        counts: their counts (>= 1).
        max_precision: highest precision tried (raised to the lowest that fits the symbols).

    Returns:
        The chosen :class:`FreqTable`.

    Example:
        >>> choose_table(np.array([7]), np.array([10])).precision
        1
    """
    symbols = np.asarray(symbols, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    if symbols.size == 1:
        return FreqTable(1, symbols, np.array([2], dtype=np.int64))
    lowest = max(1, int(symbols.size - 1).bit_length())
    best: FreqTable | None = None
    best_bits = np.inf
    for precision in range(lowest, max(lowest, min(max_precision, MAX_PRECISION)) + 1):
        freqs = normalize_counts(counts, precision)
        bits = float((counts * (precision - np.log2(freqs))).sum()) + table_bits(freqs)
        if bits < best_bits - 1e-9:
            best, best_bits = FreqTable(precision, symbols, freqs), bits
    if best is None:  # pragma: no cover - the loop always runs at least once
        raise ValueError("no precision fits")
    return best


def encode_table(table: FreqTable) -> bytes:
    """Wire form of the present-symbol runs and the frequencies (precision and lanes are written elsewhere)."""
    syms = table.symbols
    breaks = np.flatnonzero(np.diff(syms) != 1) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [syms.size]))
    out = bytearray(write_varint(int(starts.size)))
    prev_end = 0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        first = int(syms[a])
        out += write_varint(first - prev_end)
        out += write_varint(b - a - 1)
        prev_end = first + (b - a)
    if syms.size >= 2:
        freqs = table.freqs
        exps = _bit_length(freqs) - 1
        values = np.concatenate((exps, freqs - (np.int64(1) << exps)))
        widths = np.concatenate((np.full(freqs.size, 4), exps))
        out += pack_bits(values, widths)
    return bytes(out)


def decode_table(buf: bytes, pos: int, precision: int, alphabet: int) -> tuple[FreqTable, int]:
    """Parse and validate a table written by :func:`encode_table`; returns it and the position after it."""
    nruns, pos = read_varint(buf, pos, "rans run count", alphabet)
    if nruns < 1:
        raise CodecError("rans table has no symbols")
    if nruns <= SMALL_RUNS:  # a few Python varints are cheaper than the vectorised reader
        symbols, pos = _small_runs(buf, pos, nruns, alphabet)
    else:
        symbols, pos = _runs(buf, pos, nruns, alphabet)
    m = len(symbols)
    total = 1 << precision
    if m > total:
        raise CodecError(f"rans table has {m} symbols, more than 2^{precision}")
    if m == 1:
        return FreqTable(precision, np.asarray(symbols, dtype=np.int64), np.array([total], dtype=np.int64)), pos
    nib_bytes = (m + 1) // 2
    if pos + nib_bytes > len(buf):
        raise CodecError("rans frequency exponents run past the end of the payload")
    if m <= SMALL_TABLE:
        small, end = _small_frequencies(buf, pos, m)
        freqs, freq_sum = np.array(small, dtype=np.int64), sum(small)
    else:
        freqs, end = _frequencies(buf, pos, m)
        freq_sum = int(freqs.sum())
    if freq_sum != total:
        raise CodecError(f"rans frequencies sum to {freq_sum}, not 2^{precision}")
    return FreqTable(precision, np.asarray(symbols, dtype=np.int64), freqs), end


def _small_runs(buf: bytes, pos: int, nruns: int, alphabet: int) -> tuple[list[int] | np.ndarray, int]:
    """A short run list with Python integers (same checks as :func:`_runs`); returns (symbols, pos)."""
    values = []
    for _ in range(2 * nruns):
        value, pos = read_varint(buf, pos, "rans run gap or length", alphabet)
        values.append(value)
    if 0 in values[2::2]:
        raise CodecError("rans table runs touch (gap 0); the table is not canonical")
    runs, end = [], 0
    for gap, extra in zip(values[0::2], values[1::2], strict=True):
        runs.append((end + gap, end + gap + extra + 1))
        end = runs[-1][1]
    if end > alphabet:
        raise CodecError(f"rans table symbol {end - 1} is outside the alphabet of {alphabet}")
    if sum(b - a for a, b in runs) <= SMALL_TABLE:
        return [v for a, b in runs for v in range(a, b)], pos
    return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in runs]), pos


def _runs(buf: bytes, pos: int, nruns: int, alphabet: int) -> tuple[np.ndarray, int]:
    """The run list (gap and length - 1 per run, as varints) -> the present symbols, ascending."""
    fields, pos = read_varints(buf, pos, 2 * nruns, "rans run gap or length", alphabet)
    gaps, extra = fields[0::2], fields[1::2]
    if (gaps[1:] == 0).any():
        raise CodecError("rans table runs touch (gap 0); the table is not canonical")
    lengths = extra + 1
    ends = np.add.accumulate(gaps + lengths)  # one past the last value of each run
    if int(ends[-1]) > alphabet:
        raise CodecError(f"rans table symbol {int(ends[-1]) - 1} is outside the alphabet of {alphabet}")
    firsts = ends - lengths
    within = np.arange(int(lengths.sum()), dtype=np.int64)
    return np.repeat(firsts - (np.add.accumulate(lengths) - lengths), lengths) + within, pos


def _small_frequencies(buf: bytes, pos: int, m: int) -> tuple[list[int], int]:
    """The frequency block of a short table, with Python integers (same checks as :func:`_frequencies`)."""
    head = int.from_bytes(buf[pos : pos + (m + 1) // 2], "little")
    exps = [(head >> (4 * i)) & 15 for i in range(m)]
    nbits = 4 * m + sum(exps)
    end = pos + (nbits + 7) // 8
    if end > len(buf):
        raise CodecError("rans frequency mantissas run past the end of the payload")
    block = int.from_bytes(buf[pos:end], "little")
    if block >> nbits:
        raise CodecError("rans table padding bits are not zero")
    freqs, bit = [], 4 * m
    for e in exps:
        freqs.append((1 << e) + ((block >> bit) & ((1 << e) - 1)))
        bit += e
    return freqs, end


def _frequencies(buf: bytes, pos: int, m: int) -> tuple[np.ndarray, int]:
    """The frequency block: ``m`` 4-bit exponents, ``m`` mantissas, zero padding; returns (freqs, end)."""
    nib_bytes = (m + 1) // 2
    raw = np.frombuffer(buf, dtype=np.uint8, count=nib_bytes, offset=pos).astype(np.int64)
    exps = np.empty(2 * nib_bytes, dtype=np.int64)
    exps[0::2] = raw & 15
    exps[1::2] = raw >> 4
    exps = exps[:m]
    nbits = 4 * m + int(exps.sum())
    end = pos + (nbits + 7) // 8
    if end > len(buf):
        raise CodecError("rans frequency mantissas run past the end of the payload")
    # each mantissa (<= 15 bits at a bit shift <= 7) lies within 3 bytes: gather them, shift, mask
    starts = 8 * pos + 4 * m + np.add.accumulate(exps) - exps
    body = np.frombuffer(buf, dtype=np.uint8, count=end - pos, offset=pos).astype(np.int64)
    body = np.concatenate((body, np.zeros(3, dtype=np.int64)))
    at = (starts >> 3) - pos
    word = body[at] | (body[at + 1] << 8) | (body[at + 2] << 16)
    mant = (word >> (starts & 7)) & ((np.int64(1) << exps) - 1)
    pad_end = 8 * pos + nbits
    if pad_end % 8 and int(buf[pad_end // 8]) >> (pad_end % 8):
        raise CodecError("rans table padding bits are not zero")
    return (np.int64(1) << exps) + mant, end


def _bit_length(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.int64)
    if values.size and 0 <= int(values.min()) and int(values.max()) < 1 << 53:
        # exact in float64 below 2^53: frexp's exponent of v > 0 is its bit length, and 0 for v = 0
        return np.frexp(values.astype(np.float64))[1].astype(np.int64)
    out = np.zeros(values.shape, dtype=np.int64)
    v = values.copy()
    while (v > 0).any():
        out += v > 0
        v >>= 1
    return out
