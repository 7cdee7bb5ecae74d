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
from formats.codecs.rans_zs import rans_zs_decode, rans_zs_encode

LZW_VECTORS = [
    (b"", "0101"),
    (b"a", "610202"),
    (b"ab", "61c40404"),
    (b"aaaaaaaaaa", "61040e241810"),
    (b"TOBEORNOTTOBEORTOBEORNOT", "549e0829f2448a932754041234b8b0e0c1840101"),
]

# Layout: P, K, table (runs, then 4-bit exponents and mantissas), cmin, cbits, emin, ebits, the lane
# fields (counts, exponents, mantissas, LSB first), the u32 words.
RANS_VECTORS = [
    (b"", 1, ""),
    # spec/CODECS.md's worked example: 'a' (f 1, tie to the lower symbol) owns slot 0; x = 1 -> 3 -> 6 -> 12
    (b"aab", 1, "0101016101000000030004"),
    # constant: one run (gap 5), no frequency field; K = 1, every field 0, no field bits
    (bytes([5]) * 20, 1, "010101050000000000"),
    # "ab": 'b' from x = 1 gives 3, 'a' gives 6 = 2^2 + 2: emin 2, mantissa 10b
    (b"ab", 1, "0101016101000000020002"),
    # 12 symbols of 2 bytes: 0 x9, 1 x2, 300 x1. P = 2 (the lowest that fits 3 symbols), f = 2, 1, 1;
    # slots: 0 -> [0, 2), 1 -> 2, 300 -> 3. Runs: (gap 0, length 2), (gap 298 = aa 02, length 1); exponents
    # 1, 0, 0 (nibbles 01 00) and one mantissa bit 0. One lane from x = 1, blocks last to first: (0, 0) keeps
    # x = 1; (0, 1): 1 -> 6 -> 12; (0, 0): 48; (300, 0): 96 -> 387; (0, 1): 1550 -> 3100; (0, 0): 12400 =
    # 2^13 + 0x1070: emin 13 (0d), ebits 0, 13 mantissa bits 70 10.
    (np.array([0, 0, 0, 1, 300, 0, 0, 0, 0, 1, 0, 0], dtype="<u2").tobytes(), 2, "0201020001aa0200010000000d007010"),
    # spec/CODECS.md 4.6: "abcd" x 20, P 2, f = 1 each: one lane, a base-4 number of 160 bits; cmin 4,
    # emin 32, m_0 = 0xe4e4e4e4 (digits 0 1 2 3 from the low end), then four words 0x4e4e4e4e
    (b"abcd" * 20, 1, "0201016103000004002000e4e4e4e4" + "4e4e4e4e" * 4),
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


def _rans_zs1(data: bytes) -> bytes:
    return rans_zs_encode(data, 1)


@pytest.mark.parametrize(
    "name,encode,size,digest",
    [
        # 154 lanes: floor((37775 / 115 - 19) / 2), P = 10, 9223 words
        ("rans", _rans1, 38023, "be9b98becc845fecf84cdc50f14f07188546be74364aedd242d20ad356245de5"),
        # split: 25 flag lanes, 40 residual lanes
        ("rans-zs", _rans_zs1, 38088, "2ed34545a6e7014036327fb6f9398d7193a82ac80d7108ce1239b09ccb01cc96"),
        ("lzw", lzw_encode, 45393, "c1c1b43eba5fcce3d2e9e3f3d2f93e5267e978cd2122581d2c22983b52dbc09e"),
    ],
)
def test_multi_lane_and_width_switch_digests(name: str, encode, size: int, digest: str) -> None:
    payload = encode(_sparse_stream())
    assert (len(payload), hashlib.sha256(payload).hexdigest()) == (size, digest)
    decode = {"rans": lambda p, n: rans_decode(p, n, 1), "rans-zs": lambda p, n: rans_zs_decode(p, n, 1)}
    if name in decode:
        assert decode[name](payload, 200_000) == _sparse_stream()


def test_lzw_refill_digest() -> None:
    rng = np.random.default_rng(2024)
    rng.random(200_000)
    rng.integers(1, 17, 200_000)
    data = rng.integers(0, 256, 150_000).astype(np.uint8).tobytes()
    payload = lzw_encode(data)
    assert len(payload) == 208976
    assert hashlib.sha256(payload).hexdigest() == "a3cc56e0026b3164cf5428caea6d6a20bc37465ffaf05b6218e6f5f3686a9f33"
