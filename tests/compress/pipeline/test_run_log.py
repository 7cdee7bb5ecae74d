"""The run log: readable progress figures, the CSV rows, resume truncation, TensorBoard only when asked."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from compress.cli.progress import ClickProgress
from compress.errors import OutputError, RecipeError
from compress.pipeline.finetune import StepRecord
from compress.pipeline.recipe_file import parse_recipe
from compress.pipeline.run_log import LOG_FIELDS, CsvLog, TensorBoardLog, describe, log_row, read_log
from compress.pipeline.runner import RunOptions, run_recipe

RECORD = StepRecord(step=50, loss=0.25, cost=-3.5, r_sd=1e-3, r_wd=2e-3, theta_sd=0.07, theta_wd=0.04,
                    zeta_sd=5.5, zeta_wd=5.25)


def test_a_row_holds_every_field_and_reads_back(tmp_path: Path) -> None:
    row = log_row("finetune", RECORD, (0.85, 0.8), 1.23456)
    assert tuple(row) == LOG_FIELDS
    log = CsvLog(tmp_path / "log.csv")
    log.write(row)
    log.write(log_row("codebook", {"step": 4, "loss": 0.5, "zeta_wd": 6.0}, (None, 0.8), 2.0))
    first, second = read_log(log.path)
    assert first == {**row, "wall_s": 1.235}
    assert second["cost"] is None and second["r_sd"] is None and second["zeta_wd"] == 6.0


def test_progress_figures_are_readable_not_reprs() -> None:
    text = describe(log_row("finetune", RECORD, (0.85, 0.8), 0.0))
    assert text == "loss 0.2500 | ζ_SD 5.500 ζ_WD 5.250 | θ_SD 0.07 θ_WD 0.04 | target s_SD 85.0 % s_WD 80.0 %"
    stream = io.StringIO()
    progress = ClickProgress(stream=stream)
    progress.stage("fine-tune", 100)
    progress.advance(5)
    progress.record("fine-tune", log_row("finetune", RECORD, (0.85, 0.8), 0.0))
    progress.advance(50)
    assert stream.getvalue().splitlines() == ["fine-tune: 100 steps", f"fine-tune: 50/100 (50 %), 0 s; step 50: {text}"]
    assert "StepRecord" not in stream.getvalue()


def test_truncate_keeps_what_a_resumed_run_does_not_redo(tmp_path: Path) -> None:
    log = CsvLog(tmp_path / "log.csv")
    for stage, step, wall in [("finetune", 4, 1.0), ("finetune", 8, 2.0), ("codebook", 4, 3.0)]:
        log.write(log_row(stage, {"step": step, "loss": 1.0}, (0.5, 0.5), wall))
    assert log.truncate("codebook", 0) == 2.0
    assert [(r["stage"], r["step"]) for r in read_log(log.path)] == [("finetune", 4), ("finetune", 8)]
    assert log.truncate("finetune", 4) == 1.0
    assert [r["step"] for r in read_log(log.path)] == [4]


def test_a_foreign_csv_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RecipeError, match="not a run log"):
        read_log(tmp_path / "x.csv")


def test_tensorboard_without_the_package_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(RecipeError, match="pip install tensorboard"):
        TensorBoardLog("unused")


def test_tensorboard_scalars_when_installed(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    board = TensorBoardLog(tmp_path / "tb")
    board.write(log_row("finetune", RECORD, (0.85, 0.8), 0.0))
    board.close()
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())


def test_an_existing_log_is_not_replaced_without_force(tmp_path: Path) -> None:
    recipe = parse_recipe({"version": 2, "task": {"name": "digits-demo"}, "quantize": {"bits": 4}})
    out = tmp_path / "m.dsz"
    (tmp_path / "m.dsz.log.csv").write_text("keep me")
    with pytest.raises(OutputError, match="m.dsz.log.csv exists; pass --force"):
        run_recipe(recipe, out, options=RunOptions(replace_output=False))
    assert (tmp_path / "m.dsz.log.csv").read_text() == "keep me"
    assert not out.exists() and not (tmp_path / "m.dsz.ckpt").exists()
