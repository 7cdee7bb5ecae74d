"""Fixtures for container tests: build files from raw header maps to get past the checksums.

Header surgery edits 1.0 record maps (spec 4.3-4.6): the record rules are the same in both versions,
and a 2.0 table is turned into those maps before they are checked. The 2.0 table's own rules (4.8)
are tested in test_container_table.py.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import msgpack
import numpy as np
import pytest

import formats
from formats.container.preamble import MAGIC, PREAMBLE_SIZE, header_crc32
from formats.container.wire import canonical, pack


def split(blob: bytes) -> tuple[dict[str, Any], bytes]:
    """Header map (inflated) and payload section of a valid file."""
    header_length = struct.unpack_from("<Q", blob, 16)[0]
    raw = zlib.decompress(blob[PREAMBLE_SIZE : PREAMBLE_SIZE + header_length])
    return msgpack.unpackb(raw, raw=False), blob[PREAMBLE_SIZE + header_length :]


def build(
    header: Any,
    payloads: bytes,
    *,
    major: int = 1,
    minor: int = 0,
    flags: int = 0,
    payload_length: int | None = None,
    raw_header: bytes | None = None,
    stored_header: bytes | None = None,
    raw_length: int | None = None,
) -> bytes:
    """A file with a correct CRC around an arbitrary (possibly invalid) header.

    ``header`` is packed canonically, or ``raw_header`` taken as the msgpack bytes; either is
    deflated like the writer does, unless ``stored_header`` gives the stored bytes verbatim.
    ``raw_length`` overrides the declared inflated length.
    """
    body = raw_header if raw_header is not None else pack(canonical(header, max_depth=10_000))
    stored = stored_header if stored_header is not None else zlib.compress(body, 9)
    declared = len(body) if raw_length is None else raw_length
    length = len(payloads) if payload_length is None else payload_length
    fields = struct.pack("<HHIQQI", major, minor, flags, len(stored), length, declared)
    return MAGIC + fields + struct.pack("<I", header_crc32(fields, stored)) + stored + payloads


def sample_blob(codec: str | int = "raw", format_major: int = 1) -> bytes:
    """A small valid file: one quantized, one float32, one int8 and one sparse float16 tensor (1.0 by default)."""
    rng = np.random.default_rng(0)
    q = formats.quantize_dithered(rng.normal(0, 0.1, (3, 2, 3, 3)), 0.05, seed=11, name="conv.weight")
    sparse = np.zeros((3, 5), np.float16)
    sparse[0, 1], sparse[2, 4] = 1.5, -0.0
    tensors = {
        "conv.weight": q,
        "conv.bias": rng.normal(size=3).astype(np.float32),
        "steps": np.arange(-3, 4, dtype=np.int8),
        "fc.sparse": formats.SparseTensor(sparse),
    }
    return formats.dumps(
        tensors,
        codec=codec,
        metadata={"model": "tiny"},
        recipe={"bits": 4, "ops": ["quantize"]},
        attrs={"conv.weight": {"winograd": {"m": 2, "r": 3}}},
        format_major=format_major,
    )


class DszKit:
    """The helpers above plus a small valid file split into header map and payload bytes."""

    build = staticmethod(build)
    split = staticmethod(split)
    sample_blob = staticmethod(sample_blob)

    def __init__(self) -> None:
        self.blob = sample_blob("raw")
        self.header, self.payloads = split(self.blob)

    def mutated(self, change: Any) -> bytes:
        """The sample with ``change(header_map)`` applied (CRC still right)."""
        header = msgpack.unpackb(msgpack.packb(self.header, use_bin_type=True), raw=False)
        change(header)
        return build(header, self.payloads)


@pytest.fixture(scope="session")
def dsz() -> DszKit:
    return DszKit()
