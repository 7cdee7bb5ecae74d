"""Codec 8 payload layout (spec/CODECS.md 6.2): the writer's serialiser and the reader's validating parser.

The parser checks everything a reader can check before decoding (mode, group length, lane count, every
table, the lane fields, the number of word bytes) and allocates nothing larger than the payload and
``K <= N`` lane records; what only decoding can reveal is checked in :mod:`formats.codecs.rans_ctx`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import read_fields, read_varint, write_varint
from formats.codecs.rans_ctx_groups import MAX_GROUP
from formats.codecs.rans_format import MAX_EXPONENT, read_lane_widths, symbol_width
from formats.codecs.rans_table import MAX_PRECISION, FreqTable, decode_table, encode_table
from formats.errors import CodecError

MODE_PLAIN = 0  # the rest of the payload is a codec-6 payload of the whole stream
MODE_CONTEXT = 1  # group length, zero symbol, lanes, tables, lane fields, words (section 6.2)


@dataclass(frozen=True)
class CtxHeader:
    """A parsed, validated context-mode payload (nothing decoded yet)."""

    n: int  # symbols
    width: int  # bytes per symbol
    g: int  # group length
    m: int  # zero symbol
    counts: FreqTable  # table of group counts
    magnitudes: FreqTable  # table of |s - m|
    pattern_slack: int  # pattern table of n ranks: precision min(16, bit_length(n - 1) + slack)
    first: FreqTable  # sign of a group's first non-zero (symbols 0, 1)
    flip: FreqTable  # sign change of a later non-zero (symbols 0, 1)
    states: np.ndarray  # uint64, initial state of each lane
    lane_words: np.ndarray  # int64, words of each lane
    words: np.ndarray  # uint64 (32-bit values), lane after lane

    @property
    def lanes(self) -> int:
        return int(self.states.size)

    @property
    def groups(self) -> int:
        return -(-self.n // self.g)


def binary_table(precision: int, ones: int) -> FreqTable:
    """The two-symbol table whose symbol 1 has frequency ``ones`` (``0 .. 2^precision``); a frequency 0
    leaves a single-symbol table.

    Example:
        >>> t = binary_table(3, 2)
        >>> t.symbols.tolist(), t.freqs.tolist()
        ([0, 1], [6, 2])
        >>> binary_table(1, 0).symbols.tolist()
        [0]
    """
    total = 1 << precision
    if ones in (0, total):
        return FreqTable(precision, np.array([int(ones == total)], np.int64), np.array([total], np.int64))
    return FreqTable(precision, np.array([0, 1], np.int64), np.array([total - ones, ones], np.int64))


def binary_field(table: FreqTable) -> bytes:
    """Wire form of a binary table: its precision byte, then the frequency of symbol 1 as a varint."""
    ones = int(table.freqs[list(table.symbols).index(1)]) if 1 in table.symbols.tolist() else 0
    return bytes([table.precision]) + write_varint(ones)


def write_header(
    g: int, m: int, width: int, lanes: int, tables: tuple[FreqTable, FreqTable, int, FreqTable, FreqTable]
) -> bytes:
    """Everything of a context-mode payload before its lane fields.

    Args:
        g: group length.
        m: zero symbol.
        width: bytes per symbol.
        lanes: lane count.
        tables: count table, magnitude table, pattern slack, first-sign table, flip table.

    Returns:
        The bytes from the mode byte to the flip table.
    """
    counts, mags, pattern_slack, first, flip = tables
    return (
        bytes([MODE_CONTEXT, g])
        + m.to_bytes(width, "little")
        + write_varint(lanes)
        + bytes([counts.precision])
        + encode_table(counts)
        + bytes([mags.precision])
        + encode_table(mags)
        + bytes([pattern_slack])
        + binary_field(first)
        + binary_field(flip)
    )


def parse_ctx(buf: bytes, n: int, width: int) -> CtxHeader:
    """Parse and validate a context-mode payload (``buf[0]`` is the mode byte 1) of ``n`` symbols.

    Args:
        buf: the whole payload.
        n: symbols of the stream (``n >= 1``).
        width: bytes per symbol.

    Returns:
        The header with lane states and words.

    Raises:
        CodecError: any field out of range, any table defect, truncation, or a wrong number of word bytes.
    """
    if len(buf) < 2:
        raise CodecError("rans-ctx payload ends before its group length")
    g = buf[1]
    if not 1 <= g <= min(n, MAX_GROUP):
        raise CodecError(f"rans-ctx group length {g} is outside 1..{min(n, MAX_GROUP)}")
    if len(buf) < 2 + width:
        raise CodecError("rans-ctx payload ends inside the zero symbol")
    m = int.from_bytes(buf[2 : 2 + width], "little")
    groups = -(-n // g)
    k, pos = read_varint(buf, 2 + width, "rans-ctx lane count", groups)
    if k < 1:
        raise CodecError(f"rans-ctx lane count 0 is outside 1..{groups} (the group count)")
    counts, pos = _table(buf, pos, g + 1, "count")
    mags, pos = _table(buf, pos, 1 << (8 * width), "magnitude")
    if int(mags.symbols[0]) == 0:
        raise CodecError("rans-ctx magnitude table holds 0; magnitudes start at 1")
    if pos >= len(buf):
        raise CodecError("rans-ctx payload ends before the pattern slack")
    pattern_slack = buf[pos]
    pos += 1
    if pattern_slack > MAX_PRECISION:
        raise CodecError(f"rans-ctx pattern slack {pattern_slack} is above {MAX_PRECISION}")
    first, pos = _binary(buf, pos, "first-sign")
    flip, pos = _binary(buf, pos, "sign-flip")
    states, lane_words, pos = _lanes(buf, pos, k)
    if len(buf) - pos != 4 * int(lane_words.sum()):
        raise CodecError(
            f"rans-ctx lanes own {int(lane_words.sum())} words ({4 * int(lane_words.sum())} bytes) "
            f"but {len(buf) - pos} bytes follow"
        )
    words = np.frombuffer(buf, dtype="<u4", offset=pos).astype(np.uint64)
    return CtxHeader(n, width, g, m, counts, mags, pattern_slack, first, flip, states, lane_words, words)


def _precision(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    if pos >= len(buf):
        raise CodecError(f"rans-ctx payload ends before the {what} precision")
    p = buf[pos]
    if not 1 <= p <= MAX_PRECISION:
        raise CodecError(f"rans-ctx {what} precision {p} is outside 1..{MAX_PRECISION}")
    return p, pos + 1


def _table(buf: bytes, pos: int, alphabet: int, what: str) -> tuple[FreqTable, int]:
    p, pos = _precision(buf, pos, f"{what} table")
    try:
        return decode_table(buf, pos, p, alphabet)
    except CodecError as err:
        raise CodecError(f"rans-ctx {what} table: {err}") from err


def _binary(buf: bytes, pos: int, what: str) -> tuple[FreqTable, int]:
    p, pos = _precision(buf, pos, f"{what} table")
    ones, pos = read_varint(buf, pos, f"rans-ctx {what} frequency", 1 << p)
    return binary_table(p, ones), pos


def _lanes(buf: bytes, pos: int, k: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The lane fields of codec 6 (4.2): word counts, state exponents and mantissas; returns the end."""
    cmin, cbits, emin, ebits, pos = read_lane_widths(buf, pos, "rans-ctx")
    bit = 8 * pos
    if bit + (cbits + ebits) * k > 8 * len(buf):
        raise CodecError(f"rans-ctx payload too short for the word counts and state exponents of {k} lanes")
    head = read_fields(buf, bit, np.repeat(np.array([cbits, ebits], np.int64), k), "rans-ctx lane fields")
    counts = head[:k].astype(np.int64) + cmin
    exps = head[k:].astype(np.int64) + emin
    if int(exps.max()) > MAX_EXPONENT:
        raise CodecError(f"rans-ctx lane state exponent {int(exps.max())} is above {MAX_EXPONENT}")
    bit += (cbits + ebits) * k
    mant = read_fields(buf, bit, exps, "rans-ctx lane states")
    bit += int(exps.sum())
    end = -(-bit // 8)
    if bit % 8 and buf[end - 1] >> (bit % 8):
        raise CodecError("rans-ctx lane field padding bits are not zero")
    return mant + (np.uint64(1) << exps.astype(np.uint64)), counts, end


def stream_size(out_size: int, itemsize: int) -> tuple[int, int]:
    """``(n, width)`` of a stream of ``out_size`` bytes; CodecError if not a multiple of the width.

    Example:
        >>> stream_size(6, 2)
        (3, 2)
    """
    width = symbol_width(itemsize)
    if out_size < 0 or out_size % width:
        raise CodecError(f"rans-ctx out_size {out_size} is not a multiple of the symbol width {width}")
    return out_size // width, width


__all__ = [
    "MODE_CONTEXT",
    "MODE_PLAIN",
    "CtxHeader",
    "binary_field",
    "binary_table",
    "parse_ctx",
    "stream_size",
    "write_header",
]
