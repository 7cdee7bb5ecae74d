"""rANS payload constants and the reader's parser (spec/CODECS.md section 4): bytes -> a validated stream.

The parser checks everything that can be checked before decoding (precision, lane count, table, lane
word counts, state fields, sizes) and allocates nothing larger than the payload; decoding is in
:mod:`formats.codecs.rans_decode`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import read_fields_at, read_varint
from formats.codecs.rans_table import MAX_PRECISION, FreqTable, decode_table
from formats.errors import CodecError

STATE_LOW = 1 << 32  # L: a lane below this with unread words reads one
STATE_START = 1  # every lane's initial encoder state, and its final decoder state
WORD_BITS = 32  # renormalisation moves one 32-bit word
BLOCK = 2  # symbols decoded between renormalisations (M^2 divides L since P <= 16)
MAX_LANES_READ = 1 << 16
MAX_COUNT_BITS = 32
MAX_EXPONENT = 63
MAX_EXPONENT_BITS = 6


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


def symbol_dtype(width: int) -> np.dtype:
    """The numpy dtype of decoded symbols ``width`` bytes wide: little-endian uint16 or uint8.

    Example:
        >>> symbol_dtype(2).str, symbol_dtype(1).str
        ('<u2', '|u1')
    """
    return np.dtype("<u2") if width == 2 else np.dtype(np.uint8)


@dataclass(frozen=True)
class RansStream:
    """One parsed, validated rANS payload, ready for (batched) decoding.

    Lane ``l`` owns ``lane_words[l]`` words; ``words`` holds them lane after lane, each lane's in
    decoding order.
    """

    n: int  # symbols
    width: int  # bytes per symbol
    table: FreqTable
    states: np.ndarray  # uint64, K initial decoder states
    lane_words: np.ndarray  # int64, one word count per lane
    words: np.ndarray  # uint64 (32-bit values), all lanes

    @property
    def lanes(self) -> int:
        return int(self.states.size)

    @property
    def steps(self) -> int:
        """Renormalisation steps of the longest lane (each decodes up to two symbols per lane)."""
        return -(-self.n // (self.lanes * BLOCK)) if self.n else 0


@dataclass(frozen=True)
class _Head:
    """What a payload says before its lane fields: the parsed prefix of one coded stream."""

    buf: bytes
    n: int
    width: int
    table: FreqTable
    lanes: int
    cmin: int
    emin: int
    field_at: int  # byte offset of the lane fields
    widths: tuple[int, int]  # bits of each lane's word-count field and of its exponent field


def parse_stream(payload: bytes, out_size: int, itemsize: int) -> RansStream:
    """Parse and validate a rANS payload whose decoded length is ``out_size`` bytes.

    Args:
        payload: the codec payload.
        out_size: decoded length in bytes (a multiple of the symbol width).
        itemsize: element size (selects the symbol width as in :func:`symbol_width`).

    Returns:
        The parsed stream; for ``out_size == 0`` one with ``n == 0`` and an empty table.

    Raises:
        CodecError: any field is out of range, inconsistent or truncated.

    Example:
        >>> parse_stream(bytes.fromhex("0101016101000000030004"), 3, 1).lanes
        1
    """
    return parse_streams([(payload, out_size, itemsize)])[0]


def parse_streams(requests: Sequence[tuple[bytes, int, int]], labels: Sequence[str] | None = None) -> list[RansStream]:
    """:func:`parse_stream` over many ``(payload, out_size, itemsize)`` requests, lane fields read at once.

    Each payload's prefix (precision, lane count, table, field widths) is parsed on its own; the lane
    fields of all of them (word counts, state exponents, state mantissas) are then read with a few
    vector operations over the joined payloads, and every check of :func:`parse_stream` applies to
    each stream.

    Args:
        requests: one ``(payload, out_size, itemsize)`` per stream.
        labels: one name per stream; a CodecError then starts ``rans <label>:``.

    Returns:
        The parsed streams, in order.

    Raises:
        CodecError: a payload is malformed (the first one found; prefixes are checked before fields).

    Example:
        >>> [s.n for s in parse_streams([(bytes.fromhex("0101016101000000030004"), 3, 1), (b"", 0, 1)])]
        [3, 0]
    """
    if labels is not None and len(labels) != len(requests):
        raise ValueError(f"parse_streams needs one label per request, got {len(requests)} and {len(labels)}")
    out: list[RansStream | None] = []
    heads: list[tuple[int, _Head]] = []
    for i, (payload, out_size, itemsize) in enumerate(requests):
        with _named(labels, i):
            parsed = _parse_head(bytes(payload), out_size, itemsize)
        out.append(parsed if isinstance(parsed, RansStream) else None)
        if isinstance(parsed, _Head):
            heads.append((i, parsed))
    if heads:
        streams = _lane_fields([h for _, h in heads], labels, [i for i, _ in heads])
        for (i, _), stream in zip(heads, streams, strict=True):
            out[i] = stream
    return [s for s in out if s is not None]


@contextmanager
def _named(labels: Sequence[str] | None, i: int) -> Iterator[None]:
    """Prefix a CodecError raised inside with ``rans <label>:`` when labels are given."""
    try:
        yield
    except CodecError as err:
        if labels is None:
            raise
        raise CodecError(f"rans {labels[i]}: {err}") from err


def read_lane_widths(buf: bytes, pos: int, codec: str) -> tuple[int, int, int, int, int]:
    """``(cmin, cbits, emin, ebits, end)``: the lane-field prefix of 4.2 at ``pos``, each width checked.

    Codec 8 writes the same fields (``spec/CODECS.md`` 6); ``codec`` names the payload in errors.

    Example:
        >>> read_lane_widths(bytes.fromhex("0000030004"), 0, "rans")
        (0, 0, 3, 0, 4)
    """
    cmin, pos = read_varint(buf, pos, f"{codec} fewest lane words", len(buf))
    if pos + 3 > len(buf):
        raise CodecError(f"{codec} payload ends inside its lane field widths")
    cbits, emin, ebits = buf[pos], buf[pos + 1], buf[pos + 2]
    if cbits > MAX_COUNT_BITS or emin > MAX_EXPONENT or ebits > MAX_EXPONENT_BITS:
        raise CodecError(
            f"{codec} lane field widths out of range: word-count bits {cbits} (max {MAX_COUNT_BITS}), "
            f"lowest exponent {emin} (max {MAX_EXPONENT}), exponent bits {ebits} (max {MAX_EXPONENT_BITS})"
        )
    return cmin, cbits, emin, ebits, pos + 3


def _parse_head(buf: bytes, out_size: int, itemsize: int) -> RansStream | _Head:
    """The prefix of one payload up to its lane fields (an empty stream is complete here)."""
    width = symbol_width(itemsize)
    if out_size % width:
        raise CodecError(f"rans out_size {out_size} is not a multiple of the symbol width {width}")
    n = out_size // width
    if n == 0:
        if buf:
            raise CodecError(f"rans payload for an empty tensor must be empty, got {len(buf)} bytes")
        empty = np.zeros(0, dtype=np.int64)
        return RansStream(0, width, FreqTable(1, empty, empty), np.zeros(0, np.uint64), empty, np.zeros(0, np.uint64))
    if not buf:
        raise CodecError("rans payload is empty but the tensor is not")
    p = buf[0]
    if not 1 <= p <= MAX_PRECISION:
        raise CodecError(f"rans precision {p} is outside 1..{MAX_PRECISION}")
    k, pos = read_varint(buf, 1, "rans lane count", MAX_LANES_READ)
    if not 1 <= k <= n:
        raise CodecError(f"rans lane count {k} is outside 1..{n} (the symbol count)")
    table, pos = decode_table(buf, pos, p, 1 << (8 * width))
    cmin, cbits, emin, ebits, pos = read_lane_widths(buf, pos, "rans")
    if 8 * pos + (cbits + ebits) * k > 8 * len(buf):
        raise CodecError(f"rans payload too short for the word counts and state exponents of {k} lanes")
    return _Head(buf, n, width, table, k, cmin, emin, pos, (cbits, ebits))


def _lane_fields(heads: list[_Head], labels: Sequence[str] | None, index: list[int]) -> list[RansStream]:
    """Read the lane fields of every stream at once (the payloads joined), then check each stream.

    Stream ``j`` has ``K`` word-count fields and ``K`` exponent fields from its ``field_at``, then
    ``K`` mantissas as wide as the exponents say; ``index[j]`` is its position for error labels."""
    joined = b"".join(h.buf for h in heads)
    sizes = [len(h.buf) for h in heads]
    base_bit = 8 * np.cumsum([0, *sizes[:-1]])
    lanes = np.array([h.lanes for h in heads], dtype=np.int64)
    first_lane = np.cumsum(lanes) - lanes
    widths = np.array([h.widths for h in heads], dtype=np.int64)  # (count bits, exponent bits) per stream
    head_at = base_bit + 8 * np.array([h.field_at for h in heads], dtype=np.int64)
    per_field = np.repeat(lanes, 2)  # a run of K count fields, then K exponent fields, per stream
    head_widths = np.repeat(widths.reshape(-1), per_field)
    head = read_fields_at(joined, _field_starts(head_widths, 2 * lanes, head_at), head_widths).astype(np.int64)
    is_exp = np.repeat(np.tile(np.array([False, True]), len(heads)), per_field)
    counts = head[~is_exp] + np.repeat(np.array([h.cmin for h in heads], dtype=np.int64), lanes)
    exps = head[is_exp] + np.repeat(np.array([h.emin for h in heads], dtype=np.int64), lanes)
    mant_at = head_at + widths.sum(axis=1) * lanes
    exp_max = np.maximum.reduceat(exps, first_lane).tolist()
    end_bit = (mant_at - base_bit + np.add.reduceat(exps, first_lane)).tolist()  # within each payload
    for j, size in enumerate(sizes):
        with _named(labels, index[j]):
            if exp_max[j] > MAX_EXPONENT:
                raise CodecError(f"rans lane state exponent {exp_max[j]} is above {MAX_EXPONENT}")
            if end_bit[j] > 8 * size:
                raise CodecError("rans lane states runs past the end of the payload")
    mant = read_fields_at(joined, _field_starts(exps, lanes, mant_at), exps)
    states = mant + (np.uint64(1) << exps.astype(np.uint64))
    word_totals = np.add.reduceat(counts, first_lane).tolist()
    streams = []
    for j, h in enumerate(heads):
        lane_slice = slice(int(first_lane[j]), int(first_lane[j]) + h.lanes)
        with _named(labels, index[j]):
            streams.append(_finish(h, counts[lane_slice], states[lane_slice], end_bit[j], word_totals[j]))
    return streams


def _field_starts(widths: np.ndarray, per_stream: np.ndarray, first_bit: np.ndarray) -> np.ndarray:
    """Bit offsets of fields laid back to back within each stream (``per_stream[j] >= 1`` fields),
    stream ``j``'s from ``first_bit[j]``."""
    before = np.cumsum(widths) - widths  # offset of each field if all streams were one run
    stream_first = np.cumsum(per_stream) - per_stream
    return before + np.repeat(first_bit - before[stream_first], per_stream)


def _finish(h: _Head, counts: np.ndarray, states: np.ndarray, end_bit: int, total: int) -> RansStream:
    """The checks after the lane fields (padding, words against the payload, single-symbol states)."""
    buf = h.buf
    pos = -(-end_bit // 8)
    if end_bit % 8 and buf[pos - 1] >> (end_bit % 8):
        raise CodecError("rans lane field padding bits are not zero")
    word_bytes = len(buf) - pos
    if word_bytes != 4 * total:
        raise CodecError(f"rans lanes own {total} words ({4 * total} bytes) but {word_bytes} bytes follow")
    words = np.frombuffer(buf, dtype="<u4", offset=pos).astype(np.uint64)
    if h.table.symbols.size == 1 and (words.size or (states != STATE_START).any()):
        # f = 2^P: decoding never changes a state nor reads a word, so the lanes are checked directly
        raise CodecError("rans single-symbol stream must have final states 1 and no words")
    return RansStream(h.n, h.width, h.table, states, counts, words)
