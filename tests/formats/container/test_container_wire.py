"""Literal bytes: the example file of spec/FORMAT.md, canonical msgpack, the bounded scanner."""

from __future__ import annotations

import hashlib
import re
import zlib
from pathlib import Path

import msgpack
import numpy as np
import pytest

import formats
from formats.container import Limits, Producer
from formats.container.preamble import MAGIC, PREAMBLE_SIZE
from formats.container.wire import canonical, pack, scan, unpack
from formats.errors import HeaderError, LimitError

SPEC = Path(__file__).resolve().parents[3] / "spec" / "FORMAT.md"


def _spec_example_bytes(block: int) -> bytes:
    """Hex dump number ``block`` (0: the file, 1: its inflated header) of the spec's example."""
    text = SPEC.read_text(encoding="utf-8")
    dump = text[text.index("## 15. Example file") :].split("```")[1 + 2 * block]
    out = bytearray()
    for line in dump.strip().splitlines():
        out += bytes.fromhex(" ".join(re.findall(r"\b[0-9a-f]{2}\b", line[6:55])))
    return bytes(out)


def test_example_file_in_the_spec_is_what_the_writer_produces() -> None:
    produced = formats.dumps(
        {"x": np.array([1, -2, 3], np.int8)}, codec="raw", producer=Producer("dualsparse", "0.1.0"), format_major=1
    )
    raw_header = _spec_example_bytes(1)
    assert len(raw_header) == int.from_bytes(produced[32:36], "little") == 125
    assert zlib.decompress(produced[PREAMBLE_SIZE:-3]) == raw_header
    assert formats.loads(produced)["x"].tolist() == [1, -2, 3]
    # the stored bytes are those of the reference writer's zlib at level 9 (spec 4.1)
    assert _spec_example_bytes(0) == produced


def test_crc32_is_the_iso_hdlc_variant_named_in_the_spec() -> None:
    assert zlib.crc32(b"123456789") == 0xCBF43926


@pytest.mark.parametrize("major", [1, 2])
def test_preamble_layout(major: int) -> None:
    blob = formats.dumps({"x": np.zeros(2, np.uint8)}, codec="raw", format_major=major)
    assert blob[:8] == MAGIC == bytes.fromhex("89 44 53 5a 0d 0a 1a 0a")
    assert blob[8:16] == bytes([major]) + bytes(7)  # major, minor 0, flags 0
    header_length = int.from_bytes(blob[16:24], "little")
    assert int.from_bytes(blob[24:32], "little") == 2
    assert len(blob) == PREAMBLE_SIZE + header_length + 2
    stored = blob[PREAMBLE_SIZE : PREAMBLE_SIZE + header_length]
    raw = zlib.decompress(stored)
    # 1.0: map(2) producer, tensors; 2.0: map(3) checks (first: spec 4.8), producer, tensors
    assert int.from_bytes(blob[32:36], "little") == len(raw) and raw[:1] == (b"\x82" if major == 1 else b"\x83")
    assert int.from_bytes(blob[36:40], "little") == zlib.crc32(stored, zlib.crc32(blob[8:36]))
    if major == 1:
        assert stored == zlib.compress(raw, 9)
    else:  # a DEFLATE block ends after 'checks' (8 bytes: one RAW/RAW record's sha256_64, no CRC-32)
        assert raw[1:8] == b"\xa6checks" and raw[8:10] == b"\xc4\x08"
        assert raw[10:18] == hashlib.sha256(bytes(2)).digest()[:8]


def test_canonical_packing_sorts_keys_and_uses_shortest_forms() -> None:
    value = canonical({"b": 1, "a": [np.int64(300), np.float32(0.5), b"\x00", (1, 2)], "\u00e9": None})
    assert pack(value) == bytes.fromhex("83 a1 61 94 cd 01 2c cb 3f e0 00 00 00 00 00 00 c4 01 00 92 01 02"
                                        " a1 62 01 a2 c3 a9 c0")


@pytest.mark.parametrize("bad", [{1: 2}, {"a": {3}}, {"a": object()}, {"a": 2**64}, {"a": -(2**63) - 1}])
def test_canonical_rejects_values_msgpack_cannot_carry_canonically(bad: dict) -> None:
    with pytest.raises(ValueError):
        canonical(bad)


def test_scan_counts_depth_from_the_root_map() -> None:
    nested = {"a": 1}
    for _ in range(31):
        nested = {"a": nested}  # 32 levels of maps
    body = pack(canonical(nested))
    scan(body, Limits())
    with pytest.raises(LimitError, match="deeper than 31"):
        scan(body, Limits(max_depth=31))


def test_scan_skips_large_bins_without_walking_them() -> None:
    body = msgpack.packb({"blob": b"\x91" * 100_000}, use_bin_type=True)
    scan(body, Limits(max_objects=3, max_depth=1))


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\xdd\xff\xff\xff\xff", HeaderError),  # array32 claiming 4 G items in 5 bytes
        (b"\xc6\xff\xff\xff\xff", HeaderError),  # bin32 past the end
        (b"\xdb\x00\x00\x00\x05ab", HeaderError),  # str32 past the end
        (b"\x90\x90", HeaderError),  # two root objects
        (b"", HeaderError),
        (b"\x9f" + b"\x90" * 15, LimitError),  # objects cap below
    ],
)
def test_scan_rejects_lies_about_lengths(body: bytes, error: type) -> None:
    with pytest.raises(error):
        unpack(body, Limits(max_objects=10))
