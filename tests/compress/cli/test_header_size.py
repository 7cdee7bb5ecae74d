"""Issue 11: the stored header of the post-training ResNet-32 file is at most half the 1.0 header (3,951 bytes)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import formats

pytestmark = pytest.mark.data


def test_resnet32_header_is_at_most_half_the_1_0_header(run_cli, shared_data: Path, tmp_path: Path) -> None:
    checkpoint = shared_data / "cifar10-resnet-akamaster" / "resnet32-d509ac18.th"
    artifact = tmp_path / "r32.dsz"
    result = run_cli("compress", checkpoint, "-o", artifact, "--model", "resnet32", "--bits", "6", "--seed", "0")
    assert result.exit_code == 0, result.output
    blob = artifact.read_bytes()
    major, header_length = struct.unpack_from("<H", blob, 8)[0], struct.unpack_from("<Q", blob, 16)[0]
    assert major == 2
    assert header_length <= 3951 // 2  # 1,962 bytes when measured (1.0: 4,130 for the same file)
    with formats.open_dsz(blob) as reader:
        assert len(reader) == 157
        reader.verify()  # every payload CRC and every sha256_64 the file holds
