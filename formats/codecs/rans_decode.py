"""Batched rANS decoding: the lanes of many streams step together in one ``(rows, 8)`` array.

Every lane group (8 lanes with one word stream, spec/CODECS.md 4.4) of every stream is one row. A step
is 14 whole-array numpy calls whatever the number of streams: the slot (``x & mask``), one gather of a
packed ``f | (slot - c) << 32`` table concatenated over the streams, ``x = f * (x >> P) + (slot - c)``,
then the refill: ``x < L``, a row-wise cumulative sum ranks the reading lanes of each group, one gather
of the words, and a masked copy. Lanes that are finished, and the padding lanes of a last group, point
at an identity entry (``f = 1``, ``P = 0``, state ``L``) and never read. So a file whose streams need
``S_i`` steps decodes in ``max S_i`` steps instead of ``sum S_i``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formats.codecs.rans_format import LANE_GROUP, STATE_LOW, WORD_BITS, RansStream, parse_stream
from formats.errors import CodecError

STEP_COST_LANES = 256  # the fixed cost of one step of the loop, in lanes of per-lane work (measured)
CHUNK_STEPS = 256  # slot numbers are buffered for this many steps, then turned into symbols


def rans_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode one rANS payload to exactly ``out_size`` bytes, or raise CodecError.

    Args:
        payload: bytes produced by :func:`formats.codecs.rans.rans_encode`.
        out_size: decoded length in bytes (a multiple of the symbol width).
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The decoded stream.

    Example:
        >>> rans_decode(bytes.fromhex("01010161010004000800"), 3, 1)
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
        >>> decode_many([bytes.fromhex("01010161010004000800"), b""], [3, 0], [1, 1])
        [b'aab', b'']
    """
    if not len(payloads) == len(out_sizes) == len(itemsizes):
        raise ValueError(
            f"decode_many needs one out_size and itemsize per payload, got {len(payloads)} payloads, "
            f"{len(out_sizes)} out_sizes and {len(itemsizes)} itemsizes"
        )
    streams = []
    for i, (payload, size, itemsize) in enumerate(zip(payloads, out_sizes, itemsizes, strict=True)):
        try:
            streams.append(parse_stream(payload, size, itemsize))
        except CodecError as err:
            raise CodecError(f"rans stream {i}: {err}") from err
    return _decode_streams(streams, [f"stream {i}" for i in range(len(streams))])


def decode_labelled(requests: Sequence[tuple[bytes, int, int]], labels: Sequence[str]) -> list[bytes]:
    """:func:`decode_many` over ``(payload, out_size, itemsize)`` requests, errors named by ``labels``.

    Args:
        requests: one ``(payload, out_size, itemsize)`` per stream.
        labels: one name per stream; a CodecError message starts ``rans <label>:``.

    Returns:
        The decoded bytes of each stream, in order.

    Example:
        >>> decode_labelled([(bytes.fromhex("01010161010004000800"), 3, 1)], ["x"])
        [b'aab']
    """
    if len(requests) != len(labels):
        raise ValueError(f"decode_labelled needs one label per request, got {len(requests)} and {len(labels)}")
    streams = []
    for (payload, size, itemsize), label in zip(requests, labels, strict=True):
        try:
            streams.append(parse_stream(payload, size, itemsize))
        except CodecError as err:
            raise CodecError(f"rans {label}: {err}") from err
    return _decode_streams(streams, list(labels))


def decode_parsed(streams: Sequence[RansStream], labels: Sequence[str]) -> list[bytes]:
    """Decode already parsed streams together (see :func:`decode_many`); errors start ``rans <label>:``.

    Args:
        streams: from :func:`formats.codecs.rans_format.parse_stream`.
        labels: one name per stream, used in error messages.

    Returns:
        The decoded bytes of each stream, in order.

    Example:
        >>> decode_parsed([parse_stream(bytes.fromhex("01010161010004000800"), 3, 1)], ["x"])
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
    idle = (top - s.steps) * LANE_GROUP * -(-s.lanes // LANE_GROUP)
    return idle <= STEP_COST_LANES * s.steps


def _dtype(s: RansStream) -> np.dtype:
    return np.dtype("<u2") if s.width == 2 else np.dtype(np.uint8)


def _run_band(streams: list[RansStream], names: list[str] | None) -> list[np.ndarray]:
    """Decode the symbols of each stream; all arithmetic in int64 (states stay below 2^32)."""
    g = LANE_GROUP
    rows_of = [-(-s.lanes // g) for s in streams]
    row0 = np.concatenate(([0], np.cumsum(rows_of)))
    nrows = int(row0[-1])
    # tables: entry 0 is the identity (f = 1, slot - c = 0); stream j owns [off_j, off_j + 2^P_j)
    freqs = np.concatenate([s.table.freqs for s in streams])
    owner = np.repeat(np.arange(freqs.size), freqs)
    cum = np.cumsum(freqs) - freqs
    ftab = np.concatenate(([1], freqs[owner])).astype(np.uint32)
    otab = np.concatenate(([0], np.arange(owner.size) - cum[owner])).astype(np.uint32)
    stab = np.concatenate(([0], np.concatenate([s.table.symbols for s in streams])[owner]))
    offs = np.concatenate(([1], 1 + np.cumsum([1 << s.table.precision for s in streams])))
    # per-lane parameters as (8, rows) arrays: lane i of group r sits at [i, r], so the rank of the
    # reading lanes within a group is a cumulative sum down axis 0 (vectorised across the groups)
    shape = (g, nrows)
    x = np.full(shape, STATE_LOW, dtype=np.uint32)
    mask = np.zeros(shape, dtype=np.uint32)
    shift = np.zeros(shape, dtype=np.uint32)
    base = np.zeros(shape, dtype=np.uint32)
    finish: dict[int, list[np.ndarray]] = {}
    for j, s in enumerate(streams):
        lane = np.arange(s.lanes)
        at = (lane % g, int(row0[j]) + lane // g)
        x[at] = s.states
        mask[at] = (1 << s.table.precision) - 1
        shift[at] = s.table.precision
        base[at] = offs[j]
        flat = at[0] * nrows + at[1]
        full, rem = divmod(s.n, s.lanes)
        finish.setdefault(full, []).append(flat[rem:])  # these lanes decode `full` symbols
        if rem:
            finish.setdefault(full + 1, []).append(flat[:rem])
    mf, sf, bf = mask.reshape(-1), shift.reshape(-1), base.reshape(-1)
    words = np.concatenate([s.words for s in streams] + [np.zeros(1, np.uint32)])
    counts = np.concatenate([s.group_words for s in streams])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    wpos = (starts - 1).reshape(1, nrows).astype(np.int64)  # index of the last word read, per group
    steps = max(s.steps for s in streams)
    decoded = [np.empty(s.n, dtype=_dtype(s)) for s in streams]
    chunk = np.empty((min(steps, CHUNK_STEPS), *shape), dtype=np.uint32)  # global slot numbers
    f = np.empty(shape, dtype=np.uint32)
    o = np.empty(shape, dtype=np.uint32)
    need = np.empty(shape, dtype=bool)
    rank = np.empty(shape, dtype=np.int64)
    idx = np.empty(shape, dtype=np.int64)
    word = np.empty(shape, dtype=np.uint32)
    refill = np.empty(shape, dtype=np.uint32)
    band, add, rsh, lsh, mul = np.bitwise_and, np.add, np.right_shift, np.left_shift, np.multiply
    bor, less, copyto, accumulate = np.bitwise_or, np.less, np.copyto, np.add.accumulate
    take_f, take_o, take_word = ftab.take, otab.take, words.take
    low, wshift = np.uint32(STATE_LOW), np.uint32(WORD_BITS)
    last_read = rank[g - 1 :]
    for t0 in range(0, steps, chunk.shape[0]):
        t1 = min(steps, t0 + chunk.shape[0])
        for t in range(t0, t1):
            done = finish.get(t)
            if done is not None:
                lanes = np.concatenate(done)
                mf[lanes] = 0
                sf[lanes] = 0
                bf[lanes] = 0
            sl = chunk[t - t0]
            band(x, mask, out=sl)
            add(sl, base, out=sl)
            take_f(sl, out=f)
            take_o(sl, out=o)
            rsh(x, shift, out=x)
            mul(x, f, out=x)
            add(x, o, out=x)
            less(x, low, out=need)
            accumulate(need, axis=0, dtype=np.int64, out=rank)
            add(rank, wpos, out=idx)
            take_word(idx, out=word, mode="clip")
            lsh(x, wshift, out=refill)
            bor(refill, word, out=refill)
            copyto(x, refill, where=need)
            add(wpos, last_read, out=wpos)
        _copy_out(chunk[: t1 - t0], t0, streams, row0, stab, decoded)
    _check_end(streams, names, x.T, (wpos - (starts - 1)).reshape(-1), counts, row0)
    return decoded


def _copy_out(
    chunk: np.ndarray,
    t0: int,
    streams: list[RansStream],
    row0: np.ndarray,
    stab: np.ndarray,
    decoded: list[np.ndarray],
) -> None:
    steps = chunk.shape[0]
    for j, s in enumerate(streams):
        start = t0 * s.lanes
        if start >= s.n:
            continue
        block = chunk[:, :, row0[j] : row0[j + 1]].transpose(0, 2, 1).reshape(steps, -1)[:, : s.lanes].reshape(-1)
        end = min(s.n, start + block.size)
        decoded[j][start:end] = stab.take(block[: end - start])


def _check_end(
    streams: list[RansStream],
    names: list[str] | None,
    x: np.ndarray,
    used: np.ndarray,
    counts: np.ndarray,
    row0: np.ndarray,
) -> None:
    for j, _s in enumerate(streams):
        where = "" if names is None else f"{names[j]}: "
        rows = slice(int(row0[j]), int(row0[j + 1]))
        if (used[rows] > counts[rows]).any():
            raise CodecError(f"rans {where}word stream ends early; the payload is truncated or corrupt")
        if (used[rows] < counts[rows]).any():
            unread = int((counts[rows] - used[rows]).sum())
            raise CodecError(f"rans {where}payload has {2 * unread} bytes of unread words")
        if (x[rows] != STATE_LOW).any():
            raise CodecError(f"rans {where}lanes do not return to the initial state; the payload is corrupt")
