"""Codec 8 "rans-ctx": a kernel-group context model over static rANS lanes (spec/CODECS.md section 6).

Quantized weights are mostly the zero symbol ``m``, and the non-zeros cluster: whole kernels are empty
while others are dense, and neighbouring weights of a kernel tend to share their sign. The writer cuts
the stream into groups of ``g`` symbols (``g = 9`` makes the groups the 3x3 kernels of a C-order conv
weight) and codes each group's *count* of non-zeros, then, given the counts, the *rank* of each group's
non-zero pattern (near-uniform tables: positions carry little information once the count is known),
the *magnitudes* ``|s - m|`` and one *sign token* per non-zero (the sign of a group's first non-zero,
then whether each later one flips it). All tokens of a payload share one set of lanes (two phases:
counts, then the rest), decoded lane-parallel like codec 6 (:mod:`formats.codecs.rans_ctx_lanes`).
A stream the model does not suit is written as a plain codec-6 payload behind a mode byte.

The writer is :mod:`formats.codecs.rans_ctx_writer`, the reader :mod:`formats.codecs.rans_ctx_decode`.
"""

from __future__ import annotations

from formats.codecs.rans_ctx_decode import decode_many, rans_ctx_decode
from formats.codecs.rans_ctx_writer import (
    CTX_MIN_SYMBOLS,
    CtxPlan,
    choose_binary,
    choose_group,
    encode_context,
    lane_count,
    plan_context,
    rans_ctx_encode,
)
from formats.ids import CodecId


class RansCtxCodec:
    """Kernel-group context-modelling rANS (wire id 8).

    Example:
        >>> c = RansCtxCodec()
        >>> data = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]) * 40
        >>> c.decode(c.encode(data, 1), len(data), 1) == data
        True
    """

    codec_id = int(CodecId.RANS_CTX)
    name = "rans-ctx"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return rans_ctx_encode(data, itemsize)

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        return rans_ctx_decode(payload, out_size, itemsize)


__all__ = [
    "CTX_MIN_SYMBOLS",
    "CtxPlan",
    "RansCtxCodec",
    "choose_binary",
    "choose_group",
    "decode_many",
    "encode_context",
    "lane_count",
    "plan_context",
    "rans_ctx_decode",
    "rans_ctx_encode",
]
