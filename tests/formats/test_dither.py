"""The dither generator against a scalar reimplementation of the spec and literal vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.dither import (
    dither_key,
    dither_values,
    mix64,
    splitmix64_words,
    stream_for_name,
    uniform24,
)
from formats.errors import UnknownIdError
from formats.ids import PrngId
from formats.tensors import Dither

M64 = (1 << 64) - 1
U64 = st.integers(0, M64)


def spec_mix(z: int) -> int:
    """SplitMix64 finalizer written straight from spec/FORMAT.md."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def spec_word(seed: int, stream: int, i: int) -> int:
    key = spec_mix(spec_mix(seed) ^ stream)
    return spec_mix((key + (i + 1) * 0x9E3779B97F4A7C15) & M64)


def spec_dither(seed: int, stream: int, i: int, step: float) -> np.float32:
    u = np.float32(spec_word(seed, stream, i) >> 40) * np.float32(2.0**-24)
    return np.float32(np.float32(step) * np.float32(u - np.float32(0.5)))


def test_words_are_a_standard_splitmix64_sequence_from_the_key() -> None:
    assert mix64(0x9E3779B97F4A7C15) == 0xE220A8397B1DCDAF  # first output of SplitMix64 seeded with 0
    state, expected = dither_key(1, 0), []
    for _ in range(3):
        state = (state + 0x9E3779B97F4A7C15) & M64
        expected.append(spec_mix(state))
    assert [int(w) for w in splitmix64_words(1, 0, 3)] == expected


def test_worked_example_of_the_spec() -> None:
    words = splitmix64_words(1, 0, 4)
    assert [f"{int(w):016x}" for w in words] == [
        "4181b152fb77616f",
        "169c646d52269d62",
        "4a5de8d8d53b7280",
        "90f7efbd6c5ecaf3",
    ]
    values = dither_values(Dither(PrngId.SPLITMIX64, 1, 0), 1.0, 4)
    assert [f"{int(v):08x}" for v in values.view(np.uint32)] == ["be79f93c", "bed2c738", "be568860", "3d87bf78"]


@settings(max_examples=100, deadline=None)
@given(U64, U64, st.integers(0, 2**40))
def test_vectorized_words_match_scalar_spec(seed: int, stream: int, start: int) -> None:
    words = splitmix64_words(seed, stream, 5, start=start)
    assert [int(w) for w in words] == [spec_word(seed, stream, start + i) for i in range(5)]


@settings(max_examples=100, deadline=None)
@given(U64, U64, st.floats(2.0**-100, 2.0**100, width=32))
def test_vectorized_dither_matches_scalar_spec_bit_for_bit(seed: int, stream: int, step: float) -> None:
    values = dither_values(Dither(PrngId.SPLITMIX64, seed, stream), step, 7)
    expected = np.array([spec_dither(seed, stream, i, step) for i in range(7)], np.float32)
    assert values.tobytes() == expected.tobytes()


def test_chunk_boundaries_do_not_change_values() -> None:
    n = (1 << 20) + 17
    words = splitmix64_words(5, 6, n)
    assert int(words[-1]) == spec_word(5, 6, n - 1)
    assert int(words[1 << 20]) == spec_word(5, 6, 1 << 20)
    tail = splitmix64_words(5, 6, 10, start=n - 10)
    assert np.array_equal(tail, words[-10:])


def test_uniforms_are_24_bit_and_in_range() -> None:
    u = uniform24(3, 4, 100_000)
    assert u.dtype == np.float32 and u.min() >= 0.0 and u.max() < 1.0
    assert np.array_equal(u * np.float32(2**24), np.floor(u * np.float32(2**24)))
    assert abs(float(u.mean()) - 0.5) < 0.01


def test_dither_is_within_half_a_step() -> None:
    step = 0.3
    values = dither_values(Dither(PrngId.SPLITMIX64, 9, 9), step, 50_000)
    half = np.float32(step) / 2
    assert values.min() >= -half and values.max() < half


def test_no_dither_is_zero_and_unknown_prng_is_rejected() -> None:
    assert not dither_values(Dither(PrngId.NONE, 1, 2), 1.0, 10).any()
    with pytest.raises(UnknownIdError, match="prng id 7"):
        dither_values(Dither(7, 1, 2), 1.0, 10)  # type: ignore[arg-type]


def test_stream_for_name_is_sha256_prefix() -> None:
    import hashlib

    digest = hashlib.sha256(b"conv1.weight").digest()
    assert stream_for_name("conv1.weight") == int.from_bytes(digest[:8], "little")
    assert stream_for_name("a") != stream_for_name("b")


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, True])
def test_seed_and_stream_must_be_u64(bad: object) -> None:
    with pytest.raises(ValueError, match="must be an integer"):
        dither_key(bad, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be an integer"):
        dither_key(0, bad)  # type: ignore[arg-type]
