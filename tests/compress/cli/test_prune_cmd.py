"""``dualsparse prune``: dry-run report, the three output formats, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from compress.checkpoints import load_state_dict
from compress.cli.main import cli
from compress.prune import prune_count
from compress.prune.export import read_dsz


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                        nn.Linear(128, 10))
    path = tmp_path / "net.pt"
    torch.save(net.state_dict(), path)
    return path


def _run(*args: str) -> object:
    return CliRunner().invoke(cli, ["prune", *(str(a) for a in args)], catch_exceptions=False)


def test_dry_run_prints_report_and_writes_nothing(checkpoint: Path, tmp_path: Path) -> None:
    result = _run(checkpoint, "--sparsity", "0.9", "--dry-run", "--exclude-last")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("0.weight") and line.split()[4] == "0.7083" for line in lines)  # global threshold
    assert any(line.startswith("5.weight") and "excluded: last layer" in line for line in lines)
    assert any(line.startswith("1.weight") and "excluded: norm/1-D" in line for line in lines)
    assert "achieved 0.9000" in result.output and "nothing written" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.pt"]


@pytest.mark.parametrize("suffix", [".dsz", ".safetensors", ".pt"])
def test_writes_each_format(checkpoint: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"pruned{suffix}"
    result = _run(checkpoint, "-o", out, "--sparsity", "0.8", "--scope", "local", "--codec", "zstd", "-q")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {out}")
    tensors = read_dsz(out) if suffix == ".dsz" else {k: v.numpy() for k, v in load_state_dict(out).items()}
    original = load_state_dict(checkpoint)
    assert sorted(tensors) == sorted(original)  # safetensors sorts its keys
    for name in ("0.weight", "3.weight", "5.weight"):
        assert (tensors[name] == 0).sum() == prune_count(0.8, tensors[name].size)
    assert (tensors["0.bias"] == original["0.bias"].numpy()).all()


def test_structured_granularity_and_errors(checkpoint: Path, tmp_path: Path) -> None:
    result = _run(checkpoint, "--sparsity", "0.5", "--granularity", "rows", "--dry-run")
    assert result.exit_code == 0 and "achieved 0.5000" in result.output
    runner = CliRunner()
    cases = [
        (["--sparsity", "90", "--dry-run"], "fraction in [0, 1]"),
        (["--sparsity", "0.5", "--granularity", "diagonal", "--dry-run"], "unknown granularity"),
        (["--sparsity", "0.9", "--granularity", "nm:2:4", "--dry-run"], "fixes the sparsity"),
        (["--sparsity", "0.5", "-o", str(tmp_path / "x.onnx")], "suffix"),
        (["--sparsity", "0.5"], "--dry-run"),
    ]
    for args, message in cases:
        result = runner.invoke(cli, ["prune", str(checkpoint), *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    missing = runner.invoke(cli, ["prune", str(tmp_path / "missing.pt"), "--sparsity", "0.5", "--dry-run"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
