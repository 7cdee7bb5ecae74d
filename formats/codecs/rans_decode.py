"""Batched rANS decoding: the lanes of many streams step together in one flat lane array.

Every lane of every stream is one entry of 1-D arrays (state, mask, shift, table offset, word pointer
and end). A step decodes two symbols per lane, each with 7 whole-array numpy calls: the slot
(``x & mask``, plus the stream's table offset when the band holds several streams), two gathers
(``f`` and ``slot - c``) and ``x = f * (x >> P) + (slot - c)``; then renormalises with 8: ``x < L``,
``ptr < end`` (a lane whose words are all read may still be below ``L`` while it decodes its
first-encoded symbols), their conjunction, one gather of each lane's next word, shift-or, masked copy,
pointer advance. A lane that has decoded all its symbols keeps its state for the end check and steps on
harmlessly (valid table entries, no reads) until the band ends. So a file whose streams need ``S_i``
steps decodes in ``max S_i`` steps instead of ``sum S_i``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np

from formats.codecs.rans_format import BLOCK, STATE_LOW, STATE_START, WORD_BITS, RansStream, parse_stream, parse_streams
from formats.errors import CodecError

# the fixed cost of one step of the loop, in lanes of per-lane work: measured on ResNet-20's streams, a step
# costs about 6 us of numpy calls plus 27 ns per lane (13.2 us/step at 268 lanes, 20.3 at 528)
STEP_COST_LANES = 224
CHUNK_BYTES = 1 << 20  # slot numbers are buffered for up to this many bytes of steps, then turned into symbols
MIN_CHUNK_STEPS = 16


def rans_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode one rANS payload to exactly ``out_size`` bytes, or raise CodecError.

    Args:
        payload: bytes produced by :func:`formats.codecs.rans.rans_encode`.
        out_size: decoded length in bytes (a multiple of the symbol width).
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The decoded stream.

    Example:
        >>> rans_decode(bytes.fromhex("0101016101000000030004"), 3, 1)
        b'aab'
    """
    stream = parse_stream(payload, out_size, itemsize)
    return _decode_streams([stream], None)[0]


def decode_many(payloads: Sequence[bytes], out_sizes: Sequence[int], itemsizes: Sequence[int]) -> list[bytes]:
    """Decode several rANS payloads at once; same bytes out as :func:`rans_decode` on each, but faster.

    All streams are parsed and validated first, then their lanes run in one vectorised step loop
    (a stream far shorter than the longest, whose idle lanes would cost more than a loop of its own,
    runs in a later band).

    Args:
        payloads: one rANS payload per tensor.
        out_sizes: decoded length in bytes of each.
        itemsizes: element size of each.

    Returns:
        The decoded bytes of each stream, in order.

    Raises:
        CodecError: a payload is malformed; the message starts with ``rans stream <index>:``.

    Example:
        >>> decode_many([bytes.fromhex("0101016101000000030004"), b""], [3, 0], [1, 1])
        [b'aab', b'']
    """
    if not len(payloads) == len(out_sizes) == len(itemsizes):
        raise ValueError(
            f"decode_many needs one out_size and itemsize per payload, got {len(payloads)} payloads, "
            f"{len(out_sizes)} out_sizes and {len(itemsizes)} itemsizes"
        )
    labels = [f"stream {i}" for i in range(len(payloads))]
    streams = parse_streams(list(zip(payloads, out_sizes, itemsizes, strict=True)), labels)
    return _decode_streams(streams, labels)


def decode_labelled(requests: Sequence[tuple[bytes, int, int]], labels: Sequence[str]) -> list[bytes]:
    """:func:`decode_many` over ``(payload, out_size, itemsize)`` requests, errors named by ``labels``.

    Args:
        requests: one ``(payload, out_size, itemsize)`` per stream.
        labels: one name per stream; a CodecError message starts ``rans <label>:``.

    Returns:
        The decoded bytes of each stream, in order.

    Example:
        >>> decode_labelled([(bytes.fromhex("0101016101000000030004"), 3, 1)], ["x"])
        [b'aab']
    """
    if len(requests) != len(labels):
        raise ValueError(f"decode_labelled needs one label per request, got {len(requests)} and {len(labels)}")
    return _decode_streams(parse_streams(requests, labels), list(labels))


def decode_parsed(streams: Sequence[RansStream], labels: Sequence[str]) -> list[bytes]:
    """Decode already parsed streams together (see :func:`decode_many`); errors start ``rans <label>:``.

    Args:
        streams: from :func:`formats.codecs.rans_format.parse_stream`.
        labels: one name per stream, used in error messages.

    Returns:
        The decoded bytes of each stream, in order.

    Example:
        >>> decode_parsed([parse_stream(bytes.fromhex("0101016101000000030004"), 3, 1)], ["x"])
        [b'aab']
    """
    if len(streams) != len(labels):
        raise ValueError(f"decode_parsed needs one label per stream, got {len(streams)} and {len(labels)}")
    return _decode_streams(list(streams), list(labels))


def _decode_streams(streams: list[RansStream], labels: list[str] | None) -> list[bytes]:
    out: list[bytes | None] = [None] * len(streams)
    coded = []
    for i, s in enumerate(streams):
        if s.n == 0:
            out[i] = b""
        elif s.table.symbols.size == 1:
            out[i] = np.full(s.n, s.table.symbols[0], dtype=_dtype(s)).tobytes()
        else:
            coded.append(i)
    coded.sort(key=lambda i: -streams[i].steps)
    while coded:
        top = streams[coded[0]].steps
        band = [i for i in coded if _joins(streams[i], top)]
        taken = set(band)
        coded = [i for i in coded if i not in taken]
        decoded = _run_band([streams[i] for i in band], None if labels is None else [labels[i] for i in band])
        for i, symbols in zip(band, decoded, strict=True):
            out[i] = symbols.tobytes()
    return [b for b in out if b is not None]


def _joins(s: RansStream, top: int) -> bool:
    """Whether a stream rides in a band of ``top`` steps: its idle lane-steps must cost less than the
    fixed per-step cost of the steps it would need on its own (a step costs about as much as
    ``STEP_COST_LANES`` lanes of work)."""
    idle = (top - s.steps) * s.lanes
    return idle <= STEP_COST_LANES * s.steps


def _dtype(s: RansStream) -> np.dtype:
    return np.dtype("<u2") if s.width == 2 else np.dtype(np.uint8)


def _run_band(streams: list[RansStream], names: list[str] | None) -> list[np.ndarray]:
    """Decode the symbols of each stream (states in uint64; slot arithmetic on an int64 view)."""
    k_of = np.array([s.lanes for s in streams], dtype=np.int64)
    n_of = np.array([s.n for s in streams], dtype=np.int64)
    prec = np.array([s.table.precision for s in streams], dtype=np.int64)
    lane0 = np.concatenate(([0], np.cumsum(k_of))).astype(np.int64)
    nlanes = int(lane0[-1])
    stream_of = np.repeat(np.arange(len(streams)), k_of)
    local = np.arange(nlanes) - lane0[stream_of]
    ftab, otab, stab = _slot_tables(streams)  # stream j owns entries [offs[j], offs[j] + 2^P_j)
    offs = np.concatenate(([0], np.cumsum(np.int64(1) << prec)))
    x = np.concatenate([s.states for s in streams]).astype(np.uint64)
    mask = ((np.int64(1) << prec) - 1)[stream_of]
    shift = prec.astype(np.uint64)[stream_of]
    base = offs[stream_of]
    # lane l of a stream decodes n // K symbols, one more when l < n mod K. A lane with an odd count
    # holds its state through the second half of its last step (its last block has one symbol) but
    # still renormalises after it, as every block does; every lane retires at the step after its last.
    lane_len = (n_of // k_of)[stream_of] + (local < (n_of % k_of)[stream_of])
    finish = _lanes_by(BLOCK * (-(-lane_len // BLOCK)), np.arange(nlanes))
    odd = lane_len % BLOCK == 1
    hold = _lanes_by(lane_len[odd], np.flatnonzero(odd))
    counts = np.concatenate([s.lane_words for s in streams])
    ptr = _lane_starts(counts)
    end = ptr + counts
    words = np.concatenate([s.words for s in streams] + [np.zeros(1, np.uint64)])
    steps = max(s.steps for s in streams)
    decoded = [np.empty(s.n, dtype=_dtype(s)) for s in streams]
    final_x = np.empty(nlanes, dtype=np.uint64)
    final_ptr = np.empty(nlanes, dtype=np.int64)
    chunk_steps = min(steps, max(MIN_CHUNK_STEPS, CHUNK_BYTES // (8 * BLOCK * nlanes)))
    chunk = np.empty((chunk_steps, BLOCK, nlanes), dtype=np.int64)  # slot numbers
    views = [(chunk[i, 0], chunk[i, 1]) for i in range(chunk.shape[0])]
    need_i, need = _flags(nlanes)  # 0/1 in int64 (advances ptr without a bool cast) and a bool view of it
    has_i, has = _flags(nlanes)
    lowval = np.full(nlanes, STATE_LOW, dtype=np.uint64)
    refill = np.empty(nlanes, dtype=np.uint64)
    wshift = np.full(nlanes, WORD_BITS, dtype=np.uint64)
    xi = x.view(np.int64)
    band, add, rsh, mul = np.bitwise_and, np.add, np.right_shift, np.multiply
    less, lsh, bor, copyto = np.less, np.left_shift, np.bitwise_or, np.copyto
    several = len(streams) > 1  # one stream's table starts at entry 0: no offset to add

    def retire(when: int) -> int:
        """Lanes that decoded all their symbols: keep their state for the end check, stop their reads.

        They go on stepping on garbage (valid table entries, no reads) that nothing copies out.
        Returns the next half-step with an event."""
        lanes = finish.pop(when, None)
        if lanes is not None:
            final_x[lanes] = x[lanes]
            final_ptr[lanes] = ptr[lanes]
            end[lanes] = ptr[lanes]
        return min(finish, default=-1)

    event = min(finish, default=-1)
    for t0 in range(0, steps, chunk.shape[0]):
        t1 = min(steps, t0 + chunk.shape[0])
        for t in range(t0, t1):
            sl0, sl1 = views[t - t0]
            if event == BLOCK * t:
                event = retire(event)
            band(xi, mask, sl0)
            if several:
                add(sl0, base, sl0)
            f = ftab[sl0]
            o = otab[sl0]
            rsh(x, shift, x)
            mul(x, f, x)
            add(x, o, x)
            held = hold.pop(BLOCK * t + 1, None)
            if held is not None:
                kept = x[held]
            band(xi, mask, sl1)
            if several:
                add(sl1, base, sl1)
            f = ftab[sl1]
            o = otab[sl1]
            rsh(x, shift, x)
            mul(x, f, x)
            add(x, o, x)
            if held is not None:
                x[held] = kept
            less(x, lowval, need)
            less(ptr, end, has)
            band(need_i, has_i, need_i)
            word = words[ptr]
            lsh(x, wshift, refill)
            bor(refill, word, refill)
            copyto(x, refill, where=need)
            add(ptr, need_i, ptr)
        _copy_out(chunk[: t1 - t0], t0, streams, lane0, stab, decoded)
    while event >= 0:
        event = retire(event)
    _check_end(names, final_x, final_ptr - _lane_starts(counts), counts, stream_of)
    return decoded


def _flags(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` int64 flags and a bool view of their low bytes: a comparison writes the bool view, and
    integer arithmetic reads the int64 array with no cast (adding a bool array to int64 costs about as
    much as two plain additions)."""
    flags = np.zeros(n, dtype=np.int64)
    low = 0 if sys.byteorder == "little" else 7
    return flags, flags.view(np.bool_).reshape(n, 8)[:, low]


def _lanes_by(when: np.ndarray, lanes: np.ndarray) -> dict[int, np.ndarray]:
    """Group ``lanes`` by their half-step ``when``: ``{half-step: lanes}``."""
    if not when.size:
        return {}
    order = np.argsort(when, kind="stable")
    values, first = np.unique(when[order], return_index=True)
    return dict(zip(values.tolist(), np.split(lanes[order], first[1:]), strict=True))


def _lane_starts(counts: np.ndarray) -> np.ndarray:
    """Where each lane's words begin in the concatenated word array."""
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def _slot_tables(streams: list[RansStream]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``f``, ``slot - c`` and the symbol of every slot of every stream, the streams one after another.

    Entries sorted by (stream, decreasing frequency, symbol) take consecutive slots; since each
    stream's frequencies add up to its table size, one running sum gives every entry's first slot.
    """
    freqs = np.concatenate([s.table.freqs for s in streams]).astype(np.int64)
    symbols = np.concatenate([s.table.symbols for s in streams])
    stream = np.repeat(np.arange(len(streams)), [s.table.freqs.size for s in streams])
    order = np.lexsort((np.arange(freqs.size), -freqs, stream))
    ranked = freqs[order]
    first = np.empty(freqs.size, dtype=np.int64)
    first[order] = np.cumsum(ranked) - ranked
    owner = np.repeat(order, ranked)  # slot -> entry
    return (
        freqs[owner].astype(np.uint64),
        (np.arange(owner.size) - first[owner]).astype(np.uint64),
        symbols[owner].astype(np.uint16 if max(s.width for s in streams) == 2 else np.uint8),
    )


def _copy_out(
    chunk: np.ndarray,
    t0: int,
    streams: list[RansStream],
    lane0: np.ndarray,
    stab: np.ndarray,
    decoded: list[np.ndarray],
) -> None:
    """Turn a chunk of slot numbers (steps, 2, lanes) into the symbols of each stream, in stream order.

    One gather over the whole chunk, then each stream's lanes are copied out as symbols (one or two
    bytes each instead of the eight of a slot number)."""
    symbols = stab.take(chunk)
    for j, s in enumerate(streams):
        start = t0 * BLOCK * s.lanes
        if start >= s.n:
            continue
        block = symbols[:, :, lane0[j] : lane0[j + 1]].reshape(-1)
        end = min(s.n, start + block.size)
        decoded[j][start:end] = block[: end - start]


def _check_end(
    names: list[str] | None, x: np.ndarray, used: np.ndarray, counts: np.ndarray, stream_of: np.ndarray
) -> None:
    """Every lane must have read all its words and returned to state 1; name the first stream that did not."""
    bad = (used != counts) | (x != STATE_START)
    if not bad.any():
        return
    j = int(stream_of[int(np.flatnonzero(bad)[0])])
    lanes = stream_of == j
    where = "" if names is None else f"{names[j]}: "
    if (used[lanes] != counts[lanes]).any():
        unread = int((counts[lanes] - used[lanes]).sum())
        raise CodecError(f"rans {where}payload has {4 * unread} bytes of unread words")
    raise CodecError(f"rans {where}lanes do not return to the initial state; the payload is corrupt")
