"""The compact header: zlib-stored, bounded inflate, implicit codebooks/streams/offsets, 64-bit digests."""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import pytest

import formats
from formats.container import Limits
from formats.container.header_codec import inflate_header
from formats.dither import stream_for_name
from formats.errors import ChecksumError, HeaderError, LimitError
from formats.quantize import uniform_codebook

MAP = b"\x81\xa1a\x01"  # {"a": 1}


def test_inflate_accepts_exactly_one_stream_of_the_declared_length() -> None:
    stored = zlib.compress(MAP, 9)
    assert inflate_header(stored, len(MAP)) == MAP
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    cases = [
        (stored, len(MAP) - 1, "more than"),
        (stored, len(MAP) + 1, "inflates to 4 bytes"),
        (stored[:-1], len(MAP), "ends early"),
        (stored + b"\0", len(MAP), "after the end"),
        (stored + zlib.compress(MAP), len(MAP), "after the end"),
        (raw_deflate.compress(MAP) + raw_deflate.flush(), len(MAP), "not a valid zlib stream"),
        (stored[:-4] + bytes(4), len(MAP), "not a valid zlib stream"),  # Adler-32 of the inflated bytes
        (bytes.fromhex("78 bb 00 00 00 00") + stored[2:], len(MAP), "not a valid zlib stream"),  # FDICT
    ]
    for data, declared, match in cases:
        with pytest.raises(HeaderError, match=match):
            inflate_header(data, declared)


def test_header_bomb_is_refused_before_inflating(dsz) -> None:
    bomb = zlib.compress(bytes(1 << 26), 9)  # 64 MiB of zeros in ~65 KB
    with pytest.raises(LimitError, match="declares 67108864 inflated bytes"):
        formats.open_dsz(dsz.build(None, b"", stored_header=bomb, raw_length=1 << 26))
    # a stream that lies about its length is stopped after U + 1 output bytes
    with pytest.raises(HeaderError, match="more than the 100 bytes"):
        formats.open_dsz(dsz.build(None, b"", stored_header=bomb, raw_length=100))
    stored_length = int.from_bytes(dsz.blob[16:24], "little")
    with pytest.raises(LimitError, match="inflated bytes"):  # the cap bounds the inflated header too
        formats.open_dsz(dsz.blob, limits=Limits(max_header_bytes=stored_length))


def test_empty_header_lengths_are_rejected(dsz) -> None:
    with pytest.raises(HeaderError, match="empty header"):
        formats.open_dsz(dsz.build(None, b"", raw_header=b"", raw_length=0))


def test_header_crc_covers_the_declared_raw_length(dsz) -> None:
    damaged = bytearray(dsz.blob)
    damaged[32] ^= 1  # header_raw_length
    with pytest.raises(ChecksumError, match="header checksum"):
        formats.open_dsz(bytes(damaged))


def test_uniform_codebook_and_default_stream_are_implicit(dsz) -> None:
    record = dsz.header["tensors"][0]
    assert "codebook" not in record and record["codebook_size"] == 9
    assert record["dither"] == {"prng": 1, "seed": 11}  # stream = stream_for_name("conv.weight")
    with formats.open_dsz(dsz.blob) as reader:
        q = reader.read_quantized("conv.weight")
        assert q.dither.stream == stream_for_name("conv.weight")
        assert q.codebook.tobytes() == uniform_codebook(9, q.zero_symbol, q.step).tobytes()


def test_fine_tuned_codebook_and_custom_stream_stay_explicit(dsz) -> None:
    q = formats.quantize_dithered(np.linspace(-1, 1, 40), 0.25, seed=5, stream=77, name="w")
    tuned = q.codebook.copy()
    tuned[0] = np.float32(-1.1)
    tensor = formats.QuantizedTensor(q.symbols, tuned, q.zero_symbol, q.step, q.dither)
    blob = formats.dumps({"w": tensor}, format_major=1)
    record = dsz.split(blob)[0]["tensors"][0]
    assert record["codebook"] == tuned.astype("<f4").tobytes() and "codebook_size" not in record
    assert record["dither"]["stream"] == 77
    back = formats.open_dsz(blob).read_quantized("w")
    assert back.codebook.tobytes() == tuned.tobytes() and back.dither.stream == 77


def test_uniform_codebook_matches_the_float64_product_rounded_once() -> None:
    rng = np.random.default_rng(3)
    for step in rng.uniform(1e-6, 10.0, 200).astype(np.float32):
        k = np.arange(-300, 301)
        expected = (k.astype(np.float64) * np.float64(step)).astype(np.float32)
        assert uniform_codebook(601, 300, float(step)).tobytes() == expected.tobytes()


def test_record_digest_is_the_sha256_prefix_and_empty_fields_are_omitted(dsz) -> None:
    blob = formats.dumps({"x": np.arange(4, dtype=np.int16)}, codec="raw", format_major=1)
    header = dsz.split(blob)[0]
    assert "metadata" not in header and "recipe" not in header
    record = header["tensors"][0]
    assert sorted(record) == ["codec", "crc32", "dtype", "kind", "length", "name", "sha256_64", "shape"]
    assert record["sha256_64"] == hashlib.sha256(np.arange(4, dtype="<i2").tobytes()).digest()[:8]


def test_readers_accept_the_non_canonical_explicit_forms(dsz) -> None:
    def expand(h: dict) -> None:
        record = h["tensors"][0]
        size = record.pop("codebook_size")
        record["codebook"] = uniform_codebook(size, record["zero_symbol"], record["step"]).tobytes()
        record["dither"]["stream"] = stream_for_name(record["name"])
        h["tensors"][1]["attrs"] = {}
        h["metadata"] = {}

    with formats.open_dsz(dsz.mutated(expand)) as reader:
        reader.verify()
