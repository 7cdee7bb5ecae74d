"""Codec 7 "rans-zs": zero-split static rANS (spec/CODECS.md section 5).

A quantized index stream is mostly one symbol ``m`` (the zero level). The writer splits it into
the flag bits ``[s_i != m]`` packed 8 per byte (numpy ``packbits`` order) and the residual symbols
``s_i != m``, and codes each as a codec-6 rANS payload. By the chain rule the two order-0 bounds add
up to about the bound of the original stream, while the number of coded symbols falls from ``N`` to
``N/8 + R`` (``R`` residual symbols), which is what a lane-vectorised decoder pays for.

Decoding is :func:`split_payload` (validate the header, no allocation beyond the payload), a rANS
decode of the sub-streams (:func:`formats.codecs.batch.decode_batch` decodes those of many tensors
in one loop), then :func:`join_parts` (check flags against the residual, scatter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs._bits import read_varint, write_varint
from formats.codecs.rans import (
    BYTES_PER_LANE,
    MAX_LANES,
    RATIO_BOUND_SYMBOLS,
    StreamPlan,
    encode_plan,
    plan_stream,
    step_cap,
)
from formats.codecs.rans_decode import decode_labelled
from formats.codecs.rans_format import BLOCK, symbol_dtype, symbol_width
from formats.errors import CodecError
from formats.ids import CodecId

MODE_PLAIN = 0  # the rest of the payload is one codec-6 payload of the whole stream
MODE_SPLIT = 1  # m, R, the flag payload's length, the flag payload, the residual payload

SPLIT_MIN_SYMBOLS = 256  # the reference writer codes shorter streams plain
ZS_BUDGET_DIVISOR = 128  # lanes and tables of both sub-streams get about 1/128 of the estimate
ZS_STEP_CAP = 128  # ... but at least enough lanes that both sub-streams finish in this many steps
ZS_RATIO_SYMBOLS = 1 << 16  # from this stream length on the 1 % target applies: the budget rules alone
ZS_LONG_STEP_CAP = 512  # ... with at most this many steps when the coded symbols number fewer than 2^16
ZS_MAX_PRECISION = 12  # 4096-slot tables: cheap to build and cache-resident; costs < 0.05 % (measured)


@dataclass(frozen=True)
class ZsParts:
    """A validated codec-7 payload split into its codec-6 sub-payloads (nothing decoded yet).

    ``mode == MODE_PLAIN``: ``residual`` is a codec-6 payload of the whole stream and ``flags`` is empty.
    ``mode == MODE_SPLIT``: ``flags`` codes ``ceil(n / 8)`` flag bytes, ``residual`` codes ``count``
    symbols of ``width`` bytes, none equal to ``m``.
    """

    mode: int
    n: int  # symbols of the whole stream
    width: int  # bytes per symbol
    m: int  # the split symbol
    count: int  # residual symbols R
    flags: bytes
    residual: bytes

    def requests(self) -> list[tuple[bytes, int, int]]:
        """The codec-6 sub-streams to decode, as ``(payload, out_size, itemsize)``."""
        if self.mode == MODE_PLAIN:
            return [(self.residual, self.n * self.width, self.width)] if self.n else []
        return [(self.flags, -(-self.n // 8), 1), (self.residual, self.count * self.width, self.width)]


def split_payload(payload: bytes, out_size: int, itemsize: int) -> ZsParts:
    """Parse and check the codec-7 header; returns the sub-payloads to decode.

    Args:
        payload: the codec payload.
        out_size: decoded length in bytes (a multiple of the symbol width).
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The parts; decode their :meth:`ZsParts.requests` with rANS, then call :func:`join_parts`.

    Raises:
        CodecError: bad mode, counts or lengths, or a payload of the wrong size.

    Example:
        >>> split_payload(bytes.fromhex("000101016101000000030004"), 3, 1).mode
        0
    """
    buf = bytes(payload)
    width = symbol_width(itemsize)
    if out_size < 0 or out_size % width:
        raise CodecError(f"rans-zs out_size {out_size} is not a multiple of the symbol width {width}")
    n = out_size // width
    if n == 0:
        if buf:
            raise CodecError(f"rans-zs payload for an empty tensor must be empty, got {len(buf)} bytes")
        return ZsParts(MODE_PLAIN, 0, width, 0, 0, b"", b"")
    if not buf:
        raise CodecError("rans-zs payload is empty but the tensor is not")
    mode = buf[0]
    if mode == MODE_PLAIN:
        return ZsParts(MODE_PLAIN, n, width, 0, n, b"", buf[1:])
    if mode != MODE_SPLIT:
        raise CodecError(f"rans-zs mode {mode} is unknown (0 = plain, 1 = split)")
    if n < 2:
        raise CodecError(f"rans-zs split mode needs at least 2 symbols, the tensor has {n}")
    if len(buf) < 1 + width:
        raise CodecError("rans-zs payload ends inside the split symbol")
    m = int.from_bytes(buf[1 : 1 + width], "little")
    count, pos = read_varint(buf, 1 + width, "rans-zs residual count", n - 1)
    if count < 1:
        raise CodecError("rans-zs residual count is 0; a constant stream must use the plain mode")
    flag_len, pos = read_varint(buf, pos, "rans-zs flag payload length", len(buf) - pos)
    if flag_len < 1 or pos + flag_len >= len(buf):
        raise CodecError(
            f"rans-zs flag payload length {flag_len} leaves no room for the residual payload "
            f"({len(buf) - pos} bytes follow the header)"
        )
    return ZsParts(MODE_SPLIT, n, width, m, count, buf[pos : pos + flag_len], buf[pos + flag_len :])


def join_parts(parts: ZsParts, decoded: list[bytes]) -> bytes:
    """Rebuild the stream from its decoded sub-streams, checking that they agree.

    Args:
        parts: from :func:`split_payload`.
        decoded: the decoded bytes of ``parts.requests()``, in order.

    Returns:
        Exactly ``n * width`` bytes.

    Raises:
        CodecError: flag padding bits set, flag count other than the residual count, or a residual
            symbol equal to ``m``.

    Example:
        >>> parts = split_payload(bytes.fromhex("000101016101000000030004"), 3, 1)
        >>> join_parts(parts, [b"aab"])
        b'aab'
    """
    if parts.mode == MODE_PLAIN:
        return decoded[0] if parts.n else b""
    flag_bytes, residual_bytes = decoded
    n, tail = parts.n, parts.n % 8
    raw = np.frombuffer(flag_bytes, dtype=np.uint8)
    if tail and int(raw[-1]) & ((1 << (8 - tail)) - 1):
        raise CodecError("rans-zs flag padding bits are not zero")
    flags = np.unpackbits(raw, count=n).view(bool)
    ones = int(np.count_nonzero(flags))
    if ones != parts.count:
        raise CodecError(f"rans-zs flags mark {ones} residual symbols, the header says {parts.count}")
    dtype = symbol_dtype(parts.width)
    residual = np.frombuffer(residual_bytes, dtype=dtype)
    if (residual == parts.m).any():
        raise CodecError(f"rans-zs residual stream holds the split symbol {parts.m}; the payload is corrupt")
    out = np.full(n, parts.m, dtype=dtype)
    out[flags] = residual
    return out.tobytes()


def zs_lanes(plans: list[StreamPlan], n: int) -> list[int]:
    """Lane counts of the sub-streams of one payload (reference writer, spec/CODECS.md 5.4).

    One lane total ``K`` for all sub-streams, split in proportion to their symbol counts so that they
    finish in the same number of steps ``T`` (two symbols per lane each): ``budget = floor((E / 128 -
    Tb) / 2)`` (``E`` the estimated bytes and ``Tb`` the table bytes of all of them), ``floor =
    ceil(C / (2 * 128))`` (``C`` the coded symbols) when the whole stream has fewer than 2^16 symbols,
    else ``ceil(C / (2 * cap))`` with ``cap = 512`` for ``C < 2^16`` and codec 6's long-stream cap
    ``min(4096, C // 32)`` (:func:`formats.codecs.rans.step_cap`) from there on;
    ``K = max(budget, floor, 1)``, ``T = ceil(C / (2K))``, and each sub-stream of ``c`` symbols gets
    ``ceil(c / (2T))`` lanes, clamped to ``1 .. min(c, 4096)``.

    Args:
        plans: the sub-streams (flags and residual, or the plain stream).
        n: symbols of the whole stream.

    Returns:
        One lane count per plan.

    Example:
        >>> f, r = plan_stream(bytes(2000), 1), plan_stream(bytes(range(1, 201)) * 20, 1)
        >>> zs_lanes([f, r], 16000)
        [8, 16]
    """
    coded = sum(p.n for p in plans)
    est = sum(p.est_bytes for p in plans)
    table = sum(len(p.table_bytes) for p in plans)
    budget = int((est / ZS_BUDGET_DIVISOR - table) / BYTES_PER_LANE)
    if n < ZS_RATIO_SYMBOLS:
        cap = ZS_STEP_CAP
    else:
        cap = ZS_LONG_STEP_CAP if coded < RATIO_BOUND_SYMBOLS else step_cap(coded)
    floor = -(-coded // (BLOCK * cap))
    steps = -(-coded // (BLOCK * max(budget, floor, 1)))
    return [_lanes_for(p.n, steps) for p in plans]


def _lanes_for(n: int, steps: int) -> int:
    k = -(-n // (BLOCK * steps))
    return int(max(1, min(n, MAX_LANES, k)))


def rans_zs_encode(data: bytes, itemsize: int) -> bytes:
    """Encode a symbol stream as a codec-7 payload.

    The split symbol is the most frequent one, ties to the lowest value. Constant streams and streams
    of fewer than 256 symbols are coded plain; from 2^16 symbols on, split (the decoder's speed is the
    point of this codec); in between both ways (lanes from :func:`zs_lanes`), the smaller payload
    winning, ties to split.

    Args:
        data: little-endian symbol stream.
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The payload.

    Example:
        >>> rans_zs_encode(b"aab", 1).hex()
        '000101016101000000030004'
    """
    data = bytes(data)
    width = symbol_width(itemsize)
    if width == 2 and len(data) % 2:
        raise CodecError(f"rans-zs with 2-byte symbols needs an even length, got {len(data)} bytes")
    if not data:
        return b""
    dtype = symbol_dtype(width)
    sym = np.frombuffer(data, dtype=dtype)
    counts = np.bincount(sym)
    m = int(counts.argmax())
    plain = b""
    if sym.size < ZS_RATIO_SYMBOLS or int(counts[m]) == sym.size:
        whole = plan_stream(data, width, ZS_MAX_PRECISION)
        plain = bytes([MODE_PLAIN]) + encode_plan(whole, zs_lanes([whole], sym.size)[0])
    if sym.size < SPLIT_MIN_SYMBOLS or int(counts[m]) == sym.size:
        return plain
    keep = sym != m
    residual = sym[keep]
    flags = plan_stream(np.packbits(keep).tobytes(), 1, ZS_MAX_PRECISION)
    rest = plan_stream(residual.astype(dtype).tobytes(), width, ZS_MAX_PRECISION)
    k_flags, k_rest = zs_lanes([flags, rest], sym.size)
    flag_payload = encode_plan(flags, k_flags)
    head = bytes([MODE_SPLIT]) + m.to_bytes(width, "little") + write_varint(int(residual.size))
    split = head + write_varint(len(flag_payload)) + flag_payload + encode_plan(rest, k_rest)
    return split if not plain or len(split) <= len(plain) else plain


def rans_zs_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode one codec-7 payload to exactly ``out_size`` bytes, or raise CodecError.

    Args:
        payload: from :func:`rans_zs_encode`.
        out_size: decoded length in bytes.
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The decoded stream.

    Example:
        >>> rans_zs_decode(rans_zs_encode(bytes(300) + b"xy", 1), 302, 1)[-3:]
        b'\\x00xy'
    """
    parts = split_payload(payload, out_size, itemsize)
    reqs = parts.requests()
    if not reqs:
        return b""
    return join_parts(parts, decode_labelled(reqs, part_labels(parts, "")))


def part_labels(parts: ZsParts, prefix: str) -> list[str]:
    """Names of the sub-streams of ``parts`` in error messages (``prefix`` names the tensor)."""
    if parts.mode == MODE_PLAIN:
        return [f"{prefix}plain stream of rans-zs"] * len(parts.requests())
    return [f"{prefix}flag stream of rans-zs", f"{prefix}residual stream of rans-zs"]


class RansZsCodec:
    """Zero-split static rANS (wire id 7).

    Example:
        >>> c = RansZsCodec()
        >>> c.decode(c.encode(bytes(500) + b"abc", 1), 503, 1)[-3:]
        b'abc'
    """

    codec_id = int(CodecId.RANS_ZS)
    name = "rans-zs"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return rans_zs_encode(data, itemsize)

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        return rans_zs_decode(payload, out_size, itemsize)


__all__ = [
    "MODE_PLAIN",
    "MODE_SPLIT",
    "RansZsCodec",
    "ZsParts",
    "join_parts",
    "part_labels",
    "rans_zs_decode",
    "rans_zs_encode",
    "split_payload",
    "zs_lanes",
]
