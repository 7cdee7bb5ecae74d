"""rANS specifics: ratio to the order-0 bound, table normalisation and validation, lane rule, hardening."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.codecs._bits import write_varint
from formats.codecs.rans import MAX_STEPS, lane_count, rans_decode, rans_encode
from formats.codecs.rans_format import STATE_LOW, parse_stream
from formats.codecs.rans_table import FreqTable, choose_table, encode_table, normalize_counts
from formats.entropy import order0_entropy_bytes
from formats.errors import CodecError


def _sparse_levels(n: int, sparsity: float, levels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < sparsity, 0, rng.integers(1, levels + 1, n)).astype(np.uint8)


def test_ratio_to_order0_bound_on_sparse_16_level_stream() -> None:
    sym = _sparse_levels(256 * 1024, 0.8, 16, seed=5)
    payload = rans_encode(sym.tobytes(), 1)
    ratio = len(payload) / order0_entropy_bytes(sym)
    assert 1.0 < ratio <= 1.01
    assert rans_decode(payload, sym.size, 1) == sym.tobytes()


@pytest.mark.parametrize("n,sparsity,levels", [(65536, 0.8, 16), (65536, 0.7, 32), (300_000, 0.85, 24)])
def test_ratio_bound_other_shapes(n: int, sparsity: float, levels: int) -> None:
    sym = _sparse_levels(n, sparsity, levels, seed=n)
    assert len(rans_encode(sym.tobytes(), 1)) <= 1.01 * order0_entropy_bytes(sym)


def test_ratio_bound_16_bit_symbols() -> None:
    sym = _sparse_levels(200_000, 0.8, 20, seed=9).astype("<u2") * 300
    assert len(rans_encode(sym.tobytes(), 2)) <= 1.01 * order0_entropy_bytes(sym)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 10**6), min_size=1, max_size=300),
    precision=st.integers(1, 16),
)
def test_normalize_counts_properties(counts: list[int], precision: int) -> None:
    if len(counts) > 1 << precision:
        return
    freqs = normalize_counts(np.array(counts), precision)
    assert int(freqs.sum()) == 1 << precision
    assert (freqs >= 1).all()
    # a strictly larger count never gets a frequency smaller by more than one unit
    order = np.argsort(counts, kind="stable")
    assert (np.diff(freqs[order]) >= -1).all()


def test_normalize_counts_exact_values() -> None:
    assert normalize_counts(np.array([5, 3, 1, 1]), 3).tolist() == [4, 2, 1, 1]
    assert normalize_counts(np.array([1, 1, 1, 1]), 2).tolist() == [1, 1, 1, 1]
    assert normalize_counts(np.array([1000, 1]), 4).tolist() == [15, 1]


def test_choose_table_prefers_low_precision_for_small_streams() -> None:
    small = choose_table(np.arange(4), np.array([10, 3, 2, 1]))
    large = choose_table(np.arange(4), np.array([10**6, 3 * 10**5, 2 * 10**5, 10**5 + 7]))
    assert small.precision < large.precision


def test_lane_rule() -> None:
    assert lane_count(1, 0.0, 10) == 1
    assert lane_count(10**6, 200000.0, 20) == 376  # budget: (1250 - 20) / 3.25 = 378, whole groups
    assert lane_count(10**6, 1.0, 20) == 128  # floor: ceil(10^6 / 8192) = 123, whole groups
    assert lane_count(10**6, 1.0, 20) * MAX_STEPS >= 10**6
    assert lane_count(36864, 1.0, 20) == 32  # cap n / 32 = 1152 steps
    assert lane_count(5000, 1.0, 20) == 5  # short streams: at most 1024 steps, below one group as is
    assert lane_count(10**9, 1e9, 20) == 4096


def _payload(precision: int, lanes: int, table: FreqTable, states: list[int], words: bytes = b"") -> bytes:
    body = bytes([precision]) + write_varint(lanes) + encode_table(table)
    return body + b"".join(s.to_bytes(4, "little") for s in states) + words


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda p: bytes([0]) + p[1:], "precision"),
        (lambda p: bytes([17]) + p[1:], "precision"),
        (lambda p: p[:1] + bytes([0]) + p[2:], "lane count"),
        (lambda p: p[:1] + bytes([99]) + p[2:], "lane count"),
        (lambda p: p + b"\x00\x00", "unread words|return to the initial"),
        (lambda p: p + b"\x00", "odd"),
    ],
)
def test_header_validation(mutate, match: str) -> None:
    data = _sparse_levels(40, 0.5, 3, seed=1).tobytes()
    payload = rans_encode(data, 1)
    with pytest.raises(CodecError, match=match):
        rans_decode(mutate(payload), len(data), 1)


def test_state_below_low_bound() -> None:
    table = FreqTable(1, np.array([0, 1]), np.array([1, 1]))
    with pytest.raises(CodecError, match="below"):
        rans_decode(_payload(1, 1, table, [STATE_LOW - 1]), 10, 1)


def test_reading_past_the_words_is_codec_error() -> None:
    table = FreqTable(1, np.array([0, 1]), np.array([1, 1]))  # every symbol costs one bit
    with pytest.raises(CodecError, match="ends early"):
        rans_decode(_payload(1, 1, table, [STATE_LOW]), 100, 1)


def test_table_sum_must_equal_total() -> None:
    bad = FreqTable(3, np.array([0, 1]), np.array([5, 2]))  # sums to 7, not 8
    with pytest.raises(CodecError, match="sum"):
        rans_decode(_payload(3, 1, bad, [STATE_LOW]), 10, 1)


def test_table_symbols_must_fit_alphabet() -> None:
    payload = bytes([4]) + write_varint(1) + write_varint(1) + write_varint(250) + write_varint(9)
    with pytest.raises(CodecError, match="outside the alphabet"):
        rans_decode(payload + STATE_LOW.to_bytes(4, "little"), 10, 1)


def test_constant_stream_checks_state() -> None:
    table = FreqTable(1, np.array([7]), np.array([2]))
    assert rans_decode(_payload(1, 1, table, [STATE_LOW]), 5, 1) == bytes([7]) * 5
    with pytest.raises(CodecError):
        rans_decode(_payload(1, 1, table, [STATE_LOW + 1]), 5, 1)


def test_odd_length_for_two_byte_symbols() -> None:
    with pytest.raises(CodecError, match="multiple"):
        rans_decode(b"", 3, 2)
    with pytest.raises(CodecError, match="even"):
        rans_encode(b"abc", 2)


def test_lane_count_uses_many_lanes_on_long_streams() -> None:
    sym = _sparse_levels(1 << 20, 0.8, 16, seed=3)
    payload = rans_encode(sym.tobytes(), 1)
    lanes = parse_stream(payload, sym.size, 1).lanes
    assert lanes > 300 and lanes % 8 == 0
    assert rans_decode(payload, sym.size, 1) == sym.tobytes()
