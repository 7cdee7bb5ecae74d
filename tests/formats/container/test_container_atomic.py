"""Atomic writes (no partial or temp files on failure) and random access on read."""

from __future__ import annotations

import numpy as np
import pytest

import formats
from formats import codecs
from formats.ids import CodecId


class Boom(RuntimeError):
    pass


def test_exception_mid_write_leaves_no_file_and_no_temp_file(tmp_path) -> None:
    target = tmp_path / "m.dsz"
    with pytest.raises(Boom):
        with formats.Writer(target) as writer:
            writer.add("a", np.zeros(100, np.float32))
            assert len(list(tmp_path.iterdir())) == 1  # the spool only, target not yet there
            raise Boom
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_existing_target_untouched(tmp_path) -> None:
    target = tmp_path / "m.dsz"
    formats.save(target, {"old": np.arange(4.0)})
    before = target.read_bytes()
    with pytest.raises(ValueError, match="cannot be stored"):
        formats.save(target, {"new": np.zeros(3), "bad": np.zeros(2, np.complex128)})
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dsz"]


def test_failure_while_finishing_removes_both_temp_files(tmp_path, monkeypatch) -> None:
    target = tmp_path / "m.dsz"
    target.write_bytes(b"previous")

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("formats.container.writer.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        formats.save(target, {"a": np.zeros(3)})
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dsz"]


def test_successful_write_replaces_target_and_cleans_up(tmp_path) -> None:
    target = tmp_path / "m.dsz"
    target.write_bytes(b"previous")
    formats.save(target, {"a": np.ones(3)})
    assert formats.loads(target.read_bytes())["a"].tolist() == [1.0, 1.0, 1.0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.dsz"]


def test_abort_discards(tmp_path) -> None:
    writer = formats.Writer(tmp_path / "m.dsz")
    writer.add("a", np.ones(3))
    writer.abort()
    writer.close()  # no-op after abort
    assert list(tmp_path.iterdir()) == []


def test_reading_one_tensor_decodes_only_its_payload(tmp_path, monkeypatch) -> None:
    names = [f"t{i}" for i in range(5)]
    path = tmp_path / "m.dsz"
    formats.save(path, {n: np.full(50, i, np.float32) for i, n in enumerate(names)}, codec="zstd")
    calls: list[int] = []
    zstd = codecs.get_codec(CodecId.ZSTD)
    original = zstd.decode

    def counting(payload: bytes, out_size: int, itemsize: int) -> bytes:
        calls.append(out_size)
        return original(payload, out_size, itemsize)

    monkeypatch.setattr(zstd, "decode", counting)
    with formats.open_dsz(path) as reader:
        assert calls == []  # opening validates the layout without decoding anything
        assert reader.read("t3").tolist() == [3.0] * 50
        assert calls == [200]


def test_reader_reads_only_the_needed_bytes(tmp_path, monkeypatch) -> None:
    path = tmp_path / "m.dsz"
    formats.save(path, {"small": np.ones(2, np.float32), "big": np.zeros(100_000, np.float32)}, codec="raw")
    with formats.open_dsz(path) as reader:
        reads: list[tuple[int, int]] = []
        original = reader._read_at

        def spy(offset: int, length: int) -> bytes:
            reads.append((offset, length))
            return original(offset, length)

        monkeypatch.setattr(reader, "_read_at", spy)
        reader.read("small")
        assert reads == [(reads[0][0], 8)]
