"""Regenerating the vectors in memory reproduces the committed files (GENERATE_EXPECTED=1 rewrites them)."""

from __future__ import annotations

import json
import zlib

import pytest
from spec_vectors import VECTORS


@pytest.fixture(scope="module")
def fresh(generator) -> dict[str, bytes]:
    return generator.build()


def test_regenerated_vectors_equal_the_committed_ones(generator, fresh) -> None:
    assert generator.differences(fresh) == []


def test_same_zlib_means_identical_files(generator, fresh) -> None:
    recorded = json.loads((VECTORS / "negative" / "expected.json").read_text())["zlib_runtime_version"]
    if recorded == zlib.ZLIB_RUNTIME_VERSION:
        for path, blob in fresh.items():
            assert (VECTORS / path).read_bytes() == blob, path
    else:  # another deflate may pick other bytes: the inflated headers and payloads must still agree
        for path, blob in fresh.items():
            if path.startswith("golden/") and path.endswith(".dsz"):
                assert generator.same_content((VECTORS / path).read_bytes(), blob), path


def test_a_changed_vector_is_reported(generator, fresh, tmp_path) -> None:
    for path, blob in fresh.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(blob)
    assert generator.differences(fresh, tmp_path) == []
    first = next(p for p in fresh if p.startswith("golden/") and p.endswith(".dsz"))
    (tmp_path / first).write_bytes(fresh[first][:-1] + bytes([fresh[first][-1] ^ 1]))
    (tmp_path / "negative" / "extra.dsz").write_bytes(b"x")
    assert generator.differences(fresh, tmp_path) == sorted([first, "negative/extra.dsz"])
