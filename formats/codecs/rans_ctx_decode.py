"""Codec 8 reader (spec/CODECS.md 6.2-6.5, 6.7): parse, step the lanes of many payloads, rebuild.

Every payload is parsed and validated first (:mod:`formats.codecs.rans_ctx_format`; plain payloads by
codec 6's parser), then the lanes of all of them step together (:func:`formats.codecs.rans_ctx_lanes
.run_lanes`): phase A decodes the counts, from which each payload's phase-B tables follow, and the
streams are rebuilt from their tokens (:func:`formats.codecs.rans_ctx_groups.join_groups`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from formats.codecs.rans_ctx_format import MODE_CONTEXT, MODE_PLAIN, CtxHeader, parse_ctx, stream_size
from formats.codecs.rans_ctx_groups import binomials, join_groups, pattern_table
from formats.codecs.rans_ctx_lanes import LaneState, TableBank, check_lanes, run_lanes, slot_arrays
from formats.codecs.rans_format import RansStream, parse_stream, symbol_dtype
from formats.codecs.rans_table import MAX_PRECISION
from formats.errors import CodecError


def rans_ctx_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode one codec-8 payload to exactly ``out_size`` bytes, or raise CodecError.

    Example:
        >>> rans_ctx_decode(bytes.fromhex("000101016101000000030004"), 3, 1)
        b'aab'
    """
    return _decode([(payload, out_size, itemsize)], [None])[0]


def decode_many(requests: Sequence[tuple[bytes, int, int]], labels: Sequence[str] | None = None) -> list[bytes]:
    """Decode many codec-8 payloads with the lanes of all of them stepping together (plain ones too).

    Every payload is parsed and validated first; then the lanes of all payloads run in one loop
    (:func:`formats.codecs.rans_ctx_lanes.run_lanes`), and the streams are rebuilt.

    Args:
        requests: one ``(payload, out_size, itemsize)`` per tensor.
        labels: names for error messages (default ``"payload <i>"``).

    Returns:
        The decoded bytes of each request, in order.

    Raises:
        CodecError: a payload is malformed; the message names it.

    Example:
        >>> decode_many([(bytes.fromhex("000101016101000000030004"), 3, 1), (b"", 0, 1)])
        [b'aab', b'']
    """
    names = [f"payload {i}" for i in range(len(requests))] if labels is None else list(labels)
    if len(names) != len(requests):
        raise ValueError(f"decode_many needs one label per request, got {len(requests)} and {len(names)}")
    return _decode(requests, names)


def _decode(requests: Sequence[tuple[bytes, int, int]], names: Sequence[str | None]) -> list[bytes]:
    """:func:`decode_many`; error messages start with the request's name unless it is None."""
    out: list[bytes] = [b""] * len(requests)
    coded: list[tuple[int, CtxHeader | RansStream]] = []
    for i, (payload, out_size, itemsize) in enumerate(requests):
        try:
            parsed = _parse(bytes(payload), out_size, itemsize)
        except CodecError as err:
            raise _named(err, names[i]) from err
        if isinstance(parsed, bytes):
            out[i] = parsed
        else:
            coded.append((i, parsed))
    if coded:
        decoded = _decode_lanes([p for _, p in coded], [names[i] for i, _ in coded])
        for (i, _), data in zip(coded, decoded, strict=True):
            out[i] = data
    return out


def _parse(buf: bytes, out_size: int, itemsize: int) -> bytes | CtxHeader | RansStream:
    """A validated payload, or its decoded bytes when no lane needs stepping (empty or constant)."""
    n, width = stream_size(out_size, itemsize)
    if n == 0:
        if buf:
            raise CodecError(f"rans-ctx payload for an empty tensor must be empty, got {len(buf)} bytes")
        return b""
    if not buf:
        raise CodecError("rans-ctx payload is empty but the tensor is not")
    if buf[0] == MODE_CONTEXT:
        return parse_ctx(buf, n, width)
    if buf[0] != MODE_PLAIN:
        raise CodecError(f"rans-ctx mode {buf[0]} is unknown (0 = plain, 1 = context)")
    try:
        stream = parse_stream(buf[1:], out_size, itemsize)
    except CodecError as err:
        raise CodecError(f"plain rans-ctx: {err}") from err
    if stream.table.symbols.size == 1:  # parse_stream checked the lanes: states 1, no words
        return np.full(n, stream.table.symbols[0], dtype=symbol_dtype(width)).tobytes()
    return stream


def _named(err: CodecError, name: str | None) -> CodecError:
    return err if name is None else CodecError(f"{name}: {err}")


def _decode_lanes(items: list[CtxHeader | RansStream], names: list[str | None]) -> list[bytes]:
    """The lanes of every payload in one loop (plain ones have no phase B); then the streams are rebuilt."""
    lanes = LaneState.join([h.states for h in items], [h.lane_words for h in items], [h.words for h in items])
    bank = TableBank()
    first: list[np.ndarray] = []
    ids = np.zeros((len(items), 4), dtype=np.int64)  # count, magnitude, first-sign and flip table ids
    by_count: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # per payload: pattern table id by count, full / last
    for j, h in enumerate(items):
        if isinstance(h, RansStream):
            first.append(np.full(h.n, bank.add(h.table)))
            continue
        ids[j] = bank.add(h.counts), bank.add(h.magnitudes), bank.add(h.first), bank.add(h.flip)
        last = h.n - (h.groups - 1) * h.g
        by_count[j] = (_pattern_ids(bank, h, h.g), _pattern_ids(bank, h, last))
        first.append(np.full(h.groups, ids[j, 0]))
    bank.freeze()
    npat = np.zeros(len(items), dtype=np.int64)

    def phase_b(js: list[int], decoded: list[np.ndarray]) -> list[np.ndarray]:
        """Phase-B table ids of payloads whose phase A has ended, from their counts (CODECS.md 6.4)."""
        out = []
        for j, counts in zip(js, decoded, strict=True):
            h = items[j]
            if isinstance(h, RansStream):
                out.append(np.zeros(0, np.int32))
                continue
            full, last = by_count[j]
            if counts[-1] >= last.size:  # counts come from the count table (at most g): only the last group
                raise _named(CodecError(
                    f"rans-ctx group {counts.size - 1} has count {int(counts[-1])}, "
                    f"more than its {last.size - 1} symbols"), names[j])
            tids = full[counts]
            tids[-1] = last[counts[-1]]
            pattern = tids[tids > 0]  # 0 (the identity) for empty and full groups
            p = npat[j] = pattern.size
            ends = np.cumsum(counts)
            z = int(ends[-1])
            _, mag, one, flip = ids[j].tolist()
            # patterns, then a magnitude and a sign token per non-zero (first-sign for a group's first non-zero)
            tail = np.empty(p + 2 * z, np.int32)
            tail[:p] = pattern
            tail[p : p + z] = mag
            signs = tail[p + z :]
            signs.fill(flip)
            signs[(ends - counts)[counts > 0]] = one
            out.append(tail)
        return out

    decoded = run_lanes(lanes, first, bank, phase_b)
    check_lanes(lanes, names)
    out: list[bytes] = [b""] * len(items)
    ctx = []
    for j, h in enumerate(items):
        if isinstance(h, RansStream):
            out[j] = decoded[j][0].astype(symbol_dtype(h.width)).tobytes()
        else:
            ctx.append(j)
    for j in ctx:
        h = items[j]
        counts, tail = decoded[j]
        p, z = int(npat[j]), int(counts.sum())
        try:
            symbols = join_groups(h.n, h.g, h.m, h.width, counts, tail[:p], tail[p : p + z], tail[p + z :])
        except CodecError as err:
            raise _named(err, names[j]) from err
        out[j] = symbols.tobytes()
    return out


def _pattern_ids(bank: TableBank, h: CtxHeader, length: int) -> np.ndarray:
    """For a group of ``length`` symbols, the pattern table id by count ``0 .. length`` (0 where the count is
    0, ``length``, or not in the count table); the tables are added to ``bank``, each once."""
    out = np.zeros(length + 1, dtype=np.int32)
    for c in h.counts.symbols.tolist():
        if 0 < c < length:
            size = int(binomials()[length, c])
            p = min(MAX_PRECISION, (size - 1).bit_length() + h.pattern_slack)
            out[c] = bank.add(pattern_table(size, p), ("pattern", size, p), pattern_slots(size, p))
    return out


@lru_cache(maxsize=256)
def pattern_slots(n: int, precision: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`formats.codecs.rans_ctx_lanes.slot_arrays` of :func:`pattern_table` (cached: the tables repeat)."""
    return slot_arrays(pattern_table(n, precision))


__all__ = ["decode_many", "pattern_slots", "rans_ctx_decode"]
