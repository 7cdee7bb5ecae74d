"""The batched step loop (formats/codecs/rans_band.py): streams of any lengths decode together, and
moving to a shorter prefix of lanes when streams end changes no byte and no error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.codecs import rans_band
from formats.codecs.rans import encode_plan, plan_stream, rans_encode
from formats.codecs.rans_band import run_band
from formats.codecs.rans_decode import decode_many, rans_decode
from formats.codecs.rans_format import parse_stream
from formats.errors import CodecError


def _levels(n: int, sparsity: float, levels: int, seed: int, width: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    sym = np.where(rng.random(n) < sparsity, 0, rng.integers(1, levels + 1, n))
    return sym.astype(np.uint8 if width == 1 else "<u2").tobytes()


def _mixed() -> tuple[list[bytes], list[int], list[int], list[bytes]]:
    """Streams whose step counts differ widely (and lanes of odd lengths): payloads, sizes, itemsizes, data."""
    cases = [
        (_levels(60_001, 0.8, 16, 1), 1, 7),  # few lanes, many steps
        (_levels(25_003, 0.7, 20, 2), 1, 49),
        (_levels(4_999, 0.9, 300, 3, width=2), 2, 10),
        (_levels(501, 0.5, 6, 4), 1, 1),
        (_levels(30, 0.5, 3, 5), 1, 4),  # a handful of steps
        (_levels(25_003, 0.6, 9, 6), 1, 49),  # the same steps as the second
    ]
    payloads = [encode_plan(plan_stream(d, w), k) for d, w, k in cases]
    return payloads, [len(d) for d, _, _ in cases], [w for _, w, _ in cases], [d for d, _, _ in cases]


@pytest.mark.parametrize("shrink_ns", [0, rans_band.SHRINK_NS, 10**15])  # always, by cost, never
def test_mixed_lengths_decode_as_one_by_one(shrink_ns: int) -> None:
    payloads, sizes, items, datas = _mixed()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rans_band, "SHRINK_NS", shrink_ns)
        assert decode_many(payloads, sizes, items) == datas
        assert decode_many(payloads[::-1], sizes[::-1], items[::-1]) == datas[::-1]
    assert [rans_decode(p, n, i) for p, n, i in zip(payloads, sizes, items, strict=True)] == datas


def test_shrink_plan_follows_the_cost_rule() -> None:
    payloads, sizes, items, _ = _mixed()
    streams = sorted((parse_stream(*r) for r in zip(payloads, sizes, items, strict=True)), key=lambda s: -s.steps)
    steps = [s.steps for s in streams]
    lane0 = np.concatenate(([0], np.cumsum([s.lanes for s in streams])))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rans_band, "SHRINK_NS", 0)
        mp.setattr(rans_band, "SHRINK_VIEW_NS", 0)
        every = rans_band._shrink_plan(streams, lane0, 16)
    # one shrink per distinct step count below the longest, each keeping the streams that run on
    distinct = sorted(set(steps[1:]) - {steps[0]})
    assert [p.step for p in every] == distinct
    for p in every:
        assert p.streams == sum(1 for t in steps if t > p.step) and p.lanes == lane0[p.streams]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rans_band, "SHRINK_NS", 10**15)
        assert rans_band._shrink_plan(streams, lane0, 16) == []
    for p in rans_band._shrink_plan(streams, lane0, 16):  # the default plan is a subset of every shrink
        assert p.step in distinct


@pytest.mark.parametrize("shrink_ns", [0, 10**15])
def test_damage_in_a_stream_that_ends_early_is_still_found(shrink_ns: int) -> None:
    payloads, sizes, items, _ = _mixed()
    clean = payloads[3]  # 501 symbols: ends long before the first stream
    found = 0
    for at in range(len(clean) - 40, len(clean)):  # bit flips in the words, each caught by the end checks
        body = bytearray(clean)
        body[at] ^= 0x10
        try:
            rans_decode(bytes(body), sizes[3], 1)
        except CodecError as err:
            payloads[3] = bytes(body)
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(rans_band, "SHRINK_NS", shrink_ns)
                with pytest.raises(CodecError) as caught:
                    decode_many(payloads, sizes, items)
            assert str(caught.value) == "rans stream 3: " + str(err).removeprefix("rans ")
            found += 1
    assert found > 20


def test_run_band_wants_the_longest_stream_first() -> None:
    short, long = (parse_stream(rans_encode(_levels(n, 0.8, 9, n), 1), n, 1) for n in (3_000, 300_000))
    assert short.steps < long.steps
    with pytest.raises(ValueError, match="decreasing steps"):
        run_band([short, long], None)
    decoded = [s.tobytes() for s in run_band([long, short], None)]
    assert decoded == [_levels(300_000, 0.8, 9, 300_000), _levels(3_000, 0.8, 9, 3_000)]
    assert run_band([], None) == []


@settings(max_examples=25, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 6_000), min_size=1, max_size=6),
    lanes=st.lists(st.integers(1, 40), min_size=6, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_any_mix_of_lengths_and_lanes(sizes: list[int], lanes: list[int], seed: int) -> None:
    datas = [_levels(n, 0.75, 12, seed + i) for i, n in enumerate(sizes)]
    payloads = [encode_plan(plan_stream(d, 1), k) for d, k in zip(datas, lanes, strict=False)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rans_band, "SHRINK_NS", 0)  # shrink at every stream end
        assert decode_many(payloads, [len(d) for d in datas], [1] * len(datas)) == datas
