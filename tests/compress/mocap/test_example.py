"""examples/mann_data.py end to end on a folder of synthetic clips: files written, split, refusals."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from mocap_samples import synthetic_dog

from compress.mocap.bvh import BVH, write_bvh
from compress.mocap.dataset import MannDataset
from compress.mocap.normalization import Normalization

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mann_data.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("mann_data_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_clips(folder: Path) -> None:
    folder.mkdir()
    for i, speed in enumerate((0.0, 1.0, 2.0, 0.5)):
        frames = 150 + 10 * i
        xz = np.stack([np.arange(frames) * speed, np.zeros(frames)], axis=1)
        bvh = synthetic_dog(xz, np.zeros(frames))
        write_bvh(BVH(bvh.skeleton, bvh.frame_time, bvh.frames), folder / f"clip{i}.bvh", "\r\n")


def test_example_writes_the_dataset(example, tmp_path, capsys):
    _write_clips(tmp_path / "clips")
    out = tmp_path / "out"
    assert example.main([str(out), "--data", str(tmp_path / "clips"), "--validation", "0.25", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "all (4 clips)" in printed and "inputs (" in printed and "time: read" in printed
    dataset = MannDataset.load(out / "dataset.npz")
    assert dataset.inputs.shape[1:] == (480,) and len(dataset) == 2 * sum(150 + 10 * i - 111 for i in range(4))
    split = json.loads((out / "split.json").read_text())
    assert len(split["validation"]) == 1 and len(split["train"]) == 3
    train = dataset.rows_of(split["train"])
    norm = Normalization.load(out / "normalization.npz")
    assert norm.rows == train.sum()
    np.testing.assert_allclose(norm.output_mean, dataset.outputs[train].mean(axis=0), atol=1e-4)
    assert [row["clip"] for row in json.loads((out / "summary.json").read_text())] == [f"clip{i}" for i in range(4)]


def test_example_refusals(example, tmp_path, capsys):
    assert example.main([str(EXAMPLE.parent / "out"), "--data", str(tmp_path)]) == 1
    assert "inside the repository" in capsys.readouterr().err
    assert example.main([str(tmp_path / "out"), "--data", str(tmp_path)]) == 1
    assert "no .bvh files found" in capsys.readouterr().err
    (tmp_path / "bad.bvh").write_text("HIERARCHY\nROOT\n")
    assert example.main([str(tmp_path / "out"), "--data", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'bad.bvh'}:2:")
