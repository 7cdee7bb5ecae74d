"""compress.atomic: a failed write leaves the target as it was and no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from compress.atomic import atomic_output


def test_failure_keeps_the_old_file_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_success_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with atomic_output(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_without_replace_a_target_that_appears_meanwhile_is_kept(tmp_path: Path) -> None:
    from compress.errors import OutputError

    target = tmp_path / "out.bin"
    with pytest.raises(OutputError, match="exists now"), atomic_output(target, replace=False) as tmp:
        tmp.write_bytes(b"mine")
        target.write_bytes(b"theirs")  # a concurrent run published first
    assert target.read_bytes() == b"theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
