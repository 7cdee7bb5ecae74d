"""Issue 11: the stored header of the post-training ResNet-32 file, in format 2.0 with every integrity check kept.

The issue asked for at most half the 1.0 header (3,951 bytes when asked: 1,975 bytes). That target is not met
with every 1.0 check kept (FORMAT.md 9, 16.1): the 64-bit digest of the RAW/RAW records costs about 500 bytes
over a CRC-32-only layout. Measured for this file (``--bits 6 --seed 0 --dither``, the quantizer the 1.0 figure
was measured with): 2,186 bytes in 2.0, 4,040 in 1.0. The bound below is that measurement with some room for
the writer's codec choice ("auto"), which decides how many records are RAW/RAW.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import formats
from formats.ids import CodecId, TensorKind

pytestmark = pytest.mark.data

HEADER_BOUND = 2400
"""Stored header bytes, format 2.0 (2,186 when measured; the issue's 1,975 is not met)."""


def test_resnet32_2_0_header_keeps_every_check_within_the_measured_bound(
        run_cli, shared_data: Path, tmp_path: Path) -> None:
    checkpoint = shared_data / "cifar10-resnet-akamaster" / "resnet32-d509ac18.th"
    artifact = tmp_path / "r32.dsz"
    result = run_cli("compress", checkpoint, "-o", artifact, "--model", "resnet32", "--bits", "6", "--seed", "0",
                     "--dither")
    assert result.exit_code == 0, result.output
    blob = artifact.read_bytes()
    major, header_length = struct.unpack_from("<H", blob, 8)[0], struct.unpack_from("<Q", blob, 16)[0]
    assert major == 2
    assert header_length <= HEADER_BOUND
    with formats.open_dsz(blob) as reader:
        assert len(reader) == 157
        for record in reader.records:  # every record has its 64-bit digest, all but RAW/RAW their CRC-32
            assert len(record.sha256_64) == 8
            raw_raw = record.codec == CodecId.RAW and record.kind == TensorKind.RAW
            assert (record.crc32 is None) == raw_raw, record.name
        reader.verify()  # every payload CRC and every sha256_64 the file holds
