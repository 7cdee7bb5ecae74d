"""Codec 7 (rans-zs): literal vectors, round trips, degenerate streams, hardened decoder, batched decode."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.codecs import get_codec
from formats.codecs._bits import write_varint
from formats.codecs.batch import decode_batch
from formats.codecs.rans import StreamPlan, encode_plan, plan_stream, rans_encode
from formats.codecs.rans_format import parse_stream
from formats.codecs.rans_zs import (
    MODE_PLAIN,
    MODE_SPLIT,
    SPLIT_MIN_SYMBOLS,
    ZS_MAX_PRECISION,
    rans_zs_decode,
    rans_zs_encode,
    split_payload,
    zs_lanes,
)
from formats.errors import CodecError
from formats.ids import CodecId

# "aaabaaaa" split on 'a': flags 0x10 (one byte, constant) and residual "b" (constant), hand-assembled;
# a constant codec-6 stream is P 1, K 1, one run (gap, length - 1), cmin 0, cbits 0, emin 0, ebits 0
SPLIT_VECTOR = bytes.fromhex("01 61 01 09" "01 01 01 10 00 00 00 00 00" "01 01 01 62 00 00 00 00 00")
# the reference writer on 1024 zero bytes but byte 5 = 0x07: plain mode, since at 1024 symbols the split
# does not pay; P 7 (bit_length(1024) - 4), K = ceil(1024 / (2 * 128)) = 4 lanes, table f(0) = 127, f(7) = 1.
# Lanes 0, 2, 3 hold only zeros: state 1 (free). Lane 1 codes 0x07 (its symbol 1) from x = 1: x = 128 + 127 =
# 255, then its symbol 0 (a zero): x = (255 // 127) * 128 + 255 % 127 = 257 = 2^8 + 1; every later zero
# (coded first) left x = 1. So emin 0, ebits 4, exponents 0 8 0 0, one 8-bit mantissa 1.
WRITER_VECTOR = bytes.fromhex("00 07 04" "02 00 00 06 00 06 3f" "00 00 00 04" "80 00 01")


def _levels(n: int, sparsity: float, levels: int, seed: int, width: int = 1, zero: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    sym = np.where(rng.random(n) < sparsity, zero, rng.integers(0, levels + 1, n))
    return sym.astype(np.uint8 if width == 1 else "<u2").tobytes()


def _split(m: int, flags: bytes, residual: bytes, count: int, width: int = 1) -> bytes:
    f = rans_encode(flags, 1)
    return bytes([MODE_SPLIT]) + m.to_bytes(width, "little") + write_varint(count) + write_varint(len(f)) + f + (
        rans_encode(residual, width)
    )


def test_literal_split_vector() -> None:
    assert rans_zs_decode(SPLIT_VECTOR, 8, 1) == b"aaabaaaa"
    assert rans_zs_decode(SPLIT_VECTOR, 8, 4) == b"aaabaaaa"  # itemsize 4 is coded byte by byte


def test_literal_writer_vector() -> None:
    data = bytearray(1024)
    data[5] = 7
    assert rans_zs_encode(bytes(data), 1) == WRITER_VECTOR
    assert rans_zs_decode(WRITER_VECTOR, 1024, 1) == data
    assert WRITER_VECTOR[1:] == encode_plan(plan_stream(bytes(data), 1, ZS_MAX_PRECISION), 4)
    # spec/CODECS.md 5.5: the split form (27 bytes) of the same stream, lanes and tables by the writer's rules:
    # flag byte 0 = 0x04 and 127 zero bytes (P 4, f = 15, 1; the lane state 2^4 + 15), residual 0x07
    flags = plan_stream(np.packbits(np.frombuffer(bytes(data), np.uint8) != 0).tobytes(), 1, ZS_MAX_PRECISION)
    rest = plan_stream(b"\x07", 1, ZS_MAX_PRECISION)
    k_flags, k_rest = zs_lanes([flags, rest], 1024)
    flag_payload = encode_plan(flags, k_flags)
    split = bytes([MODE_SPLIT, 0, 1, len(flag_payload)]) + flag_payload + encode_plan(rest, k_rest)
    flag_hex = "04 01 02 00 00 03 00 03 07 00 00 04 00 0f"
    assert split == bytes.fromhex("01 00 01 0e" + flag_hex + "01 01 01 07 00 00 00 00 00")
    assert rans_zs_decode(split, 1024, 1) == data and len(split) > len(WRITER_VECTOR)
    # at 256 symbols the plain payload is the smaller one, so the writer keeps it
    assert rans_zs_encode(bytes(255) + b"\x07", 1)[0] == MODE_PLAIN


def test_plain_mode_is_a_rans_payload() -> None:
    assert rans_zs_encode(b"aab", 1) == bytes([MODE_PLAIN]) + rans_encode(b"aab", 1)
    assert rans_zs_encode(b"", 1) == b"" and rans_zs_decode(b"", 0, 1) == b""


@pytest.mark.parametrize(
    "data,itemsize,mode",
    [
        (b"\x05", 1, MODE_PLAIN),
        (bytes(5000), 1, MODE_PLAIN),  # constant: no residual, plain constant rANS stream
        (bytes(SPLIT_MIN_SYMBOLS - 2) + b"\x01", 1, MODE_PLAIN),  # short: plain
        (bytes([3]) + bytes(2000), 1, MODE_PLAIN),  # R = 1: a lane of zeros costs nothing, plain is smaller
        (bytes(range(1, 256)) * 40 + bytes(20000), 1, MODE_SPLIT),
        (bytes(range(256)) * 3 + bytes(1), 1, MODE_PLAIN),  # every value present: split does not pay
        (np.full(1001, 40000, "<u2").tobytes(), 2, MODE_PLAIN),
        (np.array([7] * 999 + [65535], "<u2").tobytes(), 2, MODE_PLAIN),
        (_levels(40_001, 0.9, 30, 1, width=2, zero=300), 2, MODE_PLAIN),  # below 2^16 symbols: the smaller
        (_levels(1 << 16, 0.9, 30, 1, width=2, zero=300), 2, MODE_SPLIT),  # from 2^16 on: always split
        (bytes([3]) + bytes((1 << 16) - 1), 1, MODE_SPLIT),  # ... even with R = 1
        (np.full(1 << 16, 9, "<u2").tobytes(), 2, MODE_PLAIN),  # ... unless constant
    ],
)
def test_degenerate_streams(data: bytes, itemsize: int, mode: int) -> None:
    payload = rans_zs_encode(data, itemsize)
    assert payload[0] == mode
    assert rans_zs_decode(payload, len(data), itemsize) == data


@pytest.mark.parametrize(
    "symbols,width",
    [
        ([3] + [0] * 2000, 1),  # R = 1 at the start
        ([0] * 2000 + [3], 1),  # ... at the end (flag padding bits after it)
        ([0] * 7 + [200], 1),  # one flag byte
        ([7] * 999 + [65535], 2),  # m and the residual on two bytes
        ([300] * 50 + [0, 1, 2] * 30 + [300] * 9, 2),
    ],
)
def test_hand_split_degenerate_streams(symbols: list[int], width: int) -> None:
    """Split payloads the writer would not choose still decode (readers accept either mode)."""
    sym = np.array(symbols, dtype="<u2" if width == 2 else np.uint8)
    m = int(np.bincount(sym).argmax())
    keep = sym != m
    payload = _split(m, np.packbits(keep).tobytes(), sym[keep].tobytes(), int(keep.sum()), width)
    assert rans_zs_decode(payload, sym.nbytes, width) == sym.tobytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(0, 20_000),
    sparsity=st.floats(0.0, 1.0),
    levels=st.integers(0, 300),
    width=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**31),
)
def test_round_trip(n: int, sparsity: float, levels: int, width: int, seed: int) -> None:
    zero = seed % 256
    data = _levels(n, sparsity, levels if width == 2 else min(levels, 255), seed, width, zero)
    payload = get_codec(CodecId.RANS_ZS).encode(data, width)
    assert get_codec(CodecId.RANS_ZS).decode(payload, len(data), width) == data


def _documented_zs_lanes(sizes: list[int], est: float, table: int, n: int) -> list[int]:
    coded = sum(sizes)
    budget = math.floor((est / 128 - table) / 2.0)
    cap = 128 if n < 1 << 16 else 512 if coded < 1 << 16 else min(4096, coded // 32)
    floor = -(-coded // (2 * cap))
    steps = -(-coded // (2 * max(budget, floor, 1)))
    return [max(1, min(c, 4096, -(-c // (2 * steps)))) for c in sizes]


def _fake_plan(size: int, est: float, table: int) -> StreamPlan:
    return StreamPlan(np.zeros(size, np.uint8), 1, None, bytes(table), est)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 10**7),
    flag_share=st.floats(0.01, 1.0),
    residual_share=st.floats(0.0, 1.0),
    bits_per_symbol=st.floats(0.0, 9.0),
    tables=st.tuples(st.integers(2, 400), st.integers(2, 400)),
)
def test_zs_lane_rule_is_the_documented_formula(
    n: int, flag_share: float, residual_share: float, bits_per_symbol: float, tables: tuple[int, int]
) -> None:
    sizes = [max(1, int(n / 8 * flag_share)), max(1, int(n * residual_share))]
    ests = [s * bits_per_symbol / 8 for s in sizes]
    plans = [_fake_plan(s, e, t) for s, e, t in zip(sizes, ests, tables, strict=True)]
    assert zs_lanes(plans, n) == _documented_zs_lanes(sizes, sum(ests), sum(tables), n)
    assert zs_lanes(plans[1:], n) == _documented_zs_lanes(sizes[1:], ests[1], tables[1], n)


def test_zs_lane_rule_examples() -> None:
    # 16000 symbols: floor ceil(2200 / 256) = 9 lanes, T = ceil(2200 / 18) = 123 steps; flags get
    # ceil(2000 / 246) = 9 lanes, the residual ceil(200 / 246) = 1
    assert zs_lanes([_fake_plan(2000, 100.0, 10), _fake_plan(200, 100.0, 10)], 16000) == [9, 1]
    # 2^20 symbols: step_cap(C) = 4096 for C = 2^17 + 2^18; budget (200000 / 128 - 40) / 2 = 761
    big = [_fake_plan(1 << 17, 50000.0, 20), _fake_plan(1 << 18, 150000.0, 20)]
    steps = -(-((1 << 17) + (1 << 18)) // (2 * 761))
    assert zs_lanes(big, 1 << 20) == [-(-(1 << 17) // (2 * steps)), -(-(1 << 18) // (2 * steps))]


def test_writer_splits_with_the_zs_lane_rule() -> None:
    data = _levels(1 << 17, 0.85, 24, 3)
    parts = split_payload(rans_zs_encode(data, 1), len(data), 1)
    sym = np.frombuffer(data, np.uint8)
    flags = plan_stream(np.packbits(sym != 0).tobytes(), 1, ZS_MAX_PRECISION)
    rest = plan_stream(sym[sym != 0].tobytes(), 1, ZS_MAX_PRECISION)
    streams = [parse_stream(*r) for r in parts.requests()]
    assert [s.lanes for s in streams] == zs_lanes([flags, rest], sym.size)
    assert all(s.table.precision <= ZS_MAX_PRECISION for s in streams)
    assert parts.flags == encode_plan(flags, streams[0].lanes)


def test_split_reduces_coded_symbols_and_stays_near_the_bound() -> None:
    data = _levels(200_000, 0.85, 24, 3)
    parts = split_payload(rans_zs_encode(data, 1), len(data), 1)
    coded = sum(parse_stream(*r).n for r in parts.requests())
    assert coded < 0.3 * 200_000
    assert len(rans_zs_encode(data, 1)) < 1.01 * len(rans_encode(data, 1))


@pytest.mark.parametrize(
    "payload,out_size,match",
    [
        (bytes([2]) + SPLIT_VECTOR[1:], 8, "mode 2 is unknown"),
        (SPLIT_VECTOR[:1], 8, "ends inside the split symbol"),
        (SPLIT_VECTOR[:2], 8, "residual count runs past"),
        (SPLIT_VECTOR, 1, "needs at least 2 symbols"),
        (bytes([1, 0x61, 0]) + SPLIT_VECTOR[3:], 8, "residual count is 0"),
        (bytes([1, 0x61, 8]) + SPLIT_VECTOR[3:], 8, "above the limit 7"),
        (SPLIT_VECTOR[:3] + bytes([0]) + SPLIT_VECTOR[4:], 8, "flag payload length 0"),
        (SPLIT_VECTOR[:3] + bytes([18]) + SPLIT_VECTOR[4:], 8, "flag payload length 18"),
        (SPLIT_VECTOR[:3] + bytes([9 + 9]) + SPLIT_VECTOR[4:], 8, "leaves no room"),
        (SPLIT_VECTOR + b"\x00", 8, "residual stream"),
        (SPLIT_VECTOR, 9, "padding bits"),  # the constant flag stream has any length: 0x10 0x10
        (SPLIT_VECTOR, 0, "must be empty"),
        (b"", 8, "empty but the tensor is not"),
        (bytes([0]), 8, "plain stream"),
    ],
)
def test_malformed_headers(payload: bytes, out_size: int, match: str) -> None:
    with pytest.raises(CodecError, match=match):
        rans_zs_decode(payload, out_size, 1)


def test_flags_and_residual_must_agree() -> None:
    # popcount 2, count 1
    with pytest.raises(CodecError, match="flags mark 2 residual symbols, the header says 1"):
        rans_zs_decode(_split(0x61, b"\x11", b"b", 1), 8, 1)
    # a flag in the padding bits (6 symbols: the last 2 bits of the byte are padding)
    with pytest.raises(CodecError, match="padding bits"):
        rans_zs_decode(_split(0x61, b"\x11", b"bb", 2), 6, 1)
    # the residual holds the split symbol
    with pytest.raises(CodecError, match="holds the split symbol 97"):
        rans_zs_decode(_split(0x61, b"\x10", b"a", 1), 8, 1)
    # a residual coded for more symbols than the count: the residual stream's own checks
    with pytest.raises(CodecError, match="residual stream of rans-zs"):
        rans_zs_decode(_split(0x61, b"\x10", b"bcd", 1), 8, 1)
    # 16-bit symbols: m is two bytes
    good = _split(0x1234, b"\x80", np.array([5], "<u2").tobytes(), 1, width=2)
    assert rans_zs_decode(good, 16, 2) == np.array([5] + [0x1234] * 7, "<u2").tobytes()


def test_bounded_mutation_fuzz() -> None:
    rng = np.random.default_rng(7)
    data = _levels(3000, 0.85, 20, 5)
    payload = rans_zs_encode(data, 1)
    for _ in range(300):
        buf = bytearray(payload)
        kind = int(rng.integers(0, 3))
        if kind == 0:
            i = int(rng.integers(0, len(buf)))
            buf[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:
            buf = buf[: int(rng.integers(0, len(buf)))]
        else:
            i = int(rng.integers(0, 8))
            buf[i] = int(rng.integers(0, 256))
        try:
            out = rans_zs_decode(bytes(buf), len(data), 1)
        except CodecError:
            continue
        assert len(out) == len(data)  # rANS can resynchronise; integrity is the container's job


def test_header_claims_do_not_allocate() -> None:
    """A 20-byte payload claiming a huge residual count, or real 4 MiB streams decoded to 1000 bytes."""
    claim = bytes([MODE_SPLIT, 0]) + write_varint(10**9) + SPLIT_VECTOR[3:]
    early, late = bytearray(4 << 20), bytearray(4 << 20)
    early[123] = late[-5] = 9
    payloads = [rans_zs_encode(bytes(early), 1), rans_zs_encode(bytes(late), 1)]
    tracemalloc.start()
    try:
        with pytest.raises(CodecError, match="above the limit"):
            rans_zs_decode(claim, 1000, 1)
        # the trailing zeros are free (their lanes stay at state 1): the early stream decodes to its prefix,
        # which only the container's digest can tell from the tensor; the late one stops its flag lanes
        # before the flag is decoded (states not back to 1) or finds no flag in its 125 flag bytes
        assert rans_zs_decode(payloads[0], 1000, 1) == bytes(early[:1000])
        with pytest.raises(CodecError, match="flag stream of rans-zs: .*initial state|flags mark 0 residual"):
            rans_zs_decode(payloads[1], 1000, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (1 << 20)


def test_decode_batch_equals_one_by_one() -> None:
    cases = [
        (CodecId.RANS_ZS, _levels(50_000, 0.8, 24, 1), 1),
        (CodecId.RANS, _levels(9_000, 0.7, 16, 2), 1),
        (CodecId.RANS_ZS, _levels(3_000, 0.9, 40, 3, width=2), 2),
        (CodecId.RANS_ZS, b"abc", 1),
        (CodecId.RANS_ZS, b"", 1),
        (CodecId.ZSTD, _levels(1000, 0.5, 3, 4), 1),
        (CodecId.RANS_ZS, bytes(700), 4),
    ]
    reqs = [(int(c), get_codec(c).encode(d, i), len(d), i) for c, d, i in cases]
    assert decode_batch(reqs) == [d for _, d, _ in cases]
    assert decode_batch([]) == []


def test_decode_batch_names_the_bad_payload() -> None:
    n = 70_000  # from 2^16 symbols on the writer always splits
    good = rans_zs_encode(_levels(n, 0.8, 10, 9), 1)
    assert good[0] == MODE_SPLIT
    bad = bytearray(good)
    bad[-3] ^= 0x40
    with pytest.raises(CodecError, match=r"^rans conv residual stream of rans-zs: "):
        decode_batch([(7, good, n, 1), (7, bytes(bad), n, 1)], ["fc", "conv"])
    with pytest.raises(CodecError, match=r"^conv: rans-zs mode 9"):
        decode_batch([(7, good, n, 1), (7, bytes([9]) + good[1:], n, 1)], ["fc", "conv"])
