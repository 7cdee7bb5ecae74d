"""Damaged golden files: both implementations reject them alike, and the reference decoder raises only DszReject."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from spec_vectors import GOLDEN, VECTORS

import formats

CASES_PER_FILE = 25


def _refresh_header_crc(blob: bytes) -> bytes:
    """Recompute header_crc32 so that damage to the preamble or header reaches the later checks."""
    data = bytearray(blob)
    stored_length = struct.unpack_from("<Q", data, 16)[0]
    if stored_length <= len(data):
        struct.pack_into("<I", data, 36, zlib.crc32(bytes(data[8:36]) + bytes(data[40:40 + stored_length])))
    return bytes(data)


def _mutants(name: str) -> list[bytes]:
    original = (VECTORS / "golden" / f"{name}.dsz").read_bytes()
    rng = random.Random(name)
    out = []
    for case in range(CASES_PER_FILE):
        data = bytearray(original)
        if case % 5 == 4:
            out.append(bytes(data[:rng.randrange(len(data))]))
            continue
        for _ in range(rng.randint(1, 3)):
            index = rng.randrange(len(data))
            data[index] ^= 1 << rng.randrange(8)
        out.append(_refresh_header_crc(bytes(data)) if case % 2 else bytes(data))
    return out


def _formats_outcome(blob: bytes) -> str:
    try:
        with formats.open_dsz(blob) as reader:
            for name in reader.names:
                reader.read(name)
    except formats.FormatError as exc:
        return type(exc).__name__
    return "OK"


@pytest.mark.parametrize("name", GOLDEN)
def test_mutated_golden_files_get_the_same_verdict(name: str, reference) -> None:
    for blob in _mutants(name):
        try:
            reference.decode_bytes(blob)
            ours = "OK"
        except reference.DszReject as exc:
            ours = exc.error
        assert ours == _formats_outcome(blob)
