"""``dualsparse compress --recipe``: the full pipeline through the CLI, resume, and its usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import formats

pytestmark = pytest.mark.usefixtures("one_torch_thread")

RECIPE = """
version = 1
seed = 7
[task]
name = "digits-demo"
[task.options]
epochs = 1
[finetune]
steps = 8
batch = 32
lr = 0.001
zeta_init = 2.0
log_every = 4
[winograd]
3 = 2
[quantize]
bits = 4
[codebook]
steps = 2
batch = 32
[output]
codec = "rans"
"""




@pytest.fixture()
def recipe_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(RECIPE)
    return path


def _one_line_error(result, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert needle in lines[-1], result.output


def test_recipe_run_prints_the_report_and_stores_it(run_cli, recipe_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.dsz"
    result = run_cli("compress", "--recipe", recipe_file, "-o", out, "--checkpoint-every", "3")
    assert result.exit_code == 0, result.output
    assert "accuracy: dense" in result.output and "MACs/image" in result.output and "bits/weight" in result.output
    assert f"wrote {out}" in result.output
    with formats.open_dsz(out) as reader:
        reader.verify()
        recipe = reader.recipe
    assert recipe["_data"]["task"]["name"] == "digits-demo"
    assert set(recipe["report"]) >= {"quality", "layers", "macs", "sizes", "sparsity"}
    assert not (tmp_path / "tiny.dsz.ckpt").exists()


def test_stop_then_resume_gives_the_same_bytes(run_cli, recipe_file: Path, tmp_path: Path) -> None:
    whole, resumed = tmp_path / "whole.dsz", tmp_path / "resumed.dsz"
    assert run_cli("compress", "--recipe", recipe_file, "-o", whole, "-q").exit_code == 0
    ckpt = tmp_path / "my-ckpt"
    args = ("compress", "--recipe", recipe_file, "-o", resumed, "--checkpoint-dir", ckpt, "--checkpoint-every", "2")
    _one_line_error(run_cli(*args, "--stop-after-step", "5"), "rerun with --resume")
    assert (ckpt / "finetune-step.pt").exists() and not resumed.exists()
    _one_line_error(run_cli(*args), "pass --resume")
    result = run_cli(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert "resumed: task, finetune step 5" in result.output
    assert resumed.read_bytes() == whole.read_bytes()


def test_resume_never_replaces_an_existing_output(run_cli, recipe_file: Path, tmp_path: Path) -> None:
    unrelated = tmp_path / "mine.dsz"
    unrelated.write_bytes(b"an unrelated file")
    _one_line_error(run_cli("compress", "--recipe", recipe_file, "-o", unrelated, "--resume"), "pass --force")
    assert unrelated.read_bytes() == b"an unrelated file"


def test_recipe_with_a_checkpoint_starts_from_its_weights(run_cli, recipe_file: Path, tmp_path: Path) -> None:
    from compress.demo.model import DigitsNet

    torch.manual_seed(0)
    weights = tmp_path / "w.pt"
    torch.save({"state_dict": DigitsNet().state_dict()}, weights)
    out = tmp_path / "w.dsz"
    assert run_cli("compress", "--recipe", recipe_file, weights, "-o", out, "-q").exit_code == 0
    other = tmp_path / "other.dsz"
    assert run_cli("compress", "--recipe", recipe_file, "-o", other, "-q").exit_code == 0
    assert out.read_bytes() != other.read_bytes()
    bad = tmp_path / "bad.pt"
    torch.save({"fc.weight": torch.zeros(2, 2)}, bad)
    _one_line_error(run_cli("compress", "--recipe", recipe_file, bad, "-o", tmp_path / "b.dsz"), "do not fit")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--bits", "4"), "--bits belong to post-training"),
        (("--model", "lenet5"), "--model belong to post-training"),
    ],
)
def test_post_training_options_are_refused_with_a_recipe(run_cli, recipe_file: Path, tmp_path: Path,
                                                         extra: tuple[str, ...], needle: str) -> None:
    _one_line_error(run_cli("compress", "--recipe", recipe_file, "-o", tmp_path / "x.dsz", *extra), needle)


def test_usage_errors(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    _one_line_error(run_cli("compress", small_checkpoint, "-o", tmp_path / "x.dsz", "--resume"), "need --recipe")
    _one_line_error(run_cli("compress", "-o", tmp_path / "x.dsz"), "give a CHECKPOINT")
    _one_line_error(run_cli("compress", "--recipe", "no-such-recipe", "-o", tmp_path / "x.dsz"), "unknown recipe")
    bad = tmp_path / "bad.toml"
    bad.write_text('[task]\nname = "digits-demo"\n[quantize]\nbits = 5\n[finetune]\nsteps = 0\n')
    _one_line_error(run_cli("compress", "--recipe", bad, "-o", tmp_path / "x.dsz"), "steps must be a positive")


def test_log_options_place_or_drop_the_run_log(run_cli, recipe_file: Path, tmp_path: Path) -> None:
    placed = tmp_path / "logs" / "run.csv"
    placed.parent.mkdir()
    out = tmp_path / "a.dsz"
    assert run_cli("compress", "--recipe", recipe_file, "-o", out, "-q", "--log-csv", placed).exit_code == 0
    assert placed.read_text().startswith("stage,step,") and not (tmp_path / "a.dsz.log.csv").exists()
    quiet = tmp_path / "b.dsz"
    assert run_cli("compress", "--recipe", recipe_file, "-o", quiet, "-q", "--no-log").exit_code == 0
    assert quiet.exists() and not (tmp_path / "b.dsz.log.csv").exists()
    _one_line_error(run_cli("compress", "--recipe", recipe_file, "-o", tmp_path / "c.dsz", "--no-log",
                            "--log-csv", placed), "contradict")
    _one_line_error(run_cli("compress", str(recipe_file), "-o", tmp_path / "d.dsz", "--no-log"), "need --recipe")
