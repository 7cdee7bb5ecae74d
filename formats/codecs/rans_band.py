"""The step loop of the batched rANS decoder: the lanes of many streams step together in flat arrays.

Every lane of every stream is one entry of 1-D arrays (state, mask, shift, table offset, word pointer
and end). A step decodes two symbols per lane, each with 7 whole-array numpy calls: the slot
(``x & mask``, plus the stream's table offset when several streams are active), two gathers (``f``
and ``slot - c``) and ``x = f * (x >> P) + (slot - c)``; then renormalises with 8: ``x < L``,
``ptr < end`` (a lane whose words are all read may still be below ``L`` while it decodes its
first-encoded symbols), their conjunction, one gather of each lane's next word, shift-or, masked copy,
pointer advance. So the streams of a file decode in ``max S_i`` steps instead of ``sum S_i``.

The streams are laid out longest first, so the lanes still at work always form a prefix of the arrays.
A lane that has decoded all its symbols keeps its state for the end check and steps on harmlessly
(valid table entries, no reads); once every lane of the shorter streams is done, the loop goes on over
the shorter prefix (views, nothing copied) when the lane-steps saved outweigh rebuilding its per-step
views, and without the table-offset additions once one stream is left.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from formats.codecs.rans_format import BLOCK, STATE_LOW, STATE_START, WORD_BITS, RansStream, symbol_dtype
from formats.errors import CodecError

CHUNK_BYTES = 1 << 20  # slot numbers are buffered for up to this many bytes of steps, then turned into symbols
MIN_CHUNK_STEPS = 16
# measured costs (2-core x86 CPU, numpy 2.4) that decide when the loop moves to a shorter prefix:
LANE_STEP_NS = 11  # one lane for one step (all 22 calls); 50 lanes step in 6.8 us, 800 in 15.4 us
OFFSET_ADD_NS = 560  # the two table-offset additions of a step
SHRINK_NS = 10_000  # rebinding the arrays to a prefix (a few us, with margin), plus SHRINK_VIEW_NS per
SHRINK_VIEW_NS = 350  # buffered step (two slot views: 67 us for 198 steps at 330 lanes)


@dataclass(frozen=True)
class _Shrink:
    """From step ``step`` on, only the first ``lanes`` lanes (streams ``0 .. streams - 1``) step."""

    step: int
    lanes: int
    streams: int


def run_band(streams: list[RansStream], names: list[str] | None) -> list[np.ndarray]:
    """Decode the symbols of each stream together (states in uint64; slot arithmetic on an int64 view).

    Args:
        streams: parsed streams with at least two table symbols each, in order of decreasing
            :attr:`RansStream.steps`.
        names: one name per stream for error messages, or None.

    Returns:
        The symbols of each stream (uint8, or little-endian uint16 for two-byte symbols).

    Raises:
        CodecError: a lane does not read exactly its words or does not end in state 1.

    Example:
        >>> from formats.codecs.rans_format import parse_stream
        >>> run_band([parse_stream(bytes.fromhex("0101016101000000030004"), 3, 1)], None)[0].tobytes()
        b'aab'
    """
    if any(a.steps < b.steps for a, b in zip(streams, streams[1:], strict=False)):
        raise ValueError("run_band needs its streams in order of decreasing steps")
    if not streams:
        return []
    k_of = np.array([s.lanes for s in streams], dtype=np.int64)
    n_of = np.array([s.n for s in streams], dtype=np.int64)
    prec = np.array([s.table.precision for s in streams], dtype=np.int64)
    lane0 = np.concatenate(([0], np.cumsum(k_of))).astype(np.int64)
    nlanes = int(lane0[-1])
    stream_of = np.repeat(np.arange(len(streams)), k_of)
    local = np.arange(nlanes) - lane0[stream_of]
    ftab, otab, stab = _slot_tables(streams)  # stream j owns entries [offs[j], offs[j] + 2^P_j); offs[0] = 0
    offs = np.concatenate(([0], np.cumsum(np.int64(1) << prec)))
    x_all = np.concatenate([s.states for s in streams]).astype(np.uint64)
    # lane l of a stream decodes n // K symbols, one more when l < n mod K. A lane with an odd count
    # holds its state through the second half of its last step (its last block has one symbol) but
    # still renormalises after it, as every block does; every lane retires at the step after its last.
    lane_len = (n_of // k_of)[stream_of] + (local < (n_of % k_of)[stream_of])
    finish = _lanes_by(BLOCK * (-(-lane_len // BLOCK)), np.arange(nlanes))
    odd = lane_len % BLOCK == 1
    hold = _lanes_by(lane_len[odd], np.flatnonzero(odd))
    counts = np.concatenate([s.lane_words for s in streams])
    ptr_all = _lane_starts(counts)
    end_all = ptr_all + counts
    words = np.concatenate([s.words for s in streams] + [np.zeros(1, np.uint64)])
    steps = streams[0].steps
    decoded = [np.empty(s.n, dtype=symbol_dtype(s.width)) for s in streams]
    final_x = np.empty(nlanes, dtype=np.uint64)
    final_ptr = np.empty(nlanes, dtype=np.int64)
    chunk_steps = min(steps, max(MIN_CHUNK_STEPS, CHUNK_BYTES // (8 * BLOCK * nlanes)))
    chunk = np.zeros((chunk_steps, BLOCK, nlanes), dtype=np.int64)  # slot numbers
    per_lane = (
        x_all,
        ((np.int64(1) << prec) - 1)[stream_of],  # mask
        prec.astype(np.uint64)[stream_of],  # shift
        offs[stream_of],  # table offset
        ptr_all,
        end_all,
        np.full(nlanes, STATE_LOW, dtype=np.uint64),  # L
        np.empty(nlanes, dtype=np.uint64),  # refill
        np.full(nlanes, WORD_BITS, dtype=np.uint64),
        np.zeros(nlanes, dtype=np.int64),  # need: 0/1 flags, written through _bool_view
        np.zeros(nlanes, dtype=np.int64),  # has
    )
    band, add, rsh, mul = np.bitwise_and, np.add, np.right_shift, np.multiply
    less, lsh, bor, copyto = np.less, np.left_shift, np.bitwise_or, np.copyto

    def retire(when: int) -> int:
        """Lanes that decoded all their symbols: keep their state for the end check, stop their reads.

        Returns the next half-step with an event."""
        lanes = finish.pop(when, None)
        if lanes is not None:
            final_x[lanes] = x_all[lanes]
            final_ptr[lanes] = ptr_all[lanes]
            end_all[lanes] = ptr_all[lanes]
        return min(finish, default=-1)

    def prefix(m: int) -> tuple:
        """The per-lane arrays cut to the first ``m`` lanes, bool views of the flags, per-step slot views."""
        x, mask, shift, base, ptr, end, lowval, refill, wshift, need_i, has_i = (a[:m] for a in per_lane)
        views = [(chunk[i, 0, :m], chunk[i, 1, :m]) for i in range(chunk_steps)]
        return (x, x.view(np.int64), mask, shift, base, ptr, end, lowval, refill, wshift,
                need_i, _bool_view(need_i), has_i, _bool_view(has_i), views)  # fmt: skip

    shrinks = _shrink_plan(streams, lane0, chunk_steps)
    active = _Shrink(0, nlanes, len(streams))
    x, xi, mask, shift, base, ptr, end, lowval, refill, wshift, need_i, need, has_i, has, views = prefix(nlanes)
    several = len(streams) > 1  # stream 0's table starts at entry 0: no offset to add
    event = min(finish, default=-1)
    for t0 in range(0, steps, chunk_steps):
        t1 = min(steps, t0 + chunk_steps)
        columns = active.lanes  # the lanes that write slot numbers in this chunk
        for t in range(t0, t1):
            if event == BLOCK * t:
                event = retire(event)
            if shrinks and shrinks[0].step == t:
                active = shrinks.pop(0)
                x, xi, mask, shift, base, ptr, end, lowval, refill, wshift, need_i, need, has_i, has, views = prefix(
                    active.lanes
                )
                several = active.streams > 1
            sl0, sl1 = views[t - t0]
            # the block's two symbols take the same calls, written out twice: the loop is the decoder's
            # whole cost and a helper call per symbol would add to every step
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
        _copy_out(chunk[: t1 - t0, :, :columns], t0, streams, lane0, stab, decoded)
    while event >= 0:
        event = retire(event)
    _check_end(names, final_x, final_ptr - _lane_starts(counts), counts, stream_of)
    return decoded


def _shrink_plan(streams: list[RansStream], lane0: np.ndarray, chunk_steps: int) -> list[_Shrink]:
    """The steps at which the loop moves to a shorter prefix of lanes: where streams have ended and
    the lane-steps (and table-offset additions) saved until the end outweigh rebuilding the views."""
    steps = streams[0].steps
    plan: list[_Shrink] = []
    lanes, several = int(lane0[-1]), len(streams) > 1
    for a in range(len(streams) - 1, 0, -1):  # streams a.. are done once step streams[a].steps begins
        t = streams[a].steps
        if streams[a - 1].steps == t:
            continue
        saved = (steps - t) * ((lanes - int(lane0[a])) * LANE_STEP_NS + (OFFSET_ADD_NS if several and a == 1 else 0))
        if saved > SHRINK_NS + SHRINK_VIEW_NS * chunk_steps:
            plan.append(_Shrink(t, int(lane0[a]), a))
            lanes, several = int(lane0[a]), a > 1
    return plan


def _bool_view(flags: np.ndarray) -> np.ndarray:
    """A bool view of the low bytes of int64 0/1 flags: a comparison writes the bool view, and integer
    arithmetic reads the int64 array with no cast (adding a bool array to int64 costs about as much as
    two plain additions)."""
    low = 0 if sys.byteorder == "little" else 7
    return flags.view(np.bool_).reshape(flags.size, 8)[:, low]


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
