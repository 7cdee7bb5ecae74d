"""rANS writer rules (table, precision, lanes) and lanes at work: round trips at any lane count, batched decoding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.codecs import rans_table
from formats.codecs._bits import pack_bits, read_varint, write_varint
from formats.codecs.rans import (
    WRITER_MAX_PRECISION,
    decode_many,
    encode_plan,
    lane_count,
    plan_stream,
    rans_decode,
    rans_encode,
    step_cap,
)
from formats.codecs.rans_format import parse_stream
from formats.codecs.rans_table import (
    FreqTable,
    choose_table,
    decode_table,
    encode_table,
    normalize_counts,
    slot_starts,
)
from formats.entropy import order0_entropy_bytes
from formats.errors import CodecError


def _levels(n: int, sparsity: float, levels: int, seed: int, width: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    sym = np.where(rng.random(n) < sparsity, 0, rng.integers(1, levels + 1, n))
    return sym.astype(np.uint8 if width == 1 else "<u2").tobytes()


def _sparse_levels(n: int, sparsity: float, levels: int, seed: int) -> np.ndarray:
    return np.frombuffer(_levels(n, sparsity, levels, seed), np.uint8)


# --------------------------------------------------------------------------- writer rules


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
@given(counts=st.lists(st.integers(1, 10**6), min_size=1, max_size=300), precision=st.integers(1, 16))
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


def test_precision_rule() -> None:
    # P <= min(13, max(1, bit_length(N) - 4)), raised to the lowest precision that fits the symbols
    for n, distinct in [(3, 2), (40, 3), (40, 9), (1000, 30), (5000, 200), (10**6, 16), (10**6, 250)]:
        sym = np.arange(n) % distinct
        sym[: n // 2] = 0
        p = plan_stream(sym.astype(np.uint8).tobytes(), 1).table.precision
        lowest = max(1, (distinct - 1).bit_length())
        assert lowest <= p <= max(lowest, min(WRITER_MAX_PRECISION, max(1, n.bit_length() - 4)))
    for distinct, p in [(8193, 14), (16385, 15), (32769, 16)]:
        sym = np.arange(distinct + 100) % distinct
        assert plan_stream(sym.astype("<u2").tobytes(), 2).table.precision == p


def _documented_lanes(n: int, est: float, table_bytes: int) -> int:
    cap = 256 if n < 1 << 16 else min(4096, n // 32)
    budget = math.floor((est / 115 - table_bytes) / 2.0)
    floor = -(-n // (2 * cap))
    return max(1, min(n, 4096, max(budget, floor)))


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 10**8), est_per_symbol=st.floats(0.0, 2.0), table_bytes=st.integers(0, 600))
def test_lane_count_is_the_documented_formula(n: int, est_per_symbol: float, table_bytes: int) -> None:
    est = n * est_per_symbol
    assert lane_count(n, est, table_bytes) == _documented_lanes(n, est, table_bytes)


def test_lane_count_examples() -> None:
    assert [step_cap(n) for n in (1, 65535, 65536, 131071, 131072, 10**9)] == [256, 256, 2048, 4095, 4096, 4096]
    assert lane_count(1, 0.0, 10) == 1
    assert lane_count(10**6, 200000.0, 20) == 859  # budget: (200000/115 - 20) / 2 = 859.5
    assert lane_count(10**6, 1.0, 20) == 123  # floor: ceil(10^6 / (2 * 4096))
    assert lane_count(36864, 1.0, 20) == 72  # floor: ceil(36864 / (2 * 256))
    assert lane_count(5000, 1.0, 20) == 10  # floor: ceil(5000 / 512)
    assert lane_count(10**9, 1e9, 20) == 4096
    assert lane_count(3, 1e9, 0) == 3  # never more lanes than symbols


@pytest.mark.parametrize("n,sparsity,levels", [(1 << 20, 0.8, 16), (36_864, 0.8, 24), (5000, 0.5, 3)])
def test_writer_uses_the_lane_rule(n: int, sparsity: float, levels: int) -> None:
    raw = _sparse_levels(n, sparsity, levels, seed=3).tobytes()
    plan = plan_stream(raw, 1)
    payload = rans_encode(raw, 1)
    stream = parse_stream(payload, n, 1)
    assert stream.lanes == _documented_lanes(n, plan.est_bytes, len(plan.table_bytes))
    assert stream.steps == -(-n // (2 * stream.lanes)) <= step_cap(n)
    assert rans_decode(payload, n, 1) == raw


@settings(max_examples=100, deadline=None)
@given(freqs=st.lists(st.integers(1, 6), min_size=1, max_size=40), seed=st.integers(0, 2**16))
def test_slot_starts_by_decreasing_frequency_ties_to_the_lower_symbol(freqs: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    symbols = np.sort(rng.choice(1 << 16, len(freqs), replace=False))
    table = FreqTable(16, symbols, np.array(freqs))  # slot_starts does not need the sum to be 2^P
    starts = slot_starts(table).tolist()
    order = sorted(range(len(freqs)), key=lambda i: starts[i])
    assert [(-freqs[i], int(symbols[i])) for i in order] == sorted((-f, int(symbols[i])) for i, f in enumerate(freqs))
    assert starts[order[0]] == 0
    assert all(starts[b] == starts[a] + freqs[a] for a, b in zip(order, order[1:], strict=False))


@pytest.mark.parametrize("m", [2, 17, 63, 64, 65, 300, 5000])
@pytest.mark.parametrize("spread", [1, 3])
def test_decode_table_small_and_large_paths_agree(m: int, spread: int) -> None:
    rng = np.random.default_rng(m * spread)
    symbols = np.sort(rng.choice(65536 // spread, m, replace=False)) * spread
    p = max(1, (m - 1).bit_length()) + 2
    table = FreqTable(p, symbols, normalize_counts(rng.integers(1, 1000, m), p))
    wire = bytes([7]) + encode_table(table) + b"\xaa"
    end = len(wire) - 1
    damaged = [wire[: end - 1], bytes([7]) + encode_table(FreqTable(p, symbols, table.freqs + (np.arange(m) == 0)))]
    nbits = 4 * m + sum(int(f).bit_length() - 1 for f in table.freqs)
    if nbits % 8:  # a padding bit set
        damaged.append(wire[: end - 1] + bytes([wire[end - 1] | 0x80]) + wire[end:])
    outcomes = []
    for small in (0, 10**9):  # every table through the vectorised readers, then through the Python ones
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(rans_table, "SMALL_TABLE", small)
            if hasattr(rans_table, "SMALL_RUNS"):
                mp.setattr(rans_table, "SMALL_RUNS", small)
            got, at = decode_table(wire, 1, p, 65536)
            assert (got.symbols.tolist(), got.freqs.tolist(), at) == (symbols.tolist(), table.freqs.tolist(), end)
            for bad in damaged:
                with pytest.raises(CodecError) as caught:
                    decode_table(bad, 1, p, 65536)
                outcomes.append(str(caught.value))
    assert outcomes[: len(damaged)] == outcomes[len(damaged) :]
    assert decode_table(wire, 1, p, 65536)[0].freqs.tolist() == table.freqs.tolist()


def test_odd_length_for_two_byte_symbols() -> None:
    with pytest.raises(CodecError, match="multiple"):
        rans_decode(b"", 3, 2)
    with pytest.raises(CodecError, match="even"):
        rans_encode(b"abc", 2)


# --------------------------------------------------------------------------- lanes at work



def _case_set() -> list[tuple[bytes, int]]:
    return [
        (_levels(200_000, 0.8, 16, 1), 1),  # hundreds of lanes (ratio budget)
        (_levels(36_864, 0.8, 24, 2), 1),  # 72 lanes (step cap 256)
        (_levels(2_304, 0.7, 20, 3), 1),  # a few lanes
        (b"", 1),
        (bytes([9]) * 700, 1),  # constant stream
        (_levels(5_000, 0.9, 40, 4, width=2), 2),
        (_levels(640, 0.5, 8, 5), 4),  # itemsize 4 is coded byte by byte
        (b"ab", 1),
    ]


def test_decode_many_equals_one_by_one() -> None:
    cases = _case_set()
    payloads = [rans_encode(d, i) for d, i in cases]
    sizes = [len(d) for d, _ in cases]
    items = [i for _, i in cases]
    one = [rans_decode(p, n, i) for p, n, i in zip(payloads, sizes, items, strict=True)]
    assert one == [d for d, _ in cases]
    assert decode_many(payloads, sizes, items) == one
    assert decode_many(payloads[::-1], sizes[::-1], items[::-1]) == one[::-1]
    assert decode_many([], [], []) == []


def test_stream_layout() -> None:
    n = 36_865  # one lane longer than the others
    data = _levels(n, 0.8, 24, 2)
    stream = parse_stream(rans_encode(data, 1), n, 1)
    assert stream.lanes == -(-n // (2 * 256))  # the short-stream step cap decides
    assert int(stream.lane_words.sum()) == stream.words.size
    assert stream.steps == -(-n // (2 * stream.lanes))
    assert stream.states.dtype == np.uint64 and int(stream.states.min()) >= 1


def _with_runs(n: int, lanes: int, seed: int, width: int, run_rows: int) -> bytes:
    """Random symbols (up to 40000 distinct for 2 bytes), then the most frequent one in the first and last
    ``run_rows`` symbols of every lane."""
    rng = np.random.default_rng(seed)
    top = 40_000 if width == 2 else 256
    skew = rng.integers(1, top, n) * (rng.random(n) < rng.uniform(0.05, 1.0))
    sym = skew.astype(np.uint16 if width == 2 else np.uint8)
    common = int(np.bincount(sym).argmax())
    if run_rows:
        sym[: run_rows * lanes] = common
        sym[max(0, n - run_rows * lanes) :] = common
    return sym.astype("<u2" if width == 2 else np.uint8).tobytes()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 20_000),
    lanes=st.integers(1, 600),
    width=st.sampled_from([1, 2]),
    run_rows=st.sampled_from([0, 1, 2, 3, 40]),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_at_any_lane_count(n: int, lanes: int, width: int, run_rows: int, seed: int) -> None:
    data = _with_runs(n, lanes, seed, width, run_rows)
    payload = encode_plan(plan_stream(data, width), lanes)
    stream = parse_stream(payload, len(data), width)
    assert stream.lanes == (1 if stream.table.symbols.size == 1 else min(n, lanes))
    assert rans_decode(payload, len(data), width) == data
    if stream.table.symbols.size > 1:  # the writer's field widths: the smallest that fit
        assert int(stream.lane_words.min()) == read_varint(payload, _fields_at(payload, stream), "cmin", 1 << 40)[0]


def _fields_at(payload: bytes, stream) -> int:
    return 1 + len(write_varint(stream.lanes)) + len(encode_table(stream.table))


@pytest.mark.parametrize(
    "n,lanes",
    [
        (7, 7), (8, 7), (14, 7), (15, 7), (21, 7), (22, 7),  # lanes of 1, 2, 3 symbols, odd and even mixed
        (600, 600), (1199, 600), (1200, 600), (1201, 600), (2999, 600),
        (20_000, 599), (6_000, 1), (5_999, 1), (20_000, 3),
    ],
)
@pytest.mark.parametrize("width", [1, 2])
def test_odd_and_even_lane_lengths(n: int, lanes: int, width: int) -> None:
    for run_rows in (0, 1, 2):
        data = _with_runs(n, lanes, n + lanes + run_rows, width, run_rows)
        payload = encode_plan(plan_stream(data, width), lanes)
        assert rans_decode(payload, len(data), width) == data
        assert decode_many([payload, payload], [len(data)] * 2, [width] * 2) == [data, data]


@pytest.mark.parametrize("distinct,precision", [(8193, 14), (16385, 15), (20_000, 15), (32769, 16), (40_000, 16)])
def test_wide_alphabets_reach_precision_16(distinct: int, precision: int) -> None:
    rng = np.random.default_rng(distinct)
    sym = np.concatenate((np.arange(distinct), rng.integers(0, distinct, 3000), np.zeros(5000, np.int64)))
    data = rng.permutation(sym).astype("<u2").tobytes()
    plan = plan_stream(data, 2)
    assert plan.table.precision == precision
    for lanes in (1, 37, 600):
        payload = encode_plan(plan, lanes)
        assert rans_decode(payload, len(data), 2) == data
    assert decode_many([payload, rans_encode(data[:4000], 2)], [len(data), 4000], [2, 2]) == [data, data[:4000]]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(
        st.tuples(
            st.integers(0, 30_000),  # symbols
            st.floats(0.0, 0.98),  # sparsity
            st.integers(1, 300),  # levels
            st.sampled_from([1, 2]),  # width
            st.one_of(st.none(), st.integers(1, 600)),  # lanes: the writer's rule, or forced
        ),
        min_size=1,
        max_size=7,
    ),
    seed=st.integers(0, 2**31),
)
def test_decode_many_on_mixed_batches(specs: list[tuple[int, float, int, int, int | None]], seed: int) -> None:
    datas, payloads = [], []
    for k, (n, sparsity, levels, width, lanes) in enumerate(specs):
        data = _levels(n, sparsity, levels if width == 2 else min(levels, 255), seed + k, width)
        plan = plan_stream(data, width)
        datas.append(data)
        payloads.append(rans_encode(data, width) if lanes is None else encode_plan(plan, lanes))
    widths = [s[3] for s in specs]
    sizes = [len(d) for d in datas]
    assert decode_many(payloads, sizes, widths) == datas
    assert [rans_decode(p, s, w) for p, s, w in zip(payloads, sizes, widths, strict=True)] == datas


def test_streams_of_very_different_lengths_share_a_batch() -> None:
    # one long stream with few lanes and many short ones: they decode in separate bands, same bytes
    long = _levels(60_000, 0.8, 16, 1)
    short = [_levels(n, 0.6, 5, n) for n in (1, 2, 3, 50, 999)]
    payloads = [encode_plan(plan_stream(long, 1), 2)] + [rans_encode(s, 1) for s in short]
    datas = [long, *short]
    assert decode_many(payloads, [len(d) for d in datas], [1] * len(datas)) == datas


def test_bad_stream_is_named() -> None:
    good = rans_encode(_levels(3000, 0.8, 10, 7), 1)
    bad = bytes([0]) + good[1:]  # precision 0
    with pytest.raises(CodecError, match=r"^rans stream 1: rans precision 0"):
        decode_many([good, bad, good], [3000] * 3, [1] * 3)
    # a defect found only by decoding (a word changed) is named too
    body = bytearray(good)
    body[-3] ^= 0x40
    with pytest.raises(CodecError, match=r"^rans stream 2: "):
        decode_many([good, good, bytes(body)], [3000] * 3, [1] * 3)


def test_length_mismatch_is_value_error() -> None:
    with pytest.raises(ValueError, match="one out_size and itemsize per payload"):
        decode_many([b""], [0, 0], [1])


def _recount(payload: bytes, n: int, change) -> bytes:
    """The payload with its word counts replaced by ``change(counts)`` (same words, same states)."""
    stream = parse_stream(payload, n, 1)
    counts = change(stream.lane_words.copy())
    k = stream.lanes
    exps = np.array([int(s).bit_length() - 1 for s in stream.states.tolist()])
    cmin = int(counts.min())
    cbits = int(counts.max() - cmin).bit_length()
    emin = int(exps.min())
    ebits = int(exps.max() - emin).bit_length()
    mantissas = stream.states - (np.uint64(1) << exps.astype(np.uint64))
    values = np.concatenate(((counts - cmin).astype(np.uint64), (exps - emin).astype(np.uint64), mantissas))
    widths = np.concatenate((np.full(k, cbits), np.full(k, ebits), exps))
    head = payload[: _fields_at(payload, stream)] + write_varint(cmin) + bytes([cbits, emin, ebits])
    return head + pack_bits(values, widths) + stream.words.astype("<u4").tobytes()


def test_words_moved_between_lanes_are_rejected() -> None:
    n = 36_864
    payload = rans_encode(_levels(n, 0.8, 24, 2), 1)
    assert _recount(payload, n, lambda c: c) == payload
    assert rans_decode(_recount(payload, n, lambda c: c), n, 1) == _levels(n, 0.8, 24, 2)

    def move(src: int, dst: int):
        def change(c: np.ndarray) -> np.ndarray:
            c[src] -= 1
            c[dst] += 1
            return c

        return change

    for src, dst in ((0, 1), (1, 0), (5, 35), (35, 0)):
        with pytest.raises(CodecError, match="unread words|initial state"):
            rans_decode(_recount(payload, n, move(src, dst)), n, 1)


def test_counts_beyond_the_words_are_rejected() -> None:
    n = 36_864
    payload = rans_encode(_levels(n, 0.8, 24, 2), 1)

    def more(c: np.ndarray) -> np.ndarray:
        c[3] += 1
        return c

    with pytest.raises(CodecError, match=r"but \d+ bytes follow"):
        rans_decode(_recount(payload, n, more), n, 1)
    with pytest.raises(CodecError, match=r"but \d+ bytes follow"):
        rans_decode(_recount(payload, n, lambda c: c + 1000), n, 1)


def test_batched_mutants_raise_codec_error_or_decode_exact_size() -> None:
    rng = np.random.default_rng(11)
    clean = [_levels(20_000, 0.8, 16, 8), _levels(3_000, 0.6, 12, 9)]
    payloads = [rans_encode(d, 1) for d in clean]
    errors = 0
    for _ in range(150):
        which = int(rng.integers(0, 2))
        buf = bytearray(payloads[which])
        i = int(rng.integers(0, len(buf)))
        buf[i] ^= 1 << int(rng.integers(0, 8))
        batch = list(payloads)
        batch[which] = bytes(buf)
        try:
            out = decode_many(batch, [len(d) for d in clean], [1, 1])
        except CodecError as err:
            assert str(err).startswith(f"rans stream {which}: ")
            errors += 1
        else:
            # the end checks catch most damage, not all (the container digest does); the other stream of
            # the batch is never affected
            assert [len(o) for o in out] == [len(d) for d in clean]
            assert out[1 - which] == clean[1 - which]
    assert errors > 100
