"""rANS codec 6: the payload checked field by field, against the spec's text.

The payload layout (spec/CODECS.md, "rANS"): P, K, table, cmin, cbits, emin, ebits, one LSB-first bit
block of K word-count fields, K exponent fields and K mantissas, then each lane's u32 words.
``_spec_encode`` / ``_spec_decode`` below follow that text literally with Python integers; the codec must
write the same bytes and give the same verdict.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.codecs._bits import write_varint
from formats.codecs.rans import encode_plan, plan_stream, rans_decode, rans_encode
from formats.codecs.rans_format import parse_stream
from formats.codecs.rans_table import FreqTable, decode_table, encode_table, slot_starts
from formats.errors import CodecError

L = 1 << 32


def _sparse_levels(n: int, sparsity: float, levels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < sparsity, 0, rng.integers(1, levels + 1, n)).astype(np.uint8)


# --------------------------------------------------------------------------- the spec, literally


class Reject(Exception):
    pass


def _slots(table: FreqTable) -> list[int]:
    """c_i: slots handed out by decreasing frequency, ties to the lower symbol."""
    freqs, starts, taken = table.freqs.tolist(), [0] * table.freqs.size, 0
    for i in sorted(range(len(freqs)), key=lambda i: (-freqs[i], int(table.symbols[i]))):
        starts[i], taken = taken, taken + freqs[i]
    return starts


def _payload(
    table: FreqTable,
    states: list[int],
    counts: list[int],
    words: list[int],
    *,
    precision: int | None = None,
    lanes: int | None = None,
    cmin: int | None = None,
    cbits: int | None = None,
    emin: int | None = None,
    ebits: int | None = None,
    exps: list[int] | None = None,
    pad: int = 0,
    tail: bytes = b"",
) -> bytes:
    """A codec-6 payload from its fields (the reference writer's choices unless overridden)."""
    exps = [s.bit_length() - 1 for s in states] if exps is None else exps
    cmin = min(counts) if cmin is None else cmin
    cbits = max(c - cmin for c in counts).bit_length() if cbits is None else cbits
    emin = min(exps) if emin is None else emin
    ebits = max(e - emin for e in exps).bit_length() if ebits is None else ebits
    fields = [(c - cmin, cbits) for c in counts] + [(e - emin, ebits) for e in exps]
    fields += [((s - (1 << e)) % (1 << e), e) for s, e in zip(states, exps, strict=True)]
    block, nbits = 0, 0
    for value, width in fields:
        block |= value << nbits
        nbits += width
    block |= pad << nbits
    head = bytes([table.precision if precision is None else precision])
    head += write_varint(len(states) if lanes is None else lanes) + encode_table(table)
    head += write_varint(cmin) + bytes([cbits, emin, ebits])
    body = block.to_bytes((nbits + 7) // 8, "little") + b"".join(w.to_bytes(4, "little") for w in words)
    return head + body + tail


def _spec_encode(sym: list[int], table: FreqTable, k: int) -> bytes:
    """The reference writer: lanes start at 1, blocks last to first, a word out before a block that would overflow."""
    p = table.precision
    f = dict(zip(table.symbols.tolist(), table.freqs.tolist(), strict=True))
    c = dict(zip(table.symbols.tolist(), _slots(table), strict=True))
    if len(f) == 1:
        return _payload(table, [1], [0], [])
    states, counts, words = [], [], []
    for lane in (sym[i::k] for i in range(k)):
        x, out = 1, []
        for block in reversed([lane[i : i + 2] for i in range(0, len(lane), 2)]):
            product = int(np.prod([f[s] for s in block]))
            if x >= product << (64 - len(block) * p):
                out.append(x & (L - 1))
                x >>= 32
            for s in reversed(block):
                x = (x // f[s] << p) + c[s] + x % f[s]
        states.append(x)
        counts.append(len(out))
        words += out[::-1]
    return _payload(table, states, counts, words)


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise Reject("varint past the end")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and shift:
                raise Reject("non-minimal varint")
            return value, pos
        shift += 7


def _spec_decode(buf: bytes, n: int, width: int) -> bytes:
    """Decode as the spec says (the table parsed by formats: its format did not change); Reject otherwise."""
    if n == 0 or not buf:
        if buf or n:
            raise Reject("empty")
        return b""
    p = buf[0]
    if not 1 <= p <= 16:
        raise Reject("P")
    k, pos = _varint(buf, 1)
    if not 1 <= k <= min(n, 1 << 16):
        raise Reject("K")
    try:
        table, pos = decode_table(buf, pos, p, 1 << (8 * width))
    except CodecError as err:
        raise Reject("table") from err
    cmin, pos = _varint(buf, pos)
    if pos + 3 > len(buf) or buf[pos] > 32 or buf[pos + 1] > 63 or buf[pos + 2] > 6:
        raise Reject("cbits, emin, ebits")
    cbits, emin, ebits = buf[pos : pos + 3]
    pos += 3
    bits, avail, at = int.from_bytes(buf[pos:], "little"), 8 * (len(buf) - pos), 0

    def take(w: int) -> int:
        nonlocal at
        if at + w > avail:
            raise Reject("fields past the end")
        at += w
        return (bits >> (at - w)) & ((1 << w) - 1)

    counts = [cmin + take(cbits) for _ in range(k)]
    exps = [emin + take(ebits) for _ in range(k)]
    if max(exps) > 63:
        raise Reject("e > 63")
    states = [(1 << e) + take(e) for e in exps]
    end = (at + 7) // 8
    if bits >> at & ((1 << (8 * end - at)) - 1):
        raise Reject("padding")
    if len(buf) - pos - end != 4 * sum(counts):
        raise Reject("word bytes")
    words = np.frombuffer(buf, "<u4", offset=pos + end).tolist()
    m, freqs, symbols, starts = 1 << p, table.freqs.tolist(), table.symbols.tolist(), _slots(table)
    owner = [0] * m
    for i, (c, f) in enumerate(zip(starts, freqs, strict=True)):
        owner[c : c + f] = [i] * f
    out, first = [0] * n, 0
    for lane in range(k):
        x, r, nxt = states[lane], counts[lane], first
        first += counts[lane]
        n_lane = n // k + (lane < n % k)
        for b in range((n_lane + 1) // 2):
            for j in range(2 * b, min(2 * b + 2, n_lane)):
                slot = x % m
                i = owner[slot]
                out[lane + j * k] = symbols[i]
                x = freqs[i] * (x // m) + slot - starts[i]
            if x < L and r > 0:
                x, r, nxt = (x << 32) | words[nxt], r - 1, nxt + 1
        if r or x != 1:
            raise Reject("end check")
    return np.array(out, dtype="<u2" if width == 2 else np.uint8).tobytes()


def _verdict(decode, payload: bytes, n: int, width: int) -> bytes | str:
    try:
        return decode(payload, n, width)
    except (CodecError, Reject):
        return "reject"


# --------------------------------------------------------------------------- worked example and writer


AAB = FreqTable(1, np.array([0x61, 0x62]), np.array([1, 1]))


def test_worked_example_aab() -> None:
    # 'a' and 'b' tie at f = 1: the lower symbol 'a' gets slot 0. Encoding from x = 1, the odd last block
    # 'b' gives x = 1 * 2 + 1 = 3, then 'a', 'a' give 6 and 12 = 2^3 + 4: emin 3, ebits 0, mantissa 100b.
    assert _payload(AAB, [12], [0], []).hex() == "0101016101000000030004"
    assert rans_encode(b"aab", 1).hex() == "0101016101000000030004"
    assert _spec_encode(list(b"aab"), AAB, 1).hex() == "0101016101000000030004"
    # decoding: 12 -> slot 0 'a', 6 -> 'a', 3 -> slot 1 'b', x = 1*1 + 1 - 1 = 1
    assert rans_decode(bytes.fromhex("0101016101000000030004"), 3, 1) == b"aab"
    # with two lanes ("ab" and "a"): lane 0 codes 'b' then 'a' (x = 3, 6), lane 1 'a' alone (x = 2)
    assert encode_plan(plan_stream(b"aab", 1), 2) == _payload(AAB, [6, 2], [0, 0], [], lanes=2)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.lists(st.integers(0, 9), min_size=1, max_size=400),
    skew=st.integers(0, 6),
    lanes=st.integers(1, 40),
    width=st.sampled_from([1, 2]),
)
def test_writer_is_the_literal_spec_writer(data: list[int], skew: int, lanes: int, width: int) -> None:
    sym = [v * 997 % (1 << (8 * width)) if v > skew else 0 for v in data]
    raw = np.array(sym, dtype="<u2" if width == 2 else np.uint8).tobytes()
    plan = plan_stream(raw, width)
    k = min(lanes, len(sym))
    payload = encode_plan(plan, lanes)
    assert payload == _spec_encode(sym, plan.table, k)
    assert _spec_decode(payload, len(sym), width) == raw
    assert rans_decode(payload, len(raw), width) == raw


def test_words_carry_states_past_32_bits() -> None:
    # 20 lanes of 400 symbols (1.2 bits each): each needs several words; the literal writer agrees
    sym = [0] * 300 + [5, 7, 5, 9] * 25
    raw = bytes(sym)
    plan = plan_stream(raw * 20, 1)
    payload = encode_plan(plan, 20)
    assert payload == _spec_encode(sym * 20, plan.table, 20)
    stream = parse_stream(payload, len(raw) * 20, 1)
    assert stream.words.size > 20 and int(stream.lane_words.min()) >= 1
    assert rans_decode(payload, len(raw) * 20, 1) == raw * 20


# --------------------------------------------------------------------------- reject rules


def _aab(**kw) -> bytes:
    return _payload(AAB, [12], [0], [], **kw)


# a table whose symbols cost one bit each: 40 symbols in one lane need words
COIN = FreqTable(1, np.array([0, 1]), np.array([1, 1]))


@pytest.mark.parametrize(
    "payload,n,match",
    [
        (_aab(precision=0), 3, "precision 0 is outside 1..16"),
        (_aab(precision=17), 3, "precision 17 is outside 1..16"),
        (_aab(lanes=0), 3, "lane count 0 is outside 1..3"),
        (_aab(lanes=4), 3, "lane count 4 is outside 1..3"),
        (_aab()[:1] + write_varint(65537) + _aab()[2:], 10**6, "lane count is 65537, above the limit 65536"),
        (_aab()[:1] + bytes([0x81, 0x00]) + _aab()[2:], 3, "not minimally encoded"),
        (_aab(cbits=33), 3, "word-count bits 33"),
        (_aab(emin=64, exps=[64]), 3, "lowest exponent 64"),
        (_aab(ebits=7), 3, "exponent bits 7"),
        (_payload(AAB, [12, 3], [0, 0], [], emin=62, ebits=2, exps=[64, 62]), 3, "exponent 64 is above 63"),
        (_aab()[:6], 3, "fewest lane words runs past the end"),
        (_aab()[:9], 3, "ends inside its lane field widths"),
        (_aab(cbits=4, ebits=6)[:-1], 3, "too short for the word counts and state exponents"),
        (_aab()[:-1], 3, "lane states runs past the end"),
        (_aab(pad=1), 3, "padding bits are not zero"),
        (_aab(pad=16), 3, "padding bits are not zero"),
        (_aab(tail=b"\x00" * 4), 3, r"own 0 words \(0 bytes\) but 4 bytes follow"),
        (_payload(AAB, [12], [1], [7])[:-1], 3, r"own 1 words \(4 bytes\) but 3 bytes follow"),
        (_payload(AAB, [12], [2], [7, 8]), 3, "4 bytes of unread words"),
        (_payload(AAB, [16], [0], []), 3, "do not return to the initial state"),
        (_payload(AAB, [12], [0], []), 4, "do not return to the initial state"),
        (_payload(COIN, [1 << 40], [1], [0]), 2, "4 bytes of unread words"),
        (_payload(COIN, [1 << 33], [0], []), 40, "do not return to the initial state"),
        (_payload(FreqTable(1, np.array([7]), np.array([2])), [2], [0], []), 5, "single-symbol stream"),
        (_payload(FreqTable(1, np.array([7]), np.array([2])), [1], [1], [1]), 5, "single-symbol stream"),
        (_payload(FreqTable(3, np.array([0, 1]), np.array([5, 2])), [1], [0], []), 3, "sum to 7, not 2"),
        (bytes([4, 1, 1]) + write_varint(250) + bytes([9]) + bytes(4), 10, "outside the alphabet"),
        (b"", 3, "empty but the tensor is not"),
        (b"\x01", 0, "must be empty"),
    ],
)
def test_reject_rules(payload: bytes, n: int, match: str) -> None:
    with pytest.raises(CodecError, match=match):
        rans_decode(payload, n, 1)
    with pytest.raises(Reject):
        _spec_decode(payload, n, 1)


def test_readers_accept_any_valid_field_widths() -> None:
    # wider count and exponent fields than the writer's, a lower emin, a non-minimal cmin split: same stream
    wide = _payload(AAB, [12], [0], [], cbits=32, emin=1, ebits=6)
    assert rans_decode(wide, 3, 1) == b"aab" == _spec_decode(wide, 3, 1)
    sym = ([0] * 5 + [1, 2]) * 60
    payload = encode_plan(plan_stream(bytes(sym), 1), 3)
    stream = parse_stream(payload, len(sym), 1)
    states = [int(s) for s in stream.states]
    counts = [int(c) for c in stream.lane_words]
    words = [int(w) for w in stream.words]
    assert min(counts) >= 2 and _payload(stream.table, states, counts, words) == payload
    for kw in ({"cmin": 0, "cbits": 9}, {"emin": 0, "ebits": 6}, {"cbits": 32, "ebits": 6}):
        assert rans_decode(_payload(stream.table, states, counts, words, **kw), len(sym), 1) == bytes(sym)


def test_state_exponent_63() -> None:
    # with f = (1, 1) every symbol is one bit of the state: 2^63 + m decodes to the 63 bits of m, then x = 1
    bits = np.random.default_rng(4).integers(0, 2, 63).tolist()
    x = (1 << 63) + sum(b << i for i, b in enumerate(bits))
    payload = _payload(COIN, [x], [0], [])
    assert (payload[8], payload[9], len(payload)) == (63, 0, 10 + 8)  # emin 63, ebits 0, 63 mantissa bits
    assert rans_decode(payload, 63, 1) == bytes(bits) == _spec_decode(payload, 63, 1)
    # the writer gets there too: before the first block x < 2^62 = F * 2^(64 - 2P), so no word is emitted
    assert encode_plan(plan_stream(bytes(bits), 1), 1) == payload
    for n in (62, 64):  # x ends at 2 or 3, or decodes 0 from 1
        with pytest.raises(CodecError, match="initial state"):
            rans_decode(payload, n, 1)


@pytest.mark.parametrize("p", [1, 8, 13, 16])
@pytest.mark.parametrize("n", [1, 2, 3, 40])
def test_top_state_gets_the_spec_verdict(p: int, n: int) -> None:
    table = FreqTable(p, np.array([0, 1, 2]), np.array([(1 << p) - 2, 1, 1])) if p > 1 else COIN
    for state, counts, words in [((1 << 64) - 1, [0], []), ((1 << 64) - 1, [1], [5]), ((1 << 63) + 1, [2], [1, 1])]:
        top = _payload(table, [state], counts, words)
        assert _verdict(rans_decode, top, n, 1) == _verdict(_spec_decode, top, n, 1)


# --------------------------------------------------------------------------- mutants: same verdict as the spec


def test_mutants_get_the_spec_verdict() -> None:
    """Bounded: byte and bit damage to multi-lane payloads; formats and the literal decoder agree."""
    rng = np.random.default_rng(6)
    cases = [(_sparse_levels(600, 0.7, 12, 1).tobytes(), 1, 9), (_sparse_levels(301, 0.5, 3, 2).tobytes(), 1, 4)]
    cases.append((np.array([0, 0, 300, 7, 0, 40000, 0] * 30, "<u2").tobytes(), 2, 5))
    rejected = 0
    for raw, width, lanes in cases:
        payload = encode_plan(plan_stream(raw, width), lanes)
        n = len(raw) // width
        for _ in range(150):
            buf = bytearray(payload)
            kind = int(rng.integers(0, 4))
            if kind == 0:
                i = int(rng.integers(0, len(buf)))
                buf[i] ^= 1 << int(rng.integers(0, 8))
            elif kind == 1:
                buf[int(rng.integers(0, len(buf)))] = int(rng.integers(0, 256))
            elif kind == 2:
                del buf[int(rng.integers(0, len(buf))) :]
            else:
                buf.insert(int(rng.integers(0, len(buf) + 1)), int(rng.integers(0, 256)))
            ours = _verdict(rans_decode, bytes(buf), n * width, width)
            assert ours == _verdict(_spec_decode, bytes(buf), n, width)
            assert ours == "reject" or len(ours) == n * width
            rejected += ours == "reject"
    assert rejected > 300


# --------------------------------------------------------------------------- slot order


def test_slot_order_is_what_the_decoder_uses() -> None:
    # symbol 9 (f = 5) owns slots 0-4, then 3 and 200 (f = 1 each, tie to the lower), slots 5 and 6; M = 8
    table = FreqTable(3, np.array([3, 9, 200, 201]), np.array([1, 5, 1, 1]))
    assert slot_starts(table).tolist() == [5, 0, 6, 7]
    # from state 1: slot 1 -> 9 (x = 5*0 + 1 - 0 = 1), again 9; so every symbol decodes to 9 and x stays 1
    assert rans_decode(_payload(table, [1], [0], []), 4, 1) == bytes([9]) * 4
    # x = 7: slot 7 -> 201 (x = 0 + 7 - 7 = 0)... the state 0 stays 0: not 1 at the end
    with pytest.raises(CodecError, match="initial state"):
        rans_decode(_payload(table, [7], [0], []), 2, 1)
    # x = 14 = 0b1110: slot 6 -> 200, x = 1*1 + 6 - 6 = 1; then slot 1 -> 9
    assert rans_decode(_payload(table, [14], [0], []), 2, 1) == bytes([200, 9])
