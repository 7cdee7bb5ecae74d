"""Every malformed file is rejected with the specific FormatError subclass, before allocating."""

from __future__ import annotations

import copy
import hashlib
import zlib
from typing import Any

import msgpack
import numpy as np
import pytest

import formats
from formats.container import Limits
from formats.errors import (
    BadMagicError,
    ChecksumError,
    CodecError,
    FormatError,
    HeaderError,
    LayoutError,
    LimitError,
    TruncatedError,
    UnknownIdError,
    UnsupportedVersionError,
)


def open_and_verify(blob: bytes, limits: Limits | None = None) -> None:
    with formats.open_dsz(blob, **({"limits": limits} if limits else {})) as reader:
        reader.verify()


def test_sample_is_valid(dsz) -> None:
    open_and_verify(dsz.blob)
    assert dsz.build(dsz.header, dsz.payloads) == dsz.blob


@pytest.mark.parametrize("codec", ["raw", "auto"])
def test_truncation_at_every_offset_is_a_truncated_error(dsz, codec: str) -> None:
    blob = dsz.sample_blob(codec)
    for cut in range(len(blob)):
        with pytest.raises(TruncatedError):
            formats.open_dsz(blob[:cut])


def test_truncated_path_is_rejected_too(dsz, tmp_path) -> None:
    path = tmp_path / "cut.dsz"
    for cut in (0, 5, 39, 41, len(dsz.blob) - 1):
        path.write_bytes(dsz.blob[:cut])
        with pytest.raises(TruncatedError):
            formats.open_dsz(path)


def test_every_single_bit_flip_is_detected(dsz) -> None:
    for i in range(len(dsz.blob)):
        for bit in range(8):
            damaged = bytearray(dsz.blob)
            damaged[i] ^= 1 << bit
            with pytest.raises(FormatError):
                open_and_verify(bytes(damaged))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda b: b"", TruncatedError),
        (lambda b: b[:4], TruncatedError),
        (lambda b: b"GIF89a" + bytes(100), BadMagicError),
        (lambda b: b.replace(b"\r\n", b"\n", 1), BadMagicError),  # text-mode line endings
        (lambda b: b"\x09" + b[1:], BadMagicError),  # 7-bit transfer stripped the high bit
        (lambda b: b[:7] + b"\r\n" + b[8:], BadMagicError),  # LF -> CRLF
    ],
    ids=["empty", "magic-prefix", "other-format", "crlf-to-lf", "high-bit-stripped", "lf-to-crlf"],
)
def test_bad_or_damaged_magic(dsz, damage: Any, expected: type) -> None:
    with pytest.raises(expected):
        formats.open_dsz(damage(dsz.blob))


@pytest.mark.parametrize("major", [0, 3, 255])
def test_other_major_versions_are_unsupported(dsz, major: int) -> None:
    with pytest.raises(UnsupportedVersionError, match=f"version {major}.0"):
        formats.open_dsz(dsz.build(dsz.header, dsz.payloads, major=major))


def test_newer_minor_is_read_and_its_unknown_fields_ignored(dsz) -> None:
    header = copy.deepcopy(dsz.header)
    header["future"] = {"x": 1}
    header["tensors"][0]["future_field"] = [1, 2]
    header["tensors"][0]["dither"]["future"] = True
    with formats.open_dsz(dsz.build(header, dsz.payloads, minor=7)) as reader:
        assert reader.version == (1, 7)
        reader.verify()
    with pytest.raises(HeaderError, match="unknown field"):
        formats.open_dsz(dsz.build(header, dsz.payloads, minor=0))


def test_ext_maps_are_ignored_in_this_version(dsz) -> None:
    def add_ext(h: dict) -> None:
        h["ext"] = {"vendor": {"anything": [1, b"x"]}}
        h["tensors"][1]["ext"] = {"note": "hi"}

    open_and_verify(dsz.mutated(add_ext))
    with pytest.raises(HeaderError, match="'ext' must be a map"):
        formats.open_dsz(dsz.mutated(lambda h: h.update(ext=[1])))


def test_nonzero_flags_are_rejected(dsz) -> None:
    with pytest.raises(HeaderError, match="flags"):
        formats.open_dsz(dsz.build(dsz.header, dsz.payloads, flags=1))


@pytest.mark.parametrize(
    ("index", "field", "value", "match"),
    [
        (0, "codec", 9, "unknown codec id 9"),
        (0, "codec", 200, "unknown codec id 200"),
        (1, "dtype", 0, "unknown dtype id 0"),
        (1, "dtype", 14, "unknown dtype id 14"),
        (1, "kind", 3, "unknown tensor kind id 3"),
        (1, "kind", 255, "unknown tensor kind id 255"),
    ],
)
def test_unknown_ids(dsz, index: int, field: str, value: int, match: str) -> None:
    with pytest.raises(UnknownIdError, match=match):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][index].__setitem__(field, value)))


def test_unknown_prng_id(dsz) -> None:
    with pytest.raises(UnknownIdError, match="unknown dither prng id 2"):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][0]["dither"].__setitem__("prng", 2)))


@pytest.mark.parametrize(
    "shape", [[2**20, 2**20], [2**40], [2**64 - 1, 0], [1] * 17], ids=["2^40", "2^40-1d", "u64-max", "17-dims"]
)
def test_absurd_shapes_are_rejected_before_allocation(dsz, shape: list[int]) -> None:
    with pytest.raises(LimitError):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][1].__setitem__("shape", shape)))


def test_decompression_bomb_rule(dsz) -> None:
    blob = formats.dumps({"z": np.zeros(2**20, np.uint8)}, codec="zstd", format_major=1)
    header, payloads = dsz.split(blob)
    header["tensors"][0]["shape"] = [2**32]
    with pytest.raises(LimitError, match="expansion limit"):
        formats.open_dsz(dsz.build(header, payloads), limits=Limits(max_elements=2**40))
    strict = Limits(expansion_allowance=1024, max_expansion=4)
    with pytest.raises(LimitError, match="expansion limit"):
        formats.open_dsz(blob, limits=strict)


def test_total_decoded_size_limit(dsz) -> None:
    with pytest.raises(LimitError, match="in total"):
        formats.open_dsz(dsz.blob, limits=Limits(max_total_bytes=100))


def test_header_size_and_count_limits(dsz) -> None:
    with pytest.raises(LimitError, match="header is"):
        formats.open_dsz(dsz.blob, limits=Limits(max_header_bytes=64))
    with pytest.raises(LimitError, match="tensors"):
        formats.open_dsz(dsz.blob, limits=Limits(max_tensors=3))
    with pytest.raises(LimitError, match="msgpack objects"):
        formats.open_dsz(dsz.blob, limits=Limits(max_objects=20))
    with pytest.raises(LimitError, match="name"):
        formats.open_dsz(dsz.blob, limits=Limits(max_name_bytes=4))


def test_deep_msgpack_nesting_is_rejected(dsz) -> None:
    deep: Any = 0
    for _ in range(200):
        deep = [deep]
    with pytest.raises(LimitError, match="deeper than 32"):
        formats.open_dsz(dsz.mutated(lambda h: h.update(recipe={"x": deep})))
    hostile = b"\x81\xa1r" + b"\x91" * 100_000 + b"\xc0"  # 100 000 levels: must not recurse
    with pytest.raises(LimitError, match="deeper"):
        formats.open_dsz(dsz.build(None, dsz.payloads, raw_header=hostile))


def test_duplicate_names_are_rejected(dsz) -> None:
    with pytest.raises(LayoutError, match="appears twice"):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][2].__setitem__("name", "conv.bias")))


def test_duplicate_map_keys_are_rejected(dsz) -> None:
    body = bytearray(msgpack.packb(dsz.header, use_bin_type=True))
    body[:1] = b"\x85"  # root map now claims 5 entries ...
    body += b"\xa8metadata\x80"  # ... the fifth repeats "metadata"
    with pytest.raises(HeaderError, match="repeats key 'metadata'"):
        formats.open_dsz(dsz.build(None, dsz.payloads, raw_header=bytes(body)))


def test_offsets_are_not_stored_and_a_stored_offset_is_an_unknown_field(dsz) -> None:
    assert all("offset" not in t for t in dsz.header["tensors"])
    with formats.open_dsz(dsz.blob) as reader:
        lengths = [t["length"] for t in dsz.header["tensors"]]
        assert [r.offset for r in reader.records] == [sum(lengths[:i]) for i in range(len(lengths))]
    with pytest.raises(HeaderError, match="unknown field"):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][1].update(offset=0)))


def test_lengths_must_add_up_to_the_payload_section(dsz) -> None:
    with pytest.raises(LayoutError, match="runs past"):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][2].update(length=10**6)))
    with pytest.raises(LayoutError, match="cover"):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"].pop()))


def test_swapped_records_read_the_wrong_bytes_and_fail_their_checksums(dsz) -> None:
    def swap(h: dict) -> None:
        h["tensors"][1], h["tensors"][2] = h["tensors"][2], h["tensors"][1]

    with formats.open_dsz(dsz.mutated(swap)) as reader:
        with pytest.raises(ChecksumError, match="CRC-32"):
            reader.read("steps")


def test_trailing_bytes_and_wrong_payload_length(dsz) -> None:
    with pytest.raises(LayoutError, match="trailing"):
        formats.open_dsz(dsz.blob + b"\0")
    with pytest.raises(LayoutError, match="cover"):
        formats.open_dsz(dsz.build(dsz.header, dsz.payloads + b"\0"))
    with pytest.raises(TruncatedError):
        formats.open_dsz(dsz.build(dsz.header, dsz.payloads, payload_length=len(dsz.payloads) + 5))


def test_raw_payload_must_match_the_shape(dsz) -> None:
    with pytest.raises(LayoutError, match="raw-codec payload"):
        formats.open_dsz(dsz.mutated(lambda h: h["tensors"][1].__setitem__("shape", [2])))


def _explicit(codebook: bytes, **fields: Any):
    """Replace the implicit codebook of the quantized record by an explicit one."""
    def change(h: dict) -> None:
        record = h["tensors"][0]
        record.pop("codebook_size")
        record.update(codebook=codebook, **fields)
    return change


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda h: h.pop("producer"), "lacks the required field 'producer'"),
        (lambda h: h["tensors"][0].pop("sha256_64"), "lacks the required field 'sha256_64'"),
        (lambda h: h.update(tensors={}), "must be an array"),
        (lambda h: h.update(metadata={"k": 1}), r"metadata\['k'\] must be a string"),
        (lambda h: h.update(recipe=[1]), "'recipe' must be a map"),
        (lambda h: h.update(recipe=None), "'recipe' must be a map"),
        (lambda h: h.update(extra=1), "unknown field"),
        (lambda h: h["tensors"][0].update(name=""), "must not be empty"),
        (lambda h: h["tensors"][0].update(name=5), "must be a string"),
        (lambda h: h["tensors"][1].update(shape=[-3]), "non-negative"),
        (lambda h: h["tensors"][1].update(shape=[True, 2]), "non-negative"),
        (lambda h: h["tensors"][1].update(dtype=-1), "must be an integer"),
        (lambda h: h["tensors"][1].update(crc32=2**32), "must be an integer"),
        (lambda h: h["tensors"][1].update(sha256_64=b"short"), "8 bytes"),
        (lambda h: h["tensors"][1].update(sha256_64=bytes(32)), "8 bytes"),
        (lambda h: h["tensors"][1].update(attrs=[]), "'attrs' must be a map"),
        (lambda h: h["tensors"][1].update(codebook_size=4), "unknown field"),  # raw + quantized field
        (lambda h: h["tensors"][1].update(nnz=4), "unknown field"),  # raw + sparse field
        (lambda h: h["tensors"][0].update(dtype=4), "must have dtype FLOAT32"),
        (lambda h: h["tensors"][0].update(symbol_dtype=6), "unknown field"),  # derived, never stored
        (lambda h: h["tensors"][0].update(codebook=b"\0\0\0\0"), "exactly one of"),
        (lambda h: h["tensors"][0].pop("codebook_size"), "exactly one of"),
        (lambda h: h["tensors"][0].update(codebook_size=0), "codebook_size must be"),
        (lambda h: h["tensors"][0].update(codebook_size=65537), "must be an integer in"),
        (lambda h: h["tensors"][0].update(codebook_size=10**6), "must be an integer in"),
        (lambda h: h["tensors"][0].update(zero_symbol=10**6), "zero_symbol"),
        (lambda h: h["tensors"][0].update(step=float(np.float32(3e38))), "infinity"),  # the implicit codebook overflows
        (_explicit(b"\0\0\0\0\0\0\xc0\x7f", zero_symbol=0), "NaN"),
        (_explicit(b"\0\0\0"), "float32 values"),
        (_explicit(b"\0" * 4 * 65537), "1..65536"),
        (_explicit(b"\0\0\x80\x3f" * 3, zero_symbol=1), "must be 0"),
        (lambda h: h["tensors"][0].update(step=0.1), "float32 value"),
        (lambda h: h["tensors"][0].update(step=-0.5), "float32 value"),
        (lambda h: h["tensors"][0].update(step=1), "must be a float"),
        (lambda h: h["tensors"][0]["dither"].update(seed=-1), "must be an integer"),
    ],
)
def test_schema_violations(dsz, change: Any, match: str) -> None:
    with pytest.raises(HeaderError, match=match):
        formats.open_dsz(dsz.mutated(change))


@pytest.mark.parametrize(
    "raw_header",
    [b"\x91\xc0", b"\xd4\x01\x00", b"\x80\x80", b"\xc1", b"\x82\xa1a", b"\x81\x01\x02", b"\xa2\xff\xfe"],
    ids=["array-root", "ext", "trailing", "invalid-byte", "short", "int-key", "bad-utf8"],
)
def test_malformed_msgpack_headers(dsz, raw_header: bytes) -> None:
    with pytest.raises(HeaderError):
        formats.open_dsz(dsz.build(None, b"", raw_header=raw_header))


def test_header_checksum_mismatch(dsz) -> None:
    damaged = bytearray(dsz.blob)
    damaged[32] ^= 0xFF
    with pytest.raises(ChecksumError, match="header checksum"):
        formats.open_dsz(bytes(damaged))


def _set_payload(dsz, index: int, payload_bytes: bytes, sha: bool = False) -> bytes:
    """Replace payload ``index`` (same length) and fix its CRC (and the digest if asked)."""
    header = copy.deepcopy(dsz.header)
    record = header["tensors"][index]
    start, length = sum(t["length"] for t in header["tensors"][:index]), record["length"]
    assert len(payload_bytes) == length
    record["crc32"] = zlib.crc32(payload_bytes)
    if sha:
        record["sha256_64"] = hashlib.sha256(payload_bytes).digest()[:8]
    return dsz.build(header, dsz.payloads[:start] + payload_bytes + dsz.payloads[start + length :])


def test_payload_checksum_mismatch_is_found_on_read(dsz) -> None:
    offset = dsz.header["tensors"][0]["length"]  # conv.bias follows conv.weight
    damaged = bytearray(dsz.blob)
    damaged[len(dsz.blob) - len(dsz.payloads) + offset] ^= 1
    with formats.open_dsz(bytes(damaged)) as reader:
        reader.read("steps")  # random access: other tensors still read
        with pytest.raises(ChecksumError, match="CRC-32"):
            reader.read("conv.bias")


def test_decoded_hash_mismatch(dsz) -> None:
    length = dsz.header["tensors"][2]["length"]
    with formats.open_dsz(_set_payload(dsz, 2, bytes(length))) as reader:
        with pytest.raises(ChecksumError, match="SHA-256 \\(first 8 bytes\\)"):
            reader.read("steps")


def test_symbols_out_of_codebook_range(dsz) -> None:
    length = dsz.header["tensors"][0]["length"]
    with formats.open_dsz(_set_payload(dsz, 0, b"\xff" * length)) as reader:
        with pytest.raises(CodecError, match="out of range"):
            reader.read("conv.weight")


def test_bool_payload_must_hold_0_or_1(dsz) -> None:
    blob = formats.dumps({"mask": np.array([True, False])}, codec="raw", format_major=1)
    header, _ = dsz.split(blob)
    header["tensors"][0]["crc32"] = zlib.crc32(b"\x01\x02")
    header["tensors"][0]["sha256_64"] = hashlib.sha256(b"\x01\x02").digest()[:8]
    with formats.open_dsz(dsz.build(header, b"\x01\x02")) as reader:
        with pytest.raises(CodecError, match="bool"):
            reader.read("mask")


def test_corrupt_compressed_payload_is_a_codec_error(dsz) -> None:
    blob = formats.dumps({"z": np.arange(1000, dtype=np.int32)}, codec="zstd", format_major=1)
    header, payloads = dsz.split(blob)
    garbage = bytes(len(payloads))
    header["tensors"][0]["crc32"] = zlib.crc32(garbage)
    with formats.open_dsz(dsz.build(header, garbage)) as reader:
        with pytest.raises(CodecError):
            reader.read("z")
