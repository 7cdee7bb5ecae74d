"""Codec 8 (rans-ctx): the worked example, round trips, writer choices, every rejection rule, batched decode."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.codecs import encode_best, get_codec
from formats.codecs._bits import write_varint
from formats.codecs.rans_ctx import (
    CTX_MIN_SYMBOLS,
    choose_binary,
    choose_group,
    decode_many,
    encode_context,
    plan_context,
    rans_ctx_decode,
    rans_ctx_encode,
)
from formats.codecs.rans_ctx_format import MODE_CONTEXT, MODE_PLAIN, parse_ctx
from formats.codecs.rans_ctx_groups import join_groups, rank_masks, split_groups
from formats.codecs.rans_ctx_lanes import PhaseTokens, encode_lanes
from formats.errors import CodecError
from formats.ids import CodecId

SPEC = Path(__file__).resolve().parents[3] / "spec"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# spec/CODECS.md 6.8: two 3x3 kernels around m = 4, g = 9, one lane, no words
EXAMPLE_SYMBOLS = bytes([4, 4, 4, 4, 6, 4, 4, 4, 3] + [4] * 9)
HEAD, COUNTS, MAGS, SIGNS, LANE = "01 09 04 01", "01 02 00 00 01 00 00", "01 01 01 01 00", "03 01 02 01 02", (
    "00 00 0a 00 35 03"
)
EXAMPLE = bytes.fromhex(f"{HEAD} {COUNTS} {MAGS} {SIGNS} {LANE}")


def _example(head: str = HEAD, counts: str = COUNTS, mags: str = MAGS, signs: str = SIGNS, lane: str = LANE) -> bytes:
    return bytes.fromhex(f"{head} {counts} {mags} {signs} {lane}")


def _reference() -> ModuleType:
    """spec/reference_decoder.py, loaded by path (spec/ is no package)."""
    key = "spec_reference_decoder"
    if key not in sys.modules:
        found = importlib.util.spec_from_file_location(key, SPEC / "reference_decoder.py")
        assert found is not None and found.loader is not None
        sys.modules[key] = importlib.util.module_from_spec(found)
        found.loader.exec_module(sys.modules[key])
    return sys.modules[key]


def _kernels(o: int, i: int, seed: int, keep: float = 0.4, dense: float = 0.6, levels: int = 7, zero: int = 8) -> bytes:
    """A pruned conv weight (o, i, 3, 3) of symbols: whole kernels empty, the others partly non-zero."""
    rng = np.random.default_rng(seed)
    alive = np.repeat(rng.random(o * i) < keep, 9)
    nonzero = alive & (rng.random(o * i * 9) < dense)
    values = zero + rng.integers(1, levels + 1, o * i * 9) * rng.choice([-1, 1], o * i * 9)
    return np.where(nonzero, values, zero).astype(np.uint8).tobytes()


def _roundtrip(data: bytes, itemsize: int) -> bytes:
    payload = rans_ctx_encode(data, itemsize)
    assert rans_ctx_decode(payload, len(data), itemsize) == data
    assert decode_many([(payload, len(data), itemsize)]) == [data]
    return payload


# --------------------------------------------------------------------------- wire vectors


def test_worked_example_decodes() -> None:
    assert rans_ctx_decode(EXAMPLE, 18, 1) == EXAMPLE_SYMBOLS
    assert _reference()._rans_ctx_decode(EXAMPLE, 18, 1) == EXAMPLE_SYMBOLS


def test_worked_example_is_what_the_writer_codes_with_g_9_and_one_lane() -> None:
    sym = np.frombuffer(EXAMPLE_SYMBOLS, np.uint8)
    plan = plan_context(sym, 4, 9, 1)
    assert plan.tokens.counts.tolist() == [2, 0] and plan.tokens.ranks.tolist() == [32]
    assert plan.tokens.magnitudes.tolist() == [2, 1] and plan.tokens.signs.tolist() == [1, 1]
    assert plan.pattern_slack == 3
    assert encode_context(plan, 1) == EXAMPLE
    # the writer itself codes a stream this short plain (N < 64): mode 0 and codec 6's "aab"-style payload
    assert rans_ctx_encode(EXAMPLE_SYMBOLS, 1)[0] == MODE_PLAIN


def test_plain_vector() -> None:
    assert rans_ctx_encode(b"aab", 1).hex() == "000101016101000000030004"
    assert rans_ctx_decode(bytes.fromhex("000101016101000000030004"), 3, 1) == b"aab"


def test_empty_and_constant_streams() -> None:
    assert rans_ctx_encode(b"", 1) == b"" and rans_ctx_decode(b"", 0, 1) == b""
    payload = _roundtrip(bytes([7]) * 5000, 1)
    assert payload[0] == MODE_PLAIN and len(payload) < 16


def test_rank_order_is_colex() -> None:
    masks, start = rank_masks(16)
    for g in (1, 2, 5, 9, 16):
        for c in range(1, g):
            block = masks[start[c] : start[c] + _comb(g, c)]
            assert (np.diff(block.astype(np.int64)) > 0).all() and int(block.max()) < 1 << g
            ranks = [sum(_comb(p, k + 1) for k, p in enumerate(_bits(int(v)))) for v in block[:50]]
            assert ranks == list(range(len(ranks)))


def _comb(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _bits(value: int) -> list[int]:
    return [p for p in range(16) if value >> p & 1]


# --------------------------------------------------------------------------- round trips and writer choices


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, int]:
    itemsize = draw(st.sampled_from([1, 2, 4]))
    n = draw(st.integers(0, 4000))
    levels = draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = 65535 if itemsize == 2 else 255
    zero = draw(st.integers(0, top))
    kernel = draw(st.sampled_from([1, 3, 9, 16, 25]))
    alive = np.repeat(rng.random(-(-n // kernel)) < draw(st.floats(0.0, 1.0)), kernel)[:n]
    nonzero = alive & (rng.random(n) < draw(st.floats(0.0, 1.0)))
    values = zero + rng.integers(-levels, levels + 1, n)
    sym = np.where(nonzero, np.clip(values, 0, top), zero)
    return sym.astype(np.uint8 if itemsize != 2 else "<u2").tobytes(), itemsize


@FAST
@given(case=streams())
def test_round_trip_random_and_sparse(case: tuple[bytes, int]) -> None:
    data, itemsize = case
    _roundtrip(data, itemsize)


@FAST
@given(data=st.binary(max_size=3000), itemsize=st.sampled_from([1, 2]))
def test_round_trip_random_bytes(data: bytes, itemsize: int) -> None:
    if itemsize == 2:
        data = data[: len(data) // 2 * 2]
    _roundtrip(data, itemsize)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 700),
    g=st.integers(1, 16),
    lanes=st.integers(1, 400),
    width=st.sampled_from([1, 2]),
    seed=st.integers(0, 2**32 - 1),
)
def test_context_mode_every_group_length_and_lane_count(n: int, g: int, lanes: int, width: int, seed: int) -> None:
    """Context mode with forced g and K (the writer might pick plain): formats and the reference agree."""
    g = min(g, n)
    rng = np.random.default_rng(seed)
    top = 65535 if width == 2 else 255
    m = int(rng.integers(0, top + 1))
    sym = np.where(rng.random(n) < rng.random(), m, rng.integers(0, top + 1, n)).astype(
        np.uint8 if width == 1 else "<u2"
    )
    plan = plan_context(sym, m, g, width)
    payload = encode_context(plan, lanes)
    assert payload[0] == MODE_CONTEXT
    data = sym.tobytes()
    assert rans_ctx_decode(payload, len(data), width) == data
    assert _reference()._rans_ctx_decode(payload, len(data), width) == data


def test_kernel_streams_use_context_mode_and_beat_codec_6() -> None:
    data = _kernels(64, 32, 1)
    payload = _roundtrip(data, 1)
    assert payload[0] == MODE_CONTEXT and payload[1] == 9
    assert len(payload) < 0.9 * len(get_codec(CodecId.RANS).encode(data, 1))
    header = parse_ctx(payload, len(data), 1)
    assert header.lanes > 1 and header.words.size > 0
    assert encode_best(data, 1)[0] == CodecId.RANS_CTX


def test_short_last_group_and_sixteen_bit_symbols() -> None:
    sym = np.frombuffer(_kernels(30, 20, 2), np.uint8)[:5399].astype(np.int64) * 300
    data = sym.astype("<u2").tobytes()
    payload = _roundtrip(data, 2)
    assert payload[0] == MODE_CONTEXT and sym.size % payload[1]
    assert _reference()._rans_ctx_decode(payload, len(data), 2) == data


def test_writer_choices() -> None:
    data = _kernels(16, 16, 3)
    sym = np.frombuffer(data, np.uint8)
    assert choose_group(sym, 8) == 9
    assert rans_ctx_encode(data[: CTX_MIN_SYMBOLS - 1], 1)[0] == MODE_PLAIN
    # the zero symbol is the most frequent, ties to the lowest value
    tie = bytes([3, 9] * 200)
    assert rans_ctx_encode(tie, 1) == rans_ctx_encode(tie, 1)
    plan = plan_context(np.frombuffer(tie, np.uint8), 3, 2, 1)
    assert plan.tokens.counts.tolist() == [1] * 200
    assert choose_binary(0, 5).freqs.tolist() == [2] and choose_binary(5, 0).symbols.tolist() == [0]
    assert choose_binary(30, 10).precision >= 1


def test_deterministic() -> None:
    data = _kernels(32, 32, 4)
    assert rans_ctx_encode(data, 1) == rans_ctx_encode(bytes(bytearray(data)), 1)
    assert get_codec(CodecId.RANS_CTX).encode(data, 1) == rans_ctx_encode(data, 1)


def test_groups_split_and_join_are_inverse() -> None:
    rng = np.random.default_rng(5)
    for g in range(1, 17):
        sym = np.where(rng.random(1000) < 0.7, 40, rng.integers(0, 256, 1000)).astype(np.uint8)
        t = split_groups(sym, 40, g)
        back = join_groups(sym.size, g, 40, 1, t.counts, t.ranks, t.magnitudes, t.signs)
        assert (back == sym).all()


def test_lane_encoder_handles_single_symbol_tables() -> None:
    """F = 2^(P + P') for two one-symbol tokens: the emission test must not overflow."""
    one = np.full(6, 2, dtype=np.uint64)
    phase = PhaseTokens(one, np.zeros(6, np.uint64), np.ones(6, np.uint64))
    states, counts, words = encode_lanes([phase, phase], 3)
    assert states.tolist() == [1, 1, 1] and counts.tolist() == [0, 0, 0] and words == b""


# --------------------------------------------------------------------------- batched decoding


def test_batched_decode_equals_single_decodes() -> None:
    cases = [
        (_kernels(64, 16, 10), 1),
        (_kernels(8, 8, 11), 1),
        (b"", 1),
        (bytes([5]) * 300, 1),
        (bytes(range(256)) * 3, 1),
        ((np.frombuffer(_kernels(16, 16, 12), np.uint8).astype(np.int64) * 257).astype("<u2").tobytes(), 2),
        (EXAMPLE_SYMBOLS, 1),
        (b"aab", 1),
    ]
    payloads = [rans_ctx_encode(d, i) for d, i in cases]
    payloads[6] = EXAMPLE
    assert {p[0] for p in payloads if p} == {MODE_PLAIN, MODE_CONTEXT}
    requests = [(p, len(d), i) for p, (d, i) in zip(payloads, cases, strict=True)]
    single = [rans_ctx_decode(*r) for r in requests]
    assert single == [d for d, _ in cases]
    assert decode_many(requests) == single
    assert decode_many(requests[::-1]) == single[::-1]


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_batched_decode_in_small_join_chunks_is_the_same(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import formats.codecs.rans_ctx_groups as groups

    cases = [(_kernels(64, 16, 10), 1), (_kernels(8, 8, 11), 1), (bytes(range(256)) * 3, 1),
             ((np.frombuffer(_kernels(16, 16, 12), np.uint8).astype(np.int64) * 257).astype("<u2").tobytes(), 2)]
    requests = [(rans_ctx_encode(d, i), len(d), i) for d, i in cases]
    monkeypatch.setattr(groups, "JOIN_CHUNK", chunk)
    assert decode_many(requests) == [d for d, _ in cases]


@pytest.mark.parametrize("steps,chunk_bytes", [(1, 1 << 20), (3, 1 << 20), (32, 64)])
def test_batched_decode_with_any_chunking_is_the_same(steps: int, chunk_bytes: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Payloads whose phases end at different chunk boundaries (so cohorts form and payloads leave them at
    different times), with phases of no tokens, decode the same whatever the chunk length."""
    import formats.codecs.rans_ctx_lanes as lanes

    cases = [(_kernels(64, 16, 20), 1), (_kernels(4, 4, 21, keep=0.1), 1), (bytes([3]) * 200, 1),
             (bytes(range(256)) * 2, 1), (_kernels(16, 8, 22, dense=0.9), 1), (EXAMPLE_SYMBOLS, 1),
             ((np.frombuffer(_kernels(8, 8, 23), np.uint8).astype(np.int64) * 257).astype("<u2").tobytes(), 2)]
    requests = [(rans_ctx_encode(d, i), len(d), i) for d, i in cases]
    monkeypatch.setattr(lanes, "CHUNK_STEPS", steps)
    monkeypatch.setattr(lanes, "CHUNK_BYTES", chunk_bytes)
    assert decode_many(requests) == [d for d, _ in cases]
    assert decode_many(requests[::-1]) == [d for d, _ in cases][::-1]


def test_batched_errors_name_the_payload() -> None:
    good = (rans_ctx_encode(_kernels(8, 8, 13), 1), 576, 1)
    with pytest.raises(CodecError, match="^second: rans-ctx lanes do not return"):
        decode_many([good, (_example(lane="00 00 0a 00 34 03"), 18, 1)], ["first", "second"])
    with pytest.raises(CodecError, match="^payload 1: rans-ctx mode 2"):
        decode_many([good, (b"\x02", 18, 1)])
    with pytest.raises(ValueError, match="one label per request"):
        decode_many([good], ["a", "b"])


# --------------------------------------------------------------------------- rejection rules (CODECS.md 6.2, 6.4, 6.5)

REJECT = [
    # name, payload, out_size, itemsize, message fragment
    ("empty payload", b"", 18, 1, "empty but the tensor is not"),
    ("payload for an empty tensor", b"\x00", 0, 1, "must be empty"),
    ("odd size for u16", EXAMPLE, 17, 2, "multiple of the symbol width"),
    ("mode 2", _example(head="02 09 04 01"), 18, 1, "mode 2 is unknown"),
    ("g = 0", _example(head="01 00 04 01"), 18, 1, "group length 0"),
    ("g = 17", _example(head="01 11 04 01"), 18, 1, "group length 17"),
    ("g > N", _example(head="01 09 04 01"), 8, 1, "group length 9"),
    ("K = 0", _example(head="01 09 04 00"), 18, 1, "lane count 0"),
    ("K > G", _example(head="01 09 04 03"), 18, 1, "lane count is 3, above the limit 2"),
    ("K not minimal", _example(head="01 09 04 81 00"), 18, 1, "not minimally encoded"),
    ("count precision 0", _example(counts="00 02 00 00 01 00 00"), 18, 1, "count table precision 0"),
    ("count precision 17", _example(counts="11 02 00 00 01 00 00"), 18, 1, "count table precision 17"),
    ("count symbol > g", _example(counts="01 02 00 00 09 00 00"), 18, 1, "outside the alphabet"),
    ("count frequencies", _example(counts="01 02 00 00 01 00 01 00"), 18, 1, "frequencies sum"),
    ("runs touch", _example(counts="01 02 00 00 00 00 00"), 18, 1, "gap 0"),
    ("magnitude 0", _example(mags="01 01 00 01 00"), 18, 1, "magnitude table holds 0"),
    ("magnitude > alphabet", _example(mags="01 01 ff 01 01 00"), 18, 1, "outside the alphabet"),
    ("magnitude padding", _example(mags="01 01 01 01 10"), 18, 1, "padding"),
    ("pattern slack 17", _example(signs="11 01 02 01 02"), 18, 1, "pattern slack 17 is above 16"),
    ("first-sign precision 0", _example(signs="03 00 02 01 02"), 18, 1, "first-sign table precision 0"),
    ("first-sign frequency", _example(signs="03 01 03 01 02"), 18, 1, "first-sign frequency is 3"),
    ("flip frequency", _example(signs="03 01 02 02 05"), 18, 1, "sign-flip frequency is 5"),
    ("flip precision 17", _example(signs="03 01 02 11 02"), 18, 1, "sign-flip table precision 17"),
    ("cbits 33", _example(lane="00 21 0a 00 00 00 00 00 00 35 03"), 18, 1, "word-count bits 33"),
    ("emin 64", _example(lane="00 00 40 00" + " 00" * 8), 18, 1, "lowest exponent 64"),
    ("ebits 7", _example(lane="00 00 0a 07 00 35 03"), 18, 1, "exponent bits 7"),
    ("exponent 64", _example(lane="00 00 3f 01 01" + " 00" * 8), 18, 1, "exponent 64 is above 63"),
    ("states past end", _example(lane="00 00 0a 00 35"), 18, 1, "runs past the end"),
    ("field padding", _example(lane="00 00 0a 00 35 07"), 18, 1, "padding bits are not zero"),
    ("extra word", _example(lane="00 00 0a 00 35 03 00 00 00 00"), 18, 1, r"own 0 words \(0 bytes\) but 4"),
    ("missing word", _example(lane="01 00 0a 00 35 03 00 00 00"), 18, 1, r"own 1 words \(4 bytes\) but 3"),
    ("final state", _example(lane="00 00 0a 00 34 03"), 18, 1, "do not return to the initial state"),
    ("unread word", _example(lane="01 00 0a 00 35 03 00 00 00 00"), 18, 1, "unread words|do not return"),
    ("symbol below 0", _example(head="01 09 00 01"), 18, 1, "symbol -1"),
    ("symbol above 255", _example(head="01 09 fe 01"), 18, 1, "symbol 256"),
    ("plain defect", bytes.fromhex("00 00 01 01 61 01 00 00 00 03 00 04"), 3, 1, "plain rans-ctx: rans precision 0"),
]


@pytest.mark.parametrize("name,payload,out_size,itemsize,message", REJECT, ids=[r[0] for r in REJECT])
def test_rejections(name: str, payload: bytes, out_size: int, itemsize: int, message: str) -> None:
    with pytest.raises(CodecError, match=message) as caught:
        rans_ctx_decode(payload, out_size, itemsize)
    assert "\n" not in str(caught.value)
    reference = _reference()
    with pytest.raises(reference.DszReject) as theirs:
        reference._rans_ctx_decode(payload, out_size, itemsize)
    assert theirs.value.error == "CodecError"


def test_count_above_the_last_group_length() -> None:
    """N = 10: groups of 9 and 1; the lane (state 6) decodes the counts 0 then 2 (x = 3, then 1)."""
    payload = _example(lane="00 00 02 00 02")
    with pytest.raises(CodecError, match="group 1 has count 2, more than its 1 symbols"):
        rans_ctx_decode(payload, 10, 1)


def test_one_lane_with_many_words() -> None:
    sym = np.frombuffer(_kernels(40, 40, 14), np.uint8)
    payload = encode_context(plan_context(sym, 8, 9, 1), 1)
    header = parse_ctx(payload, sym.size, 1)
    assert header.lanes == 1 and header.words.size > 10
    assert rans_ctx_decode(payload, sym.size, 1) == sym.tobytes()
    assert _reference()._rans_ctx_decode(payload, sym.size, 1) == sym.tobytes()
    with pytest.raises(CodecError, match="bytes follow"):
        rans_ctx_decode(payload[:-4], sym.size, 1)
    with pytest.raises(CodecError, match="bytes follow"):
        rans_ctx_decode(payload + bytes(4), sym.size, 1)
    flipped = bytearray(payload)
    flipped[-7] ^= 0x10
    try:
        out = rans_ctx_decode(bytes(flipped), sym.size, 1)
    except CodecError:
        pass
    else:  # the end checks are not a checksum (CODECS.md 6.5): a damaged word may pass, never with another size
        assert len(out) == sym.size


def test_truncation_and_varint_limits() -> None:
    payload = rans_ctx_encode(_kernels(16, 16, 15), 1)
    for cut in range(len(payload)):
        with pytest.raises(CodecError):
            rans_ctx_decode(payload[:cut], 2304, 1)
    assert write_varint(1) == b"\x01"


def test_decoder_allocates_nothing_from_claims() -> None:
    """K and word counts are bounded by the group count and the payload: a huge claim is rejected early."""
    with pytest.raises(CodecError, match="above the limit"):
        rans_ctx_decode(_example(head="01 09 04 ff ff ff 0f"), 18, 1)
    with pytest.raises(CodecError):
        rans_ctx_decode(_example(lane="ff ff ff 0f 00 0a 00 35 03"), 18, 1)


# --------------------------------------------------------------------------- rebuild; batched decode vs the reference


@st.composite
def _streams(draw: st.DrawFn, max_n: int = 700) -> tuple[np.ndarray, int, int]:
    """Symbols around a zero symbol ``m``: none to all of them non-zero, uint8 or uint16."""
    n = draw(st.integers(1, max_n))
    width = draw(st.sampled_from([1, 2]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    top = (1 << (8 * width)) - 1
    m = int(rng.integers(0, top + 1))
    density = draw(st.sampled_from([0.0, 0.05, 0.3, 0.7, 1.0]))
    spread = int(rng.integers(1, 40))
    values = m + rng.integers(1, spread + 1, n) * rng.choice([-1, 1], n)
    values = np.clip(values, 0, top)
    symbols = np.where(rng.random(n) < density, values, m).astype("<u2" if width == 2 else np.uint8)
    return symbols, m, width


@given(_streams(), st.integers(1, 16), st.sampled_from([1, 3, 64, None]))
@FAST
def test_join_groups_inverts_split_groups(case: tuple[np.ndarray, int, int], g: int, chunk: int | None) -> None:
    """Every group length, both widths, chunks of one group up to the default: the writer's tokens come back."""
    import formats.codecs.rans_ctx_groups as groups

    symbols, m, width = case
    g = min(g, symbols.size)
    t = split_groups(symbols, m, g)
    with pytest.MonkeyPatch.context() as patch:
        if chunk is not None:
            patch.setattr(groups, "JOIN_CHUNK", chunk)
        back = join_groups(symbols.size, g, m, width, t.counts, t.ranks, t.magnitudes, t.signs)
        joined = groups.join_streams(groups.Geometry.of([symbols.size, symbols.size], [g, g]), [m, m], [width, width],
                                     np.concatenate([t.counts] * 2), np.concatenate([t.ranks] * 2),
                                     np.concatenate([t.magnitudes] * 2), np.concatenate([t.signs] * 2))
    assert back.dtype == symbols.dtype and back.tobytes() == symbols.tobytes()
    assert [j.tobytes() for j in joined] == [symbols.tobytes()] * 2


@given(st.lists(_streams(max_n=400), min_size=1, max_size=5))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_batched_decode_equals_the_reference_decoder(cases: list[tuple[np.ndarray, int, int]]) -> None:
    """Random streams of both modes, decoded together, give what spec/reference_decoder.py gives one by one."""
    data = [(s.tobytes(), w) for s, _, w in cases]
    requests = [(rans_ctx_encode(d, w), len(d), w) for d, w in data]
    reference = [_reference()._rans_ctx_decode(*r) for r in requests]
    assert reference == [d for d, _ in data]
    assert decode_many(requests) == reference


@pytest.mark.data
def test_batched_decode_of_real_weights(shared_data: Path) -> None:
    """The weights of a real checkpoint (ResNet-20, every tensor of 2+ dimensions, quantized with a dead zone at
    several steps): decode_many gives back every stream, so do single decodes; the smallest payloads also match the
    reference decoder."""
    import torch

    state = torch.load(shared_data / "cifar10-resnet-akamaster" / "resnet20-12fca82f.th", map_location="cpu",
                       weights_only=True)["state_dict"]
    weights = [t.float().numpy().ravel() for t in state.values() if t.dim() >= 2]
    data = []
    for scale in (0.5, 1.5):
        for w in weights:
            step = scale * float(np.std(w))
            q = np.clip(np.round(w / step), -100, 100).astype(np.int64) + 128
            data.append(q.astype(np.uint8).tobytes())
    requests = [(rans_ctx_encode(d, 1), len(d), 1) for d in data]
    assert sum(r[0][0] == MODE_CONTEXT for r in requests) > len(requests) // 2  # plain mode for a few
    assert decode_many(requests) == data
    assert decode_many(requests[::-1]) == data[::-1]
    small = sorted(range(len(data)), key=lambda i: len(data[i]))[:3]
    assert [_reference()._rans_ctx_decode(*requests[i]) for i in small] == [data[i] for i in small]


def _group_cost_per_nonzero(flags: np.ndarray, positive: np.ndarray, g: int) -> float:
    """The writer's group-length cost computed non-zero by non-zero (how it was first written)."""
    from formats.codecs.rans_ctx_writer import _order0_bits, binomials, group_lengths

    n = flags.size
    ends = np.concatenate(([0], np.cumsum(flags, dtype=np.int64)))
    lengths = group_lengths(n, g)
    bounds = ends[np.minimum(np.arange(lengths.size + 1, dtype=np.int64) * g, n)]
    counts = bounds[1:] - bounds[:-1]
    hist = np.bincount(counts, minlength=g + 1)
    bits = _order0_bits(hist) + 12.0 * np.count_nonzero(hist)
    bits += float(np.log2(binomials()[lengths, counts].astype(np.float64)).sum())
    nz = np.flatnonzero(flags)
    if nz.size:
        pos = positive[nz].astype(np.int64)
        group = nz // g
        first = np.ones(nz.size, dtype=bool)
        first[1:] = group[1:] != group[:-1]
        later = (pos[1:] ^ pos[:-1])[~first[1:]]
        bits += _order0_bits(np.bincount(pos[first], minlength=2)) + _order0_bits(np.bincount(later, minlength=2))
    return float(bits)


@given(st.lists(st.integers(0, 6), min_size=1, max_size=400), st.integers(1, 16), st.integers(0, 6))
def test_group_cost_equals_the_per_nonzero_count(values: list[int], g: int, zero: int) -> None:
    from formats.codecs.rans_ctx_writer import group_cost

    symbols = np.array(values, dtype=np.uint8)
    flags, positive = symbols != zero, symbols.astype(np.int64) > zero
    assert group_cost(flags, positive, g) == _group_cost_per_nonzero(flags, positive, g)
