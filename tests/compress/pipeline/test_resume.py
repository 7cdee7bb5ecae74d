"""Checkpoints and exact resume of run_recipe: an interrupted run resumed gives the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from compress.errors import RecipeError
from compress.pipeline.checkpointing import CheckpointStore, capture_rng, restore_rng, stage_fingerprints
from compress.pipeline.errors import CheckpointMismatchError, RunStopped
from compress.pipeline.recipe_file import parse_recipe
from compress.pipeline.run_log import read_log
from compress.pipeline.runner import Progress, RunOptions, run_recipe


def _recipe(steps: int = 12, seed: int = 5, bits: int = 4, codebook_steps: int = 4, lr: float = 1e-3):
    return parse_recipe({
        "seed": seed,
        "task": {"name": "digits-demo", "options": {"epochs": 1}},
        "finetune": {"steps": steps, "batch": 32, "lr": lr, "zeta_init": 2.0, "distill": 0.5, "log_every": 4},
        "winograd": {"3": 2},
        "quantize": {"bits": bits},
        "codebook": {"steps": codebook_steps, "batch": 32},
        "output": {"codec": "zstd"},
    })


class _Crash(Progress):
    """Raises while stage ``stage`` is at ``position`` (an injected failure)."""

    def __init__(self, stage: str, position: int) -> None:
        self.target = (stage, position)
        self.current = ""

    def stage(self, name: str, total: int) -> None:
        self.current = name

    def advance(self, position: int) -> None:
        if (self.current, position) == self.target:
            raise KeyboardInterrupt(f"injected at {self.target}")


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "ref.dsz"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same thread count as the tests (float reductions depend on it)
    try:
        run_recipe(_recipe(), out)
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def reference(reference_run: Path) -> bytes:
    return reference_run.read_bytes()


def _without_wall(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def test_stop_after_step_then_resume_is_byte_identical(reference: bytes, reference_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.dsz"
    options = RunOptions(checkpoint_every=5, stop_after_step=7)
    with pytest.raises(RunStopped, match="--resume"):
        run_recipe(_recipe(), out, options=options)
    assert not out.exists()
    assert (tmp_path / "run.dsz.ckpt" / "log.csv").is_file()  # the live log: steps 4 of fine-tuning
    assert not (tmp_path / "run.dsz.log.csv").exists()
    result = run_recipe(_recipe(), out, options=RunOptions(checkpoint_every=5, resume=True))
    assert "finetune step 7" in result.resumed
    assert out.read_bytes() == reference
    assert not (tmp_path / "run.dsz.ckpt").exists()  # cleaned after success
    rows = read_log(tmp_path / "run.dsz.log.csv")
    assert [(r["stage"], r["step"]) for r in rows] == [("finetune", 4), ("finetune", 8), ("finetune", 12),
                                                       ("codebook", 4)]
    assert _without_wall(rows) == _without_wall(read_log(reference_run.with_name("ref.dsz.log.csv")))
    assert all(a["wall_s"] <= b["wall_s"] for a, b in zip(rows, rows[1:], strict=False))


@pytest.mark.parametrize(("stage", "position"), [("fine-tune", 8), ("codebook", 3)])
def test_injected_crash_then_resume_is_byte_identical(reference: bytes, tmp_path: Path, stage: str,
                                                      position: int) -> None:
    out = tmp_path / "run.dsz"
    with pytest.raises(KeyboardInterrupt):
        run_recipe(_recipe(), out, options=RunOptions(checkpoint_every=5), progress=_Crash(stage, position))
    saved = sorted(p.name for p in (tmp_path / "run.dsz.ckpt").iterdir())
    expected = ["finetune-step.pt", "task.pt"] if stage == "fine-tune" else ["finetune.pt", "quantize.pt", "task.pt"]
    expected = sorted([*expected, "log.csv"])  # the live run log stays beside the checkpoints
    assert saved == expected
    result = run_recipe(_recipe(), out, options=RunOptions(checkpoint_every=5, resume=True))
    assert result.resumed[0] == "task"
    assert out.read_bytes() == reference


def test_checkpoint_holds_the_full_state_and_loads_weights_only(tmp_path: Path) -> None:
    out = tmp_path / "run.dsz"
    with pytest.raises(RunStopped):
        run_recipe(_recipe(), out, options=RunOptions(checkpoint_every=100, stop_after_step=3))
    record = torch.load(tmp_path / "run.dsz.ckpt" / "finetune-step.pt", weights_only=True)
    engine = record["engine"]
    assert engine["step"] == 3 and record["data_position"] == 3
    assert set(engine) == {"step", "model", "optimizer", "zeta", "history"}
    assert set(engine["zeta"]) == {"zeta.sd", "zeta.wd"}
    assert engine["optimizer"]["state"]  # Adam moments
    assert set(record["rng"]) == {"torch", "python", "numpy"}


def test_resume_refuses_another_recipe(tmp_path: Path) -> None:
    out = tmp_path / "run.dsz"
    with pytest.raises(RunStopped):
        run_recipe(_recipe(), out, options=RunOptions(stop_after_step=2))
    with pytest.raises(CheckpointMismatchError, match="different recipe"):
        run_recipe(_recipe(seed=6), out, options=RunOptions(resume=True))


def test_existing_checkpoints_need_resume_or_restart(tmp_path: Path) -> None:
    out = tmp_path / "run.dsz"
    with pytest.raises(RunStopped):
        run_recipe(_recipe(), out, options=RunOptions(stop_after_step=2))
    with pytest.raises(RecipeError, match="--resume"):
        run_recipe(_recipe(), out)
    with pytest.raises(RunStopped):  # restart discards them and starts over
        run_recipe(_recipe(), out, options=RunOptions(restart=True, stop_after_step=1))


def test_rng_state_round_trips(tmp_path: Path) -> None:
    import random

    import numpy as np

    state = capture_rng()
    first = (torch.rand(3), random.random(), np.random.rand())
    store = CheckpointStore(tmp_path, stage_fingerprints({"seed": 0}, None))
    store.save("task", {"model": {}})
    restore_rng(store.load("task")["rng"])
    restore_rng(state)
    again = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(first[0], again[0]) and first[1:] == again[1:]


@pytest.mark.parametrize(("change", "reused"), [
    ({"codebook_steps": 2}, ["task", "finetune", "quantize"]),
    ({"bits": 3}, ["task", "finetune"]),
    ({"lr": 2e-3}, ["task"]),
])
def test_resume_after_a_recipe_edit_reuses_the_stages_it_does_not_touch(tmp_path: Path, change: dict,
                                                                        reused: list[str]) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fresh = tmp_path / "fresh.dsz"
        run_recipe(_recipe(**change), fresh)
        checkpoints = tmp_path / "first.ckpt"
        run_recipe(_recipe(), tmp_path / "first.dsz",
                   options=RunOptions(checkpoint_dir=checkpoints, keep_checkpoints=True))
        notes: list[str] = []

        class _Notes(Progress):
            def note(self, text: str) -> None:
                notes.append(text)

        edited = tmp_path / "edited.dsz"
        result = run_recipe(_recipe(**change), edited, options=RunOptions(checkpoint_dir=checkpoints, resume=True),
                            progress=_Notes())
    finally:
        torch.set_num_threads(threads)
    assert result.resumed == reused
    assert any("recipe changed since the earlier run" in n for n in notes)
    assert edited.read_bytes() == fresh.read_bytes()  # what a run of the edited recipe from scratch writes
