"""Payload sizes of the rANS codecs (6, 7, 8) from their writers' tables, without running a lane.

Each writer already estimates its coded bytes from its frequency tables (``sum(count * (P - log2 f)) / 8``,
the order-0 entropy under the quantised table) to pick its lane count; these functions add the bytes around
the coded words: precision, lane count, tables, and the lane fields (a few bytes in all plus about two per
lane: word count, state exponent and mantissa). On the post-training ResNet-56, ResNet-32 and LeNet inputs
the estimates land within a few bytes of the real payloads; they only serve to rank codecs in
:mod:`formats.codecs.auto`.

Example:
    >>> from formats.codecs.rans import plan_stream
    >>> round(rans_estimate(plan_stream(bytes(900) + bytes(range(100)), 1)))
    390
"""

from __future__ import annotations

import numpy as np

from formats.codecs._bits import write_varint
from formats.codecs.rans import StreamPlan, lane_count, plan_stream
from formats.codecs.rans_ctx_writer import CtxDraft
from formats.codecs.rans_format import symbol_dtype, symbol_width
from formats.codecs.rans_zs import SPLIT_MIN_SYMBOLS, ZS_MAX_PRECISION, ZS_RATIO_SYMBOLS, zs_lanes

LANE_FIELD_BYTES = 4.0  # cmin, cbits, emin, ebits and the first lane's fields (measured: 3.3 to 5.0 bytes)
BYTES_PER_LANE = 1.8  # each further lane: its word count, exponent, mantissa and start-up (measured: 1.6 to 2.1)


def plan_estimate(plan: StreamPlan, lanes: int) -> float:
    """Estimated bytes of a codec-6 payload of ``plan`` coded with ``lanes`` lanes.

    Example:
        >>> plan_estimate(plan_stream(b"", 1), 1)
        0.0
    """
    if plan.table is None:
        return 0.0
    if plan.table.symbols.size == 1:
        return float(1 + len(write_varint(1)) + len(plan.table_bytes) + 4)
    k = max(1, min(plan.n, lanes))
    fixed = 1 + len(write_varint(k)) + len(plan.table_bytes)
    return fixed + plan.est_bytes + LANE_FIELD_BYTES + BYTES_PER_LANE * (k - 1)


def rans_estimate(plan: StreamPlan) -> float:
    """Estimated bytes of the codec-6 payload of a stream planned by :func:`formats.codecs.rans.plan_stream`.

    Example:
        >>> rans_estimate(plan_stream(b"", 1))
        0.0
    """
    return plan_estimate(plan, lane_count(plan.n, plan.est_bytes, len(plan.table_bytes)))


def rans_zs_estimate(data: bytes, itemsize: int, plain: StreamPlan | None = None) -> float:
    """Estimated bytes of the codec-7 payload (the smaller mode where the writer codes both).

    ``plain``: ``plan_stream(data, width, 12)`` when the caller has it already.

    Example:
        >>> rans_zs_estimate(b"", 1)
        0.0
    """
    width = symbol_width(itemsize)
    if not data:
        return 0.0
    if len(data) % width:
        return float(len(data) + 1)  # the writer refuses odd 16-bit streams; never the best estimate
    sym = np.frombuffer(data, dtype=symbol_dtype(width))
    counts = np.bincount(sym)
    m = int(counts.argmax())
    constant = int(counts[m]) == sym.size
    best = float("inf")
    if sym.size < ZS_RATIO_SYMBOLS or constant:
        whole = plan_stream(data, width, ZS_MAX_PRECISION) if plain is None else plain
        best = 1 + plan_estimate(whole, zs_lanes([whole], sym.size)[0])
    if sym.size < SPLIT_MIN_SYMBOLS or constant:
        return best
    keep = sym != m
    flags = plan_stream(np.packbits(keep).tobytes(), 1, ZS_MAX_PRECISION)
    rest = plan_stream(sym[keep].astype(sym.dtype).tobytes(), width, ZS_MAX_PRECISION)
    k_flags, k_rest = zs_lanes([flags, rest], sym.size)
    flag_bytes = plan_estimate(flags, k_flags)
    head = 1 + width + len(write_varint(int(keep.sum()))) + len(write_varint(round(flag_bytes)))
    return min(best, head + flag_bytes + plan_estimate(rest, k_rest))


def order0_floor(data: bytes, itemsize: int) -> tuple[float, float]:
    """``(floor, top)``: a floor on the bytes of a codec-6 payload (or a plain-mode one) and the share of the most
    frequent symbol.

    The floor is ``N * H0 / 8`` (no static table codes the stream in fewer bits than its empirical order-0
    entropy) plus half a byte per present symbol (each frequency's 4-bit exponent) and three bytes (precision,
    lane count, run count). Split and context modes can go below it, by exploiting a dominant symbol.

    Example:
        >>> floor, top = order0_floor(bytes(range(256)), 1)
        >>> round(floor), top
        (387, 0.00390625)
    """
    width = symbol_width(itemsize)
    if not data or len(data) % width:
        return 0.0, 1.0
    counts = np.bincount(np.frombuffer(data, dtype=symbol_dtype(width)))
    counts = counts[counts > 0].astype(np.float64)
    n = counts.sum()
    bits = float((counts * np.log2(n / counts)).sum())
    return bits / 8 + counts.size / 2 + 3, float(counts.max() / n)


def positional_floor(data: bytes, itemsize: int) -> float:
    """Order-0 floor of ``data`` coded byte by byte with one model per byte position within an element.

    What a coder that keys its literals on the position (LZMA's ``lp``/``pb``, Brotli's context modelling)
    can approach on multi-byte elements such as float32 tensors, whose exponent bytes repeat while their
    low mantissa bytes do not: ``sum over positions of min(N_pos * H0_pos / 8 + present_pos, N_pos)`` plus three
    bytes (a byte value's first appearance costs such a coder about a byte; a position can be stored as it is).

    Example:
        >>> data = np.linspace(1, 2, 4096, dtype="<f4").tobytes()
        >>> positional_floor(data, 4) < order0_floor(data, 4)[0]
        True
    """
    if itemsize < 2 or not data or len(data) % itemsize:
        return float("inf")
    planes = np.frombuffer(data, dtype=np.uint8).reshape(-1, itemsize)
    total = 3.0
    for column in planes.T:
        counts = np.bincount(column)
        counts = counts[counts > 0].astype(np.float64)
        total += min(float((counts * np.log2(column.size / counts)).sum()) / 8 + counts.size, column.size)
    return total


def ctx_estimate(draft: CtxDraft) -> float:
    """Estimated bytes of the codec-8 payload of a :class:`~formats.codecs.rans_ctx_writer.CtxDraft`.

    Context mode where the writer would not code plain mode, plain mode where it has no context plan,
    the smaller of the two otherwise.

    Example:
        >>> from formats.codecs.rans_ctx_writer import draft_ctx
        >>> ctx_estimate(draft_ctx(b"", 1))
        0.0
    """
    if draft.flat is None:
        return 0.0
    plain = 1 + plan_estimate(draft.flat, draft.plain_lanes())
    plan = draft.plan
    if plan is None:
        return plain
    k = draft.context_lanes()
    context = len(plan.header_bytes(k)) + plan.estimate_bits() / 8 + LANE_FIELD_BYTES + BYTES_PER_LANE * (k - 1)
    return context if draft.skips_plain else min(context, plain)


__all__ = [
    "BYTES_PER_LANE",
    "LANE_FIELD_BYTES",
    "ctx_estimate",
    "order0_floor",
    "positional_floor",
    "plan_estimate",
    "rans_estimate",
    "rans_zs_estimate",
]
