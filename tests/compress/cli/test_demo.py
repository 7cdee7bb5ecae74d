"""``dualsparse demo`` (fast variant): the whole job on the embedded digits, files and report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import formats

pytestmark = pytest.mark.usefixtures("one_torch_thread")




def test_fast_demo_runs_end_to_end(run_cli, tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = run_cli("demo", "--workdir", workdir, "--steps", "6", "--codebook-steps", "2", "--epochs", "1")
    assert result.exit_code == 0, result.output
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]"):
        assert step in result.output
    assert {p.name for p in workdir.iterdir()} == {
        "digits-demo.toml", "digits.dsz", "digits-spatial.safetensors", "digits-winograd.safetensors",
        "digits.dsz.log.csv",  # the run's log: one row per logged step
    }
    assert "OK (8 tensors decoded" in result.output
    with formats.open_dsz(workdir / "digits.dsz") as reader:
        report = reader.recipe["report"]
        assert reader.recipe["_data"]["finetune"]["steps"] == 6
    # the accuracies scored from the decompressed files equal the report's (measured on the same bytes)
    line = next(x for x in result.output.splitlines() if x.startswith("test accuracy"))
    scored = [float(v) for v in re.findall(r"(?:safetensors|pruned\)) (\d\.\d{4})", line)]
    quality = report["quality"]
    assert scored == [round(quality["pruned_spatial"], 4), round(quality["pruned_winograd"], 4)]
    assert report["sparsity"]["winograd"] == pytest.approx(0.8, abs=1e-3)
    assert report["sizes"]["coded"] < report["sizes"]["float32"] / 4
