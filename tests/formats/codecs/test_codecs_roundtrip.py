"""Every registered codec decodes what it encodes: random bytes, skewed symbol streams, edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formats.codecs import CODECS, get_codec
from formats.ids import CodecId

ALL_IDS = sorted(int(c) for c in CODECS)
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _roundtrip(codec_id: int, data: bytes, itemsize: int) -> bytes:
    codec = get_codec(codec_id)
    payload = codec.encode(data, itemsize)
    assert isinstance(payload, bytes)
    assert codec.decode(payload, len(data), itemsize) == data
    return payload


def test_every_wire_id_is_registered() -> None:
    assert ALL_IDS == [int(c) for c in CodecId]
    for codec_id, codec in CODECS.items():
        assert codec.codec_id == int(codec_id)


@pytest.mark.parametrize("codec_id", ALL_IDS)
@FAST
@given(data=st.binary(max_size=3000))
def test_random_bytes(codec_id: int, data: bytes) -> None:
    _roundtrip(codec_id, data, 1)


@st.composite
def skewed_streams(draw: st.DrawFn) -> tuple[bytes, int]:
    itemsize = draw(st.sampled_from([1, 2]))
    n = draw(st.integers(0, 5000))
    levels = draw(st.integers(1, 40))
    sparsity = draw(st.floats(0.0, 0.99))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    top = 255 if itemsize == 1 else 65535
    offset = draw(st.integers(0, top - levels + 1))
    zero = draw(st.integers(0, top))
    sym = np.where(rng.random(n) < sparsity, zero, offset + rng.integers(0, levels, n))
    dtype = np.uint8 if itemsize == 1 else np.dtype("<u2")
    return sym.astype(dtype).tobytes(), itemsize


@pytest.mark.parametrize("codec_id", ALL_IDS)
@FAST
@given(case=skewed_streams())
def test_skewed_symbol_streams(codec_id: int, case: tuple[bytes, int]) -> None:
    data, itemsize = case
    _roundtrip(codec_id, data, itemsize)


def _edge_cases() -> list[tuple[str, bytes, int]]:
    rng = np.random.default_rng(7)
    return [
        ("empty-1", b"", 1),
        ("empty-2", b"", 2),
        ("one-byte", b"\x2a", 1),
        ("repeated-1", bytes([9]) * 70000, 1),
        ("repeated-2", np.full(40000, 1234, dtype="<u2").tobytes(), 2),
        ("all-256", np.arange(256, dtype=np.uint8).tobytes() * 3, 1),
        ("all-256-shuffled", rng.permutation(np.repeat(np.arange(256), 50)).astype(np.uint8).tobytes(), 1),
        ("wide-alphabet", rng.integers(0, 65536, 20000).astype("<u2").tobytes(), 2),
        ("itemsize-4", rng.normal(size=3000).astype("<f4").tobytes(), 4),
        ("itemsize-8", rng.normal(size=1000).astype("<f8").tobytes(), 8),
    ]


@pytest.mark.parametrize("codec_id", ALL_IDS)
@pytest.mark.parametrize("name,data,itemsize", _edge_cases(), ids=lambda v: v if isinstance(v, str) else "")
def test_edge_cases(codec_id: int, name: str, data: bytes, itemsize: int) -> None:
    _roundtrip(codec_id, data, itemsize)


def test_lzw_dictionary_refill() -> None:
    # random bytes emit a code for nearly every byte, so 200 kB fills the 65536-entry table twice
    data = np.random.default_rng(3).integers(0, 256, 200_000).astype(np.uint8).tobytes()
    _roundtrip(int(CodecId.LZW), data, 1)


@pytest.mark.parametrize("codec_id", ALL_IDS)
def test_deterministic(codec_id: int) -> None:
    data = np.random.default_rng(11).integers(0, 5, 10_000).astype(np.uint8).tobytes()
    codec = get_codec(codec_id)
    assert codec.encode(data, 1) == codec.encode(data, 1)
