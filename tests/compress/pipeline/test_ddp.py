"""Data-parallel fine-tuning: torchrun with 2 processes (gloo, CPU) matches one process within tolerance."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

from compress.pipeline.batches import BatchSchedule

RECIPE = """
version = 1
seed = 4
[task]
name = "digits-demo"
[task.options]
epochs = 1
[finetune]
steps = 10
batch = 32
lr = 0.001
zeta_init = 2.0
distill = 0.5
log_every = 5
[winograd]
3 = 2
[quantize]
bits = 5
[codebook]
steps = 2
batch = 32
"""

LAUNCHER = "from compress.cli.main import cli\n\ncli()\n"


def test_rank_shards_make_up_the_global_batch() -> None:
    data = TensorDataset(torch.arange(40.0), torch.arange(40))
    whole = BatchSchedule(data, 8, seed=3)
    ranks = [BatchSchedule(data, 8, seed=3, rank=r, world_size=2) for r in range(2)]
    for step in (0, 4, 5, 11):  # 5 batches per epoch: crosses epochs
        assert torch.equal(torch.cat([r.indices(step) for r in ranks]), whole.indices(step))
    assert not torch.equal(whole.indices(0), whole.indices(5))  # each epoch reshuffles


def _compress(tmp_path: Path, name: str, processes: int) -> Path:
    out = tmp_path / f"{name}.dsz"
    args = [str(tmp_path / "launch.py"), "compress", "--recipe", str(tmp_path / "tiny.toml"), "-o", str(out),
            "--keep-checkpoints", "--threads", "1", "-q"]
    if processes > 1:
        args = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.mark.slow
def test_torchrun_two_processes_match_one_process(tmp_path: Path) -> None:
    (tmp_path / "tiny.toml").write_text(RECIPE)
    (tmp_path / "launch.py").write_text(LAUNCHER)
    one = _compress(tmp_path, "one", 1)
    two = _compress(tmp_path, "two", 2)
    single = torch.load(tmp_path / "one.dsz.ckpt" / "finetune.pt", weights_only=True)
    parallel = torch.load(tmp_path / "two.dsz.ckpt" / "finetune.pt", weights_only=True)
    original = torch.load(tmp_path / "one.dsz.ckpt" / "task.pt", weights_only=True)["model"]
    for name, value in single["model"].items():
        assert not torch.equal(value, original[name]) or name.endswith("bias"), f"{name} was not trained"
        torch.testing.assert_close(parallel["model"][name], value, rtol=1e-4, atol=1e-5, msg=name)
    for domain, zeta in single["zeta"].items():
        assert parallel["zeta"][domain] == pytest.approx(zeta, abs=1e-5)
    # rank 0 logged the loss of its half of each batch: proof that the batch really was split
    assert [row[1] for row in parallel["history"]] != [row[1] for row in single["history"]]
    assert two.exists() and one.exists()
    assert not (tmp_path / "two.dsz.ckpt" / "finetune-step.pt").exists()
