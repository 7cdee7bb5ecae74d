"""Batched rANS decoding (decode_many) and lane groups: same bytes as one by one, errors name the stream."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.codecs._bits import read_varint, write_varint
from formats.codecs.rans import decode_many, rans_decode, rans_encode
from formats.codecs.rans_format import LANE_GROUP, parse_stream
from formats.codecs.rans_table import encode_table
from formats.errors import CodecError


def _levels(n: int, sparsity: float, levels: int, seed: int, width: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    sym = np.where(rng.random(n) < sparsity, 0, rng.integers(1, levels + 1, n))
    return sym.astype(np.uint8 if width == 1 else "<u2").tobytes()


def _case_set() -> list[tuple[bytes, int]]:
    return [
        (_levels(200_000, 0.8, 16, 1), 1),  # many groups, ratio-bound lane count
        (_levels(36_864, 0.8, 24, 2), 1),  # 32 lanes, 4 groups
        (_levels(2_304, 0.7, 20, 3), 1),  # a few lanes, one partial group
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
    assert decode_many([], [], []) == []


def test_multi_group_stream_layout() -> None:
    data = _levels(36_864, 0.8, 24, 2)
    stream = parse_stream(rans_encode(data, 1), len(data), 1)
    assert stream.lanes == 32 and stream.group_words.size == 32 // LANE_GROUP
    assert int(stream.group_words.sum()) == stream.words.size
    assert stream.steps == 36_864 // 32


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(
        st.tuples(st.integers(0, 30_000), st.floats(0.0, 0.98), st.integers(1, 30), st.sampled_from([1, 2])),
        min_size=1,
        max_size=6,
    ),
    seed=st.integers(0, 2**31),
)
def test_decode_many_round_trip(specs: list[tuple[int, float, int, int]], seed: int) -> None:
    datas = [_levels(n, sp, lv, seed + k, w) for k, (n, sp, lv, w) in enumerate(specs)]
    items = [w for *_, w in specs]
    payloads = [rans_encode(d, i) for d, i in zip(datas, items, strict=True)]
    assert decode_many(payloads, [len(d) for d in datas], items) == datas


def test_bad_stream_is_named() -> None:
    good = rans_encode(_levels(3000, 0.8, 10, 7), 1)
    bad = bytes([0]) + good[1:]  # precision 0
    with pytest.raises(CodecError, match=r"^rans stream 1: rans precision 0"):
        decode_many([good, bad, good], [3000] * 3, [1] * 3)
    # a defect found only by decoding (a state changed) is named too
    body = bytearray(good)
    body[-3] ^= 0x40
    with pytest.raises(CodecError, match=r"^rans stream 2: "):
        decode_many([good, good, bytes(body)], [3000] * 3, [1] * 3)


def test_length_mismatch_is_value_error() -> None:
    with pytest.raises(ValueError, match="one out_size and itemsize per payload"):
        decode_many([b""], [0, 0], [1])


def _group_count_field(payload: bytes, n: int) -> tuple[int, int, int]:
    """(start, end, value) of the first group word count: it follows precision, lane count and table."""
    stream = parse_stream(payload, n, 1)
    start = 1 + len(write_varint(stream.lanes)) + len(encode_table(stream.table))
    value, end = read_varint(payload, start, "group count", 1 << 30)
    assert value == int(stream.group_words[0])
    return start, end, value


def test_words_moved_between_groups_are_rejected() -> None:
    n = 36_864
    payload = rans_encode(_levels(n, 0.8, 24, 2), 1)
    start, end, value = _group_count_field(payload, n)
    for delta in (1, -1):
        moved = payload[:start] + write_varint(value + delta) + payload[end:]
        with pytest.raises(CodecError, match="ends early|unread words|initial state"):
            rans_decode(moved, n, 1)


def test_group_counts_beyond_the_words_are_rejected() -> None:
    n = 36_864
    payload = rans_encode(_levels(n, 0.8, 24, 2), 1)
    start, end, _ = _group_count_field(payload, n)
    huge = payload[:start] + write_varint(len(payload)) + payload[end:]
    with pytest.raises(CodecError, match="add up to more than"):
        rans_decode(huge, n, 1)


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
            # rANS can resynchronise after a damaged word (the container checksum catches that);
            # the other stream of the batch is never affected
            assert [len(o) for o in out] == [len(d) for d in clean]
            assert out[1 - which] == clean[1 - which]
    assert errors > 100
