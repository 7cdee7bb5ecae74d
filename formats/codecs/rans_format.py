"""rANS payload constants and the reader's parser (spec/CODECS.md section 4): bytes -> a validated stream.

The parser checks everything that can be checked before decoding (precision, lane count, table, group
lengths, state bounds, sizes) and allocates nothing larger than the payload; decoding is in
:mod:`formats.codecs.rans_decode`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import read_varint
from formats.codecs.rans_table import MAX_PRECISION, FreqTable, decode_table
from formats.errors import CodecError

STATE_LOW = 1 << 16  # L: the lowest state, also every lane's initial encoder state
WORD_BITS = 16
LANE_GROUP = 8  # lanes 8g .. 8g+7 share the word stream of group g
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


@dataclass(frozen=True)
class RansStream:
    """One parsed, validated rANS payload, ready for (batched) decoding.

    ``group_words[g]`` is the number of words of group ``g``; ``words`` holds them group after group.
    """

    n: int  # symbols
    width: int  # bytes per symbol
    table: FreqTable
    states: np.ndarray  # uint32, K initial decoder states
    group_words: np.ndarray  # int64, one count per group
    words: np.ndarray  # uint32 (16-bit values), all groups

    @property
    def lanes(self) -> int:
        return int(self.states.size)

    @property
    def steps(self) -> int:
        return -(-self.n // self.lanes) if self.n else 0


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
        >>> parse_stream(bytes.fromhex("01010161010004000800"), 3, 1).lanes
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
        return RansStream(0, width, FreqTable(1, empty, empty), np.zeros(0, np.uint32), empty, np.zeros(0, np.uint32))
    if not buf:
        raise CodecError("rans payload is empty but the tensor is not")
    p = buf[0]
    if not 1 <= p <= MAX_PRECISION:
        raise CodecError(f"rans precision {p} is outside 1..{MAX_PRECISION}")
    k, pos = read_varint(buf, 1, "rans lane count", MAX_LANES_READ)
    if not 1 <= k <= n:
        raise CodecError(f"rans lane count {k} is outside 1..{n} (the symbol count)")
    table, pos = decode_table(buf, pos, p, 1 << (8 * width))
    groups = -(-k // LANE_GROUP)
    counts = np.zeros(groups, dtype=np.int64)
    for g in range(groups - 1):
        counts[g], pos = read_varint(buf, pos, "rans group word count", len(buf))
    if pos + 4 * k > len(buf):
        raise CodecError(f"rans payload too short for {k} lane states")
    word_bytes = len(buf) - pos - 4 * k
    if word_bytes % 2:
        raise CodecError("rans word stream has an odd number of bytes")
    last = word_bytes // 2 - int(counts.sum())
    if last < 0:
        raise CodecError(f"rans group word counts add up to more than the {word_bytes // 2} words present")
    counts[-1] = last
    states = np.frombuffer(buf, dtype="<u4", count=k, offset=pos).astype(np.uint32)
    if (states < STATE_LOW).any():
        raise CodecError(f"rans lane state below {STATE_LOW}; the payload is corrupt")
    words = np.frombuffer(buf, dtype="<u2", offset=pos + 4 * k).astype(np.uint32)
    if table.symbols.size == 1 and (words.size or (states != STATE_LOW).any()):
        # f = 2^P: decoding never changes a state nor reads a word, so the lanes are checked directly
        raise CodecError("rans single-symbol stream must have initial states and no words")
    return RansStream(n, width, table, states, counts, words)
