"""Damaged payloads raise CodecError and nothing else; no codec inflates past out_size (bombs)."""

from __future__ import annotations

import bz2
import lzma
import tracemalloc

import brotli
import numpy as np
import pytest
import zstandard

from formats.codecs import CODECS, get_codec
from formats.errors import CodecError
from formats.ids import CodecId

ALL_IDS = sorted(int(c) for c in CODECS)


def _inputs(rng: np.random.Generator, n: int) -> list[tuple[bytes, int]]:
    sparse = np.where(rng.random(n) < 0.8, 0, rng.integers(1, 17, n))
    return [
        (sparse.astype(np.uint8).tobytes(), 1),
        (sparse.astype("<u2").tobytes(), 2),
        (rng.integers(0, 256, n // 4).astype(np.uint8).tobytes(), 1),
        (bytes(n), 1),
    ]


def _mutants(payload: bytes, rng: np.random.Generator, count: int) -> list[bytes]:
    out: list[bytes] = []
    size = len(payload)
    for _ in range(count):
        kind = int(rng.integers(0, 6))
        buf = bytearray(payload)
        if kind == 0 and size:  # flip one bit
            i = int(rng.integers(0, size))
            buf[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and size:  # overwrite a few bytes
            for _ in range(int(rng.integers(1, 4))):
                buf[int(rng.integers(0, size))] = int(rng.integers(0, 256))
        elif kind == 2:  # truncate
            del buf[int(rng.integers(0, size + 1)) :]
        elif kind == 3:  # trailing garbage
            buf += bytes(rng.integers(0, 256, int(rng.integers(1, 8))).astype(np.uint8))
        elif kind == 4 and size:  # delete a byte
            del buf[int(rng.integers(0, size))]
        else:  # insert a byte
            buf.insert(int(rng.integers(0, size + 1)), int(rng.integers(0, 256)))
        out.append(bytes(buf))
    return out


def _campaign(codec_id: int, seed: int, n: int, per_input: int) -> int:
    """Decode mutants; each must decode to exactly out_size bytes or raise CodecError. Returns errors seen."""
    rng = np.random.default_rng(seed)
    codec = get_codec(codec_id)
    errors = 0
    for data, itemsize in _inputs(rng, n):
        payload = codec.encode(data, itemsize)
        for mutant in _mutants(payload, rng, per_input):
            try:
                out = codec.decode(mutant, len(data), itemsize)
            except CodecError as exc:
                assert "\n" not in str(exc)
                errors += 1
            else:
                assert len(out) == len(data)
    return errors


@pytest.mark.parametrize("codec_id", ALL_IDS)
def test_mutation_fuzz(codec_id: int) -> None:
    errors = _campaign(codec_id, seed=codec_id, n=1500, per_input=75)
    assert errors > 0  # the fuzzer really produced rejected payloads


@pytest.mark.parametrize("codec_id", [int(CodecId.RANS), int(CodecId.RANS_ZS), int(CodecId.RANS_CTX)])
def test_rans_lane_field_mutations(codec_id: int) -> None:
    """Multi-lane payloads (tens of lanes; split for codec 7), damage aimed at the header and lane fields."""
    rng = np.random.default_rng(40 + codec_id)
    codec = get_codec(codec_id)
    n = 70_000
    sparse = np.where(rng.random(n) < 0.85, 0, rng.integers(1, 30, n))
    outcomes = {"error": 0, "passed": 0}
    for data, itemsize in ((sparse.astype(np.uint8).tobytes(), 1), (sparse[:9000].astype("<u2").tobytes(), 2)):
        payload = codec.encode(data, itemsize)
        for _ in range(120):
            buf = bytearray(payload)
            for _ in range(int(rng.integers(1, 3))):
                i = int(rng.integers(0, min(len(buf), 160))) if rng.random() < 0.8 else int(rng.integers(0, len(buf)))
                buf[i] = int(rng.integers(0, 256)) if rng.random() < 0.5 else buf[i] ^ (1 << int(rng.integers(0, 8)))
            try:
                out = codec.decode(bytes(buf), len(data), itemsize)
            except CodecError:
                outcomes["error"] += 1
            else:
                assert len(out) == len(data)
                outcomes["passed"] += 1
    assert outcomes["error"] > 150


@pytest.mark.slow
@pytest.mark.parametrize("codec_id", ALL_IDS)
def test_mutation_fuzz_campaign(codec_id: int) -> None:
    for seed in range(100, 104):
        _campaign(codec_id, seed=seed, n=20_000, per_input=1000)


@pytest.mark.parametrize("codec_id", ALL_IDS)
def test_truncation_is_codec_error(codec_id: int) -> None:
    data = np.random.default_rng(1).integers(0, 20, 5000).astype(np.uint8).tobytes()
    codec = get_codec(codec_id)
    payload = codec.encode(data, 1)
    cuts = sorted(set(range(min(len(payload), 48))) | set(np.linspace(0, len(payload) - 1, 48).astype(int)))
    for cut in cuts:
        with pytest.raises(CodecError):
            codec.decode(payload[:cut], len(data), 1)


SIZE_BLIND = {int(CodecId.RANS), int(CodecId.RANS_ZS), int(CodecId.RANS_CTX)}  # payloads without the decoded size


@pytest.mark.parametrize("codec_id", [c for c in ALL_IDS if c not in SIZE_BLIND])
def test_wrong_out_size_is_codec_error(codec_id: int) -> None:
    data = bytes(range(200)) * 5
    codec = get_codec(codec_id)
    payload = codec.encode(data, 1)
    for out_size in (0, len(data) - 1, len(data) + 1, 2 * len(data)):
        with pytest.raises(CodecError):
            codec.decode(payload, out_size, 1)


def _size_cases() -> list[tuple[bytes, int]]:
    rng = np.random.default_rng(3)
    sparse = np.where(rng.random(6000) < 0.8, 0, rng.integers(1, 17, 6000)).astype(np.uint8)
    tail = sparse.copy()
    tail[-700:] = 0  # trailing most frequent symbols: free for the codec, so a shorter or longer size may pass
    return [
        (bytes(range(200)) * 5, 1),
        (sparse.tobytes(), 1),
        (tail.tobytes(), 1),
        (np.concatenate((tail, np.zeros(70_000, np.uint8))).tobytes(), 1),  # rans-zs splits from 2^16 on
        (tail.astype("<u2").tobytes(), 2),
    ]


@pytest.mark.parametrize("codec_id", sorted(SIZE_BLIND))
def test_wrong_out_size_is_codec_error_or_exactly_out_size(codec_id: int) -> None:
    """rANS (6, 7, 8): from state 1 the most frequent symbol decodes for free (spec/CODECS.md), so a wrong
    out_size can pass the codec's checks; then the output has exactly out_size bytes (the container's digest
    rejects it). Here: every wrong size raises CodecError or returns out_size bytes, and both outcomes occur."""
    codec = get_codec(codec_id)
    outcomes = set()
    for data, itemsize in _size_cases():
        payload = codec.encode(data, itemsize)
        w = 2 if itemsize == 2 else 1
        for out_size in (0, len(data) - w, len(data) + w, len(data) - 100 * w, len(data) + 64 * w, 2 * len(data)):
            try:
                out = codec.decode(payload, out_size, itemsize)
            except CodecError as exc:
                assert "\n" not in str(exc)
                outcomes.add("error")
            else:
                assert len(out) == out_size
                outcomes.add("passed")
                shorter = min(len(out), len(data))
                if codec_id != CodecId.RANS_CTX:  # codec 8's groups and phases move with N: no prefix promise
                    assert out[:shorter] == data[:shorter]  # lanes keep their symbols: a prefix, or more after it
        if itemsize == 2:
            with pytest.raises(CodecError, match="multiple"):
                codec.decode(payload, len(data) + 1, 2)
    assert outcomes == {"error", "passed"}


def _bomb(codec_id: int) -> bytes:
    """A small payload that inflates to many MiB (fast encoder settings: readers ignore the level)."""
    big = bytes(64 << 20)
    if codec_id == CodecId.RAW:
        return bytes(2000)
    if codec_id == CodecId.ZSTD:
        return zstandard.ZstdCompressor(level=1).compress(big)
    if codec_id == CodecId.BROTLI:
        return brotli.compress(big, quality=1)
    if codec_id == CodecId.BZIP2:
        return bz2.compress(big, compresslevel=1)
    if codec_id == CodecId.LZMA:
        filters = [{"id": lzma.FILTER_LZMA2, "preset": 0, "dict_size": 1 << 12}]
        return lzma.compress(big, format=lzma.FORMAT_RAW, filters=filters)
    if codec_id == CodecId.LZW:
        return get_codec(codec_id).encode(bytes(1 << 20), 1)  # pure-Python encoder: 1 MiB will do
    # rANS: a constant stream carries no length (it is valid for any out_size), so use two symbols
    data = bytearray(8 << 20)
    data[12345] = 1
    return get_codec(codec_id).encode(bytes(data), 1)


@pytest.mark.parametrize("codec_id", ALL_IDS)
def test_decompression_bomb(codec_id: int) -> None:
    """A payload that inflates to MiBs, decoded with out_size=1000: CodecError, and no big allocation."""
    payload = _bomb(codec_id)
    assert len(payload) < (1 << 20)
    codec = get_codec(codec_id)
    tracemalloc.start()
    try:
        with pytest.raises(CodecError):
            codec.decode(payload, 1000, 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(payload) + (1 << 20)


def test_zstd_frame_without_content_size_is_rejected() -> None:
    payload = zstandard.ZstdCompressor(write_content_size=False).compress(bytes(10 << 20))
    with pytest.raises(CodecError, match="content size"):
        get_codec(CodecId.ZSTD).decode(payload, 1000, 1)


def test_zstd_frame_claiming_more_is_rejected() -> None:
    payload = get_codec(CodecId.ZSTD).encode(bytes(1 << 30 >> 6), 1)
    with pytest.raises(CodecError, match="declares"):
        get_codec(CodecId.ZSTD).decode(payload, 1000, 1)
