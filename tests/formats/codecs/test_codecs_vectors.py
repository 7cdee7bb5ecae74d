"""Literal wire bytes for tiny LZW and rANS streams, and digests of larger ones, so the format cannot drift.

The tiny vectors are worked by hand in spec/CODECS.md ("Worked examples"); if one of these fails, the
encoder no longer writes the documented format.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from formats.codecs.lzw import code_width, lzw_decode, lzw_encode
from formats.codecs.rans import rans_decode, rans_encode

LZW_VECTORS = [
    (b"", "0101"),
    (b"a", "610202"),
    (b"ab", "61c40404"),
    (b"aaaaaaaaaa", "61040e241810"),
    (b"TOBEORNOTTOBEORTOBEORNOT", "549e0829f2448a932754041234b8b0e0c1840101"),
]

RANS_VECTORS = [
    (b"", 1, ""),
    (b"aab", 1, "01010161010004000800"),
    (bytes([5]) * 20, 1, "010101050000000100"),
    (np.array([0, 0, 0, 1, 300, 0, 0, 0, 0, 1, 0, 0], dtype="<u2").tobytes(), 2, "0301020001aa0200022002dda21a"),
]


@pytest.mark.parametrize("data,expected", LZW_VECTORS)
def test_lzw_literal(data: bytes, expected: str) -> None:
    assert lzw_encode(data).hex() == expected
    assert lzw_decode(bytes.fromhex(expected), len(data)) == data


@pytest.mark.parametrize("data,itemsize,expected", RANS_VECTORS)
def test_rans_literal(data: bytes, itemsize: int, expected: str) -> None:
    assert rans_encode(data, itemsize).hex() == expected
    assert rans_decode(bytes.fromhex(expected), len(data), itemsize) == data


def test_lzw_code_widths() -> None:
    assert [code_width(n) for n in (0, 254, 255, 766, 767, 65278, 65279, 10**6)] == [9, 9, 10, 10, 11, 16, 16, 16]


def _sparse_stream() -> bytes:
    rng = np.random.default_rng(2024)
    return np.where(rng.random(200_000) < 0.8, 0, rng.integers(1, 17, 200_000)).astype(np.uint8).tobytes()


def _rans1(data: bytes) -> bytes:
    return rans_encode(data, 1)


@pytest.mark.parametrize(
    "name,encode,size,digest",
    [
        ("rans", _rans1, 37999, "825b163b3daf153c04b036d05e62b15955ac0326e3d9113d3117713fa3114f55"),  # 8 groups
        ("lzw", lzw_encode, 45393, "c1c1b43eba5fcce3d2e9e3f3d2f93e5267e978cd2122581d2c22983b52dbc09e"),
    ],
)
def test_multi_lane_and_width_switch_digests(name: str, encode, size: int, digest: str) -> None:
    payload = encode(_sparse_stream())
    assert (len(payload), hashlib.sha256(payload).hexdigest()) == (size, digest)


def test_lzw_refill_digest() -> None:
    rng = np.random.default_rng(2024)
    rng.random(200_000)
    rng.integers(1, 17, 200_000)
    data = rng.integers(0, 256, 150_000).astype(np.uint8).tobytes()
    payload = lzw_encode(data)
    assert len(payload) == 208976
    assert hashlib.sha256(payload).hexdigest() == "a3cc56e0026b3164cf5428caea6d6a20bc37465ffaf05b6218e6f5f3686a9f33"
