"""formats.publish: no-replace publication that holds under races, umask modes, stale temporaries swept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import formats
from formats.publish import new_temporary, publish, sweep_stale


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_publish_without_replace_never_touches_an_existing_target(tmp_path: Path) -> None:
    target = tmp_path / "m.dsz"
    target.write_bytes(b"someone else's")
    fd, tmp = new_temporary(target, ".part")
    os.write(fd, b"mine")
    os.close(fd)
    with pytest.raises(FileExistsError):
        publish(tmp, target, replace=False)
    assert target.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dsz"]


def test_a_writer_without_replace_loses_the_race_to_a_file_that_appeared_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "m.dsz"
    writer = formats.Writer(target, replace=False)
    writer.add("w", np.ones(3, np.float32), codec="raw")
    target.write_bytes(b"the other writer's file")  # another process won the name while this one encoded
    with pytest.raises(FileExistsError):
        writer.close()
    assert target.read_bytes() == b"the other writer's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dsz"]


def test_published_files_get_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        formats.save(tmp_path / "a.dsz", {"w": np.zeros(2, np.float32)}, codec="raw")
    finally:
        os.umask(old)
    assert (tmp_path / "a.dsz").stat().st_mode & 0o777 == 0o640


def test_temporaries_of_dead_writers_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "m.dsz"
    dead = tmp_path / f".m.dsz.tmp-{_dead_pid()}-x1.spool"
    live = tmp_path / f".m.dsz.tmp-{os.getppid()}-x2.part"
    other = tmp_path / f".n.dsz.tmp-{_dead_pid()}-x3.spool"
    for path in (dead, live, other):
        path.write_bytes(b"left over")
    assert sweep_stale(target) == [str(dead)]
    formats.save(target, {"w": np.zeros(2, np.float32)}, codec="raw")  # a writer sweeps when it starts
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.dsz", live.name, other.name])
