"""rANS payload constants and the reader's parser (spec/CODECS.md section 4): bytes -> a validated stream.

The parser checks everything that can be checked before decoding (precision, lane count, table, lane
word counts, state fields, sizes) and allocates nothing larger than the payload; decoding is in
:mod:`formats.codecs.rans_decode`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import read_fields, read_varint
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
    buf = bytes(payload)
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
    cmin, pos = read_varint(buf, pos, "rans fewest lane words", len(buf))
    if pos + 3 > len(buf):
        raise CodecError("rans payload ends inside its lane field widths")
    cbits, emin, ebits = buf[pos], buf[pos + 1], buf[pos + 2]
    pos += 3
    if cbits > MAX_COUNT_BITS or emin > MAX_EXPONENT or ebits > MAX_EXPONENT_BITS:
        raise CodecError(
            f"rans lane field widths out of range: word-count bits {cbits} (max {MAX_COUNT_BITS}), "
            f"lowest exponent {emin} (max {MAX_EXPONENT}), exponent bits {ebits} (max {MAX_EXPONENT_BITS})"
        )
    head_bits = (cbits + ebits) * k
    if 8 * pos + head_bits > 8 * len(buf):
        raise CodecError(f"rans payload too short for the word counts and state exponents of {k} lanes")
    head = read_fields(buf, 8 * pos, np.repeat(np.array([cbits, ebits], dtype=np.int64), k), "rans lane fields")
    extra, exps = head[:k], emin + head[k:]
    exps = exps.astype(np.int64)
    if (exps > MAX_EXPONENT).any():
        raise CodecError(f"rans lane state exponent {int(exps.max())} is above {MAX_EXPONENT}")
    mant = read_fields(buf, 8 * pos + head_bits, exps, "rans lane states")
    end_bits = 8 * pos + head_bits + int(exps.sum())
    pos = -(-end_bits // 8)
    if end_bits % 8 and buf[pos - 1] >> (end_bits % 8):
        raise CodecError("rans lane field padding bits are not zero")
    counts = cmin + extra.astype(np.int64)
    word_bytes = len(buf) - pos
    if word_bytes != 4 * int(counts.sum()):
        raise CodecError(
            f"rans lanes own {int(counts.sum())} words ({4 * int(counts.sum())} bytes) but {word_bytes} bytes follow"
        )
    states = mant + (np.uint64(1) << exps.astype(np.uint64))
    words = np.frombuffer(buf, dtype="<u4", offset=pos).astype(np.uint64)
    if table.symbols.size == 1 and (words.size or (states != STATE_START).any()):
        # f = 2^P: decoding never changes a state nor reads a word, so the lanes are checked directly
        raise CodecError("rans single-symbol stream must have final states 1 and no words")
    return RansStream(n, width, table, states, counts, words)
