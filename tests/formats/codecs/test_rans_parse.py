"""Parsing many rANS payloads at once (rans_format.parse_streams) agrees with parsing them one by one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.codecs import rans_table
from formats.codecs._bits import read_fields_at, write_varint
from formats.codecs.rans import encode_plan, plan_stream, rans_encode
from formats.codecs.rans_format import RansStream, parse_stream, parse_streams
from formats.codecs.rans_table import decode_table
from formats.errors import CodecError


def _levels(n: int, sparsity: float, levels: int, seed: int, width: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    sym = np.where(rng.random(n) < sparsity, 0, rng.integers(1, levels + 1, n))
    return sym.astype(np.uint8 if width == 1 else "<u2").tobytes()


def _fields(s: RansStream) -> tuple:
    return (
        s.n,
        s.width,
        s.table.precision,
        s.table.symbols.tolist(),
        s.table.freqs.tolist(),
        s.states.tolist(),
        s.lane_words.tolist(),
        s.words.tolist(),
    )


def _requests() -> list[tuple[bytes, int, int]]:
    datas = [
        (_levels(36_864, 0.8, 24, 1), 1),  # 72 lanes
        (b"", 1),
        (bytes([5]) * 300, 1),  # constant: one lane, no words
        (b"ab", 1),
        (_levels(5_000, 0.9, 300, 2, width=2), 2),  # 16-bit symbols
        (_levels(70_000, 0.7, 12, 3), 1),  # ratio-budget lanes
        (_levels(640, 0.5, 8, 4), 4),  # itemsize 4 coded byte by byte
    ]
    reqs = [(rans_encode(d, i), len(d), i) for d, i in datas]
    one_lane = _levels(3_000, 0.6, 9, 5)
    reqs.append((encode_plan(plan_stream(one_lane, 1), 1), len(one_lane), 1))
    return reqs


def test_parse_streams_equals_parse_stream_one_by_one() -> None:
    reqs = _requests()
    together = parse_streams(reqs, [f"t{i}" for i in range(len(reqs))])
    alone = [parse_stream(*r) for r in reqs]
    assert [_fields(s) for s in together] == [_fields(s) for s in alone]
    assert [_fields(s) for s in parse_streams(reqs[::-1])] == [_fields(s) for s in alone[::-1]]
    assert parse_streams([]) == []


def test_labels_must_match_requests() -> None:
    with pytest.raises(ValueError, match="one label per request"):
        parse_streams(_requests()[:2], ["only one"])


def _outcome(run) -> tuple[str, object]:
    try:
        return "ok", run()
    except CodecError as err:
        return "error", str(err)


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.sampled_from([0, 4, 5, 7]), cut=st.booleans())
def test_a_damaged_payload_in_a_batch_fails_as_it_does_alone(seed: int, which: int, cut: bool) -> None:
    """Bit flips or truncation anywhere in one payload: the batch raises the same error, named, or
    parses the same streams."""
    reqs = _requests()
    rng = np.random.default_rng(seed)
    buf = bytearray(reqs[which][0])
    if cut:
        del buf[int(rng.integers(0, len(buf))) :]
    else:
        for _ in range(int(rng.integers(1, 4))):
            buf[int(rng.integers(0, len(buf)))] ^= 1 << int(rng.integers(0, 8))
    reqs[which] = (bytes(buf), reqs[which][1], reqs[which][2])
    labels = [f"t{i}" for i in range(len(reqs))]
    kind, alone = _outcome(lambda: parse_stream(*reqs[which]))
    batch_kind, batch = _outcome(lambda: parse_streams(reqs, labels))
    assert batch_kind == kind
    if kind == "error":
        assert batch == f"rans t{which}: {alone}"
    else:
        assert _fields(batch[which]) == _fields(alone)


def test_prefix_errors_are_found_before_lane_field_errors() -> None:
    reqs = _requests()
    payload, n, itemsize = reqs[0]
    stream = parse_stream(payload, n, itemsize)
    # stream 0: words missing (found after the lane fields); stream 3: precision 0 (found in its prefix)
    reqs[0] = (payload[:-4], n, itemsize)
    reqs[3] = (bytes([0]) + reqs[3][0][1:], reqs[3][1], reqs[3][2])
    with pytest.raises(CodecError, match=r"^rans t3: rans precision 0"):
        parse_streams(reqs, [f"t{i}" for i in range(len(reqs))])
    with pytest.raises(CodecError, match=rf"^rans lanes own {stream.words.size} words"):
        parse_stream(*reqs[0])


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(0, 300))
def test_read_fields_at_reads_any_start(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    buf = rng.integers(0, 256, 64).astype(np.uint8).tobytes()
    widths = rng.integers(0, 64, count)
    starts = rng.integers(0, 8 * len(buf) - 63, count)
    value = int.from_bytes(buf, "little")
    expected = [(value >> int(a)) & ((1 << int(w)) - 1) for a, w in zip(starts, widths, strict=True)]
    assert read_fields_at(buf, starts, widths).tolist() == expected


@pytest.mark.parametrize(
    "runs,message",
    [
        ([(3, 0), (0, 1)], "runs touch"),  # a second run with gap 0
        ([(250, 9)], "symbol 259 is outside the alphabet of 256"),
        ([(1, 0), (300, 0)], "above the limit 256"),  # a gap over the alphabet
    ],
)
def test_run_list_errors_are_the_same_on_both_paths(runs: list[tuple[int, int]], message: str) -> None:
    wire = write_varint(len(runs)) + b"".join(write_varint(g) + write_varint(e) for g, e in runs) + bytes(8)
    seen = []
    for small in (0, 10**9):  # the vectorised run reader, then the Python one
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(rans_table, "SMALL_RUNS", small)
            with pytest.raises(CodecError, match=message) as caught:
                decode_table(wire, 0, 8, 256)
            seen.append(str(caught.value))
    assert seen[0] == seen[1]
