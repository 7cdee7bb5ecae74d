"""The reference writer's "auto" codec choice: estimate every candidate, code only the best one or two.

* RAW costs its length; the rANS codecs (6, 7, 8) are sized from their writers' tables without running a
  lane (:mod:`formats.codecs.estimate`; the tables are kept, so the chosen codec does not plan twice).
* The general-purpose compressors (zstd, Brotli, bzip2, LZMA, LZW) can only win where the bytes repeat in
  ways an order-0 or kernel-context model misses, or, in multi-byte elements, depend on their position in
  the element. Two probes look for that: a Zstandard level-1 frame (tens of microseconds per KiB) and the
  order-0 floor with one model per byte position (:func:`formats.codecs.estimate.positional_floor`). The
  general-purpose codecs are coded, all of them, only when a probe comes below :data:`PROBE_GATE` times the
  best estimate (plus :data:`PROBE_SLACK` bytes on short streams where a rANS codec estimates best).
* Inputs under :data:`SMALL_INPUT` bytes are too short for estimates to mean much and cost microseconds to
  code: every candidate but the slow-starting Brotli, LZMA and bzip2 is coded.
* Of the estimated candidates the best is coded, and the second best too when its estimate is within
  :data:`SECOND_MARGIN` of the best; the smallest real payload wins (ties to the lowest id).

Everything is a function of the input bytes, so the same input gives the same codec and payload. On the
post-training ResNet-56, ResNet-32 and LeNet files, coding with every candidate
(:func:`formats.codecs.encode_best`) gives files at most 0.25 % smaller (``examples/bench_encode.py``; 0.241 %
on ResNet-56 with ``bits=6``).

Example:
    >>> codec_id, payload = encode_auto(bytes(1000), 1)
    >>> codec_id != 0 and len(payload) < 100
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import zstandard

from formats.codecs import default_candidates, get_codec  # the registry is built before this module loads
from formats.codecs.estimate import order0_floor, positional_floor, rans_estimate, rans_zs_estimate
from formats.codecs.rans import (
    PRECISION_SLACK,
    WRITER_MAX_PRECISION,
    StreamPlan,
    encode_plan,
    lane_count,
    plan_stream,
)
from formats.codecs.rans_ctx_writer import CTX_MAX_PRECISION, draft_ctx
from formats.codecs.rans_format import symbol_width
from formats.codecs.rans_zs import ZS_MAX_PRECISION
from formats.ids import CodecId

SMALL_INPUT = 64
"""Inputs shorter than this (bytes) are coded with every cheap candidate instead of estimated."""
SLOW_START = frozenset({int(CodecId.BROTLI), int(CodecId.LZMA), int(CodecId.BZIP2)})
"""Codecs whose fixed cost per call (~0.1-1 ms) dwarfs a small input's; left out below :data:`SMALL_INPUT`."""
GENERAL = frozenset({int(CodecId.ZSTD), int(CodecId.BROTLI), int(CodecId.BZIP2), int(CodecId.LZMA),
                     int(CodecId.LZW)})
"""General-purpose compressors: no cheap size estimate, gated by the probe."""
ENTROPY = frozenset({int(CodecId.RANS), int(CodecId.RANS_ZS), int(CodecId.RANS_CTX)})
"""The rANS codecs, sized from their tables."""
PROBE_LEVEL = 1
PROBE_GATE = 1.0
"""General-purpose codecs are coded when a zstd level-1 frame is below this times the best estimate."""
SHORT_STREAM = 1 << 12
PROBE_SLACK = 32
"""On a stream under :data:`SHORT_STREAM` bytes whose best estimate is a rANS codec, the gate is this many bytes
wider: there Brotli's small-input modelling can beat both a zstd level-1 frame and the rANS tables' fixed cost by
~20-30 bytes (e.g. 1,126 quantized bytes, 89 % zeros: zstd-1 90, rANS-CTX 80, Brotli 61)."""
SECOND_MARGIN = 0.01
"""The second-best estimated candidate is coded too when its estimate is within this fraction of the best."""
POSITIONAL_MIN = 1 << 10
"""Inputs shorter than this skip the positional probe: on the short float vectors of a network (biases, norm
statistics) it would open the general-purpose codecs for a few bytes each (ResNet-56: 44 vectors of 256 bytes,
about 350 bytes in all, 0.08 % of the file) at about a millisecond each."""
FLAT_SHARE = 0.5
"""When no symbol has this share of the stream, split and context modes have nothing to exploit: the rANS codecs
are not even planned if the order-0 floor (:func:`formats.codecs.estimate.order0_floor`) reaches the raw size."""


@dataclass(frozen=True)
class Estimate:
    """One candidate's estimated payload bytes and how to code it."""

    codec_id: int
    size: float
    encode: Callable[[], bytes]


def estimate_candidates(data: bytes, itemsize: int, candidates: Iterable[int]) -> list[Estimate]:
    """Estimates of the candidates that have one (RAW, rANS, rANS-ZS, rANS-CTX), best first (ties: lower id).

    Example:
        >>> [e.codec_id for e in estimate_candidates(bytes(1000), 1, [0, 6])]
        [6, 0]
    """
    data = bytes(data)
    ids = sorted({int(c) for c in candidates})
    if any(c in ENTROPY for c in ids):
        floor, top = order0_floor(data, itemsize)
        if top < FLAT_SHARE and floor >= len(data):
            ids = [c for c in ids if c not in ENTROPY]
    plans = _Plans(data, itemsize)
    out: list[Estimate] = []
    for cid in ids:
        if cid == CodecId.RAW:
            out.append(Estimate(cid, float(len(data)), lambda: data))
        elif cid == CodecId.RANS:
            plan = plans.get(WRITER_MAX_PRECISION)
            lanes = lane_count(plan.n, plan.est_bytes, len(plan.table_bytes))
            out.append(Estimate(cid, rans_estimate(plan), lambda p=plan, k=lanes: encode_plan(p, k)))
        elif cid == CodecId.RANS_ZS:
            codec = get_codec(cid)
            size = rans_zs_estimate(data, itemsize, plans.get(ZS_MAX_PRECISION))
            out.append(Estimate(cid, size, lambda c=codec: c.encode(data, itemsize)))
        elif cid == CodecId.RANS_CTX:
            draft = draft_ctx(data, itemsize, plans.get(CTX_MAX_PRECISION))
            out.append(Estimate(cid, draft.estimate(), draft.payload))
    return sorted(out, key=lambda e: (e.size, e.codec_id))


class _Plans:
    """``plan_stream(data, itemsize, P)`` by the precision cap it takes effect with: codecs 6, 7 and 8 plan with
    caps 13, 12 and 12, which give the same plan for streams under 2^16 symbols (the cap is then lower)."""

    def __init__(self, data: bytes, itemsize: int) -> None:
        self.data, self.itemsize = data, itemsize
        self.n = len(data) // symbol_width(itemsize)
        self.plans: dict[int, StreamPlan] = {}

    def get(self, max_precision: int) -> StreamPlan:
        cap = min(max_precision, max(1, self.n.bit_length() - PRECISION_SLACK))
        if cap not in self.plans:
            self.plans[cap] = plan_stream(self.data, self.itemsize, max_precision)
        return self.plans[cap]


def probe_size(data: bytes) -> int:
    """Bytes of a Zstandard level-:data:`PROBE_LEVEL` frame of ``data`` (the general-purpose probe).

    Example:
        >>> probe_size(bytes(10000)) < 100
        True
    """
    return len(zstandard.ZstdCompressor(level=PROBE_LEVEL, write_content_size=False).compress(bytes(data)))


def _structured(data: bytes, itemsize: int, best: float, slack: float = 0.0) -> bool:
    """True when a general-purpose compressor may beat ``best`` bytes: repeats (the zstd level-1 probe) or
    bytes predictable from their position in a multi-byte element (:func:`~formats.codecs.estimate.positional_floor`).
    ``slack`` bytes widen the gate.
    """
    gate = PROBE_GATE * best + slack
    if len(data) >= POSITIONAL_MIN and positional_floor(data, itemsize) < gate:
        return True
    return probe_size(data) < gate


def encode_auto(data: bytes, itemsize: int, candidates: Iterable[int] | None = None) -> tuple[int, bytes]:
    """The "auto" codec: estimate the candidates, code the best one or two (see the module docstring).

    Args:
        data: little-endian element bytes.
        itemsize: element size in bytes.
        candidates: codec ids to choose from; default :func:`formats.codecs.default_candidates`.

    Returns:
        ``(codec_id, payload)``; the payload is exactly what that codec's ``encode`` returns.

    Raises:
        UnknownIdError: a candidate id is not a known codec.
        ValueError: no candidates.

    Example:
        >>> encode_auto(b"", 1)
        (0, b'')
    """
    data = bytes(data)
    ids = default_candidates(len(data)) if candidates is None else sorted({int(c) for c in candidates})
    if not ids:
        raise ValueError("encode_auto needs at least one candidate codec")
    for cid in ids:
        get_codec(cid)  # raises UnknownIdError
    if len(data) < SMALL_INPUT:
        return _smallest(data, itemsize, [c for c in ids if c not in SLOW_START] or ids)
    estimates = estimate_candidates(data, itemsize, ids)
    coded: list[tuple[int, bytes]] = []
    general = [c for c in ids if c in GENERAL]
    slack = PROBE_SLACK if estimates and estimates[0].codec_id in ENTROPY and len(data) < SHORT_STREAM else 0
    if general and (not estimates or _structured(data, itemsize, estimates[0].size, slack)):
        coded += [(c, get_codec(c).encode(data, itemsize)) for c in general]
    if estimates:
        best = estimates[0]
        coded.append((best.codec_id, best.encode()))
        if len(estimates) > 1 and estimates[1].size <= best.size * (1 + SECOND_MARGIN):
            coded.append((estimates[1].codec_id, estimates[1].encode()))
    return min(coded, key=lambda item: (len(item[1]), item[0]))


def _smallest(data: bytes, itemsize: int, ids: list[int]) -> tuple[int, bytes]:
    return min(((c, get_codec(c).encode(data, itemsize)) for c in ids), key=lambda item: (len(item[1]), item[0]))


__all__ = ["Estimate", "GENERAL", "PROBE_GATE", "SECOND_MARGIN", "SMALL_INPUT", "encode_auto",
           "estimate_candidates", "probe_size"]
