"""The reader's cap on the total decoded size, tied to the file's size (spec FORMAT.md 10.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import formats
from formats import Limits
from formats.errors import LimitError

GOLDEN_FILES = sorted((Path(__file__).resolve().parents[3] / "spec" / "vectors" / "golden").glob("*.dsz"))


def test_the_many_tensor_bomb_fails_at_open_with_limit_error(bomb_file: Path) -> None:
    for attempt in (lambda: formats.open_dsz(bomb_file), lambda: formats.load(bomb_file),
                    lambda: formats.load(bomb_file, domain="winograd"), lambda: formats.loads(bomb_file.read_bytes())):
        with pytest.raises(LimitError, match=r"6,710,886,400 decoded bytes in a 4,\d{3}-byte file.*--max-decoded"):
            attempt()


def test_a_caller_can_raise_the_cap_and_the_bomb_then_decodes_as_written(small_bomb_file: Path) -> None:
    with pytest.raises(LimitError):
        formats.open_dsz(small_bomb_file)
    with formats.open_dsz(small_bomb_file, limits=Limits().with_decoded_cap(20 << 24)) as reader:
        assert len(reader) == 20
        assert not reader.read("z019").any()
    with pytest.raises(LimitError):
        formats.open_dsz(small_bomb_file, limits=Limits().with_decoded_cap((20 << 24) - 1))


def test_a_caller_can_lower_the_cap() -> None:
    blob = formats.dumps({"w": np.zeros(1000, np.float32)}, codec="zstd", format_major=1)
    assert formats.loads(blob)["w"].size == 1000
    with pytest.raises(LimitError, match="in total"):  # max_total_bytes, checked with the header
        formats.loads(blob, limits=Limits().with_decoded_cap(3999))
    with pytest.raises(LimitError):
        formats.loads(blob, limits=Limits(decoded_allowance=0, max_decoded_ratio=1))  # 4,000 > 1 x file size


def test_cap_is_the_floor_or_the_ratio_and_never_above_max_total_bytes() -> None:
    limits = Limits()
    assert limits.max_file_decoded_bytes(0) == 1 << 28
    assert limits.max_file_decoded_bytes(1 << 14) == 1 << 28
    assert limits.max_file_decoded_bytes((1 << 14) + 1) == (1 << 28) + (1 << 14)
    assert limits.max_file_decoded_bytes(1 << 30) == 1 << 38  # max_total_bytes
    with pytest.raises(ValueError, match="integer"):
        limits.with_decoded_cap(-1)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=[p.stem for p in GOLDEN_FILES])
def test_every_golden_vector_is_far_below_the_default_cap(path: Path) -> None:
    with formats.open_dsz(path) as reader:
        total = sum(r.decoded_size for r in reader.records)
    assert total * 100 < Limits().max_file_decoded_bytes(path.stat().st_size)
