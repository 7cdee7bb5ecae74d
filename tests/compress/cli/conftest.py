"""Helpers for CLI tests: run the click app in-process and capture its streams separately."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner, Result

from compress.cli.main import cli


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, prog_name="dualsparse")


@pytest.fixture()
def run_cli() -> Callable[..., Result]:
    """``run_cli(*args)`` invokes ``dualsparse ARGS...`` in-process; stderr is kept apart."""
    return _invoke


@pytest.fixture()
def small_checkpoint(tmp_path: Path) -> Path:
    """A small conv+linear state_dict saved with torch.save, wrapped like a training checkpoint."""
    generator = torch.Generator().manual_seed(1)
    state = {
        "module.conv.weight": torch.randn(8, 4, 3, 3, generator=generator) * 0.1,
        "module.conv.bias": torch.randn(8, generator=generator),
        "module.fc.weight": torch.randn(10, 32, generator=generator) * 0.05,
        "module.fc.bias": torch.zeros(10),
        "module.bn.num_batches_tracked": torch.tensor(7),
    }
    path = tmp_path / "small.pt"
    torch.save({"state_dict": state, "epoch": 3}, path)
    return path
