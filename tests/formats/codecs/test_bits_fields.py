"""LSB-first bit fields (formats/codecs/_bits.py): read_fields equals unpack_bits on both of its paths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.codecs import _bits
from formats.codecs._bits import SMALL_FIELD_COUNT, pack_bits, read_fields, unpack_bits
from formats.errors import CodecError


def _python_fields(buf: bytes, bit_offset: int, widths: list[int]) -> list[int]:
    """The fields read one by one with Python integers: the obvious definition of the bit order."""
    value = int.from_bytes(buf, "little") >> bit_offset
    out = []
    for w in widths:
        out.append(value & ((1 << w) - 1))
        value >>= w
    return out


def _case(seed: int, count: int, max_width: int, offset: int, slack: int) -> tuple[bytes, int, np.ndarray]:
    """Random widths and bytes; the buffer ends ``slack`` bytes after the last field's byte."""
    rng = np.random.default_rng(seed)
    widths = rng.integers(0, max_width + 1, count)
    total = offset + int(widths.sum())
    buf = rng.integers(0, 256, (total + 7) // 8 + slack).astype(np.uint8).tobytes()
    return buf, offset, widths


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    count=st.one_of(st.integers(0, SMALL_FIELD_COUNT), st.integers(SMALL_FIELD_COUNT + 1, 600)),
    max_width=st.sampled_from([0, 1, 7, 8, 9, 31, 32, 33, 56, 57, 63]),
    offset=st.integers(0, 40),
    slack=st.integers(0, 2),
)
def test_read_fields_equals_unpack_bits(seed: int, count: int, max_width: int, offset: int, slack: int) -> None:
    buf, offset, widths = _case(seed, count, max_width, offset, slack)
    got = read_fields(buf, offset, widths, "x")
    assert got.dtype == np.uint64 and got.size == count
    assert got.tolist() == unpack_bits(buf, offset, widths, "x").tolist()
    assert got.tolist() == _python_fields(buf, offset, widths.tolist())


@pytest.mark.parametrize("count", [1, SMALL_FIELD_COUNT, SMALL_FIELD_COUNT + 1, 1000])
@pytest.mark.parametrize("offset", [0, 3, 8, 13])
def test_both_paths_at_every_width_and_shift(count: int, offset: int) -> None:
    """All widths 0..63 at every bit shift 0..7, with the last field ending on the buffer's last byte."""
    widths = np.resize(np.arange(64), count)
    rng = np.random.default_rng(count + offset)
    values = rng.integers(0, 2**63, count, dtype=np.uint64) & ((np.uint64(1) << widths.astype(np.uint64)) - 1)
    values[widths == 63] |= np.uint64(1 << 62)  # the top bit of the widest field set
    lead = rng.integers(0, 2, offset)  # bits before the first field
    head = int(sum(int(b) << i for i, b in enumerate(lead)))
    body = int.from_bytes(pack_bits(values, widths), "little") if count else 0
    total = offset + int(widths.sum())
    buf = (head | (body << offset)).to_bytes((total + 7) // 8, "little")
    assert read_fields(buf, offset, widths, "x").tolist() == values.tolist()


@pytest.mark.parametrize("count", [5, SMALL_FIELD_COUNT + 50])
def test_python_and_numpy_paths_agree_when_forced(count: int) -> None:
    buf, offset, widths = _case(99, count, 63, 5, 0)
    fast = read_fields(buf, offset, widths, "x")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_bits, "SMALL_FIELD_COUNT", 0)  # every read takes the numpy path
        vector = read_fields(buf, offset, widths, "x")
        mp.setattr(_bits, "SMALL_FIELD_COUNT", 10**9)  # ... and now the Python path
        scalar = read_fields(buf, offset, widths, "x")
    assert fast.tolist() == vector.tolist() == scalar.tolist() == _python_fields(buf, offset, widths.tolist())


@pytest.mark.parametrize("count", [3, SMALL_FIELD_COUNT + 4])
def test_fields_past_the_end_are_codec_errors(count: int) -> None:
    buf, offset, widths = _case(5, count, 20, 6, 0)
    with pytest.raises(CodecError, match="lane states runs past the end"):
        read_fields(buf[:-1], offset, widths, "lane states")
    with pytest.raises(CodecError, match="runs past the end"):
        read_fields(buf, offset + 8 * len(buf), np.zeros(1, np.int64) + 1, "x")
    assert read_fields(buf, 8 * len(buf), np.zeros(4, np.int64), "x").tolist() == [0, 0, 0, 0]
    assert read_fields(b"", 0, np.zeros(0, np.int64), "x").size == 0


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.integers(0, 2**63 - 1), max_size=200),
    seed=st.integers(0, 2**16),
)
def test_pack_bits_round_trip(values: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    widths = np.array([max(v.bit_length(), int(rng.integers(0, 64))) for v in values], dtype=np.int64)
    packed = pack_bits(np.array(values, dtype=np.uint64), widths)
    assert len(packed) == (int(widths.sum()) + 7) // 8
    if int(widths.sum()) % 8:  # zero padding after the last field
        assert packed[-1] >> (int(widths.sum()) % 8) == 0
    assert read_fields(packed, 0, widths, "x").tolist() == values
    assert _python_fields(packed, 0, widths.tolist()) == values
