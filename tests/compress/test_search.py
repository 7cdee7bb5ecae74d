"""Accuracy-aware search on tiny models: bisection, the smallest file within budget, the curve it stores."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import compress.cli.accuracy
import compress.entry_points
import compress.search
import formats
from compress.entry_points import Evaluation, build_architecture, load_weights, resolve_evaluation
from compress.errors import OutputError, RecipeError
from compress.post_training import PostTrainingConfig
from compress.prune import NM, PruneConfig, Rows
from compress.search import SearchPoint, bisect_grid, search_post_training, search_prune

pytestmark = pytest.mark.usefixtures("one_torch_thread")




def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16, 5)).eval()


X = torch.randn(200, 2, 4, 4, generator=torch.Generator().manual_seed(1))


def _agreement(reference: nn.Module) -> Evaluation:
    """Top-1 agreement with the original model's predictions (1.0 for the original weights)."""
    with torch.no_grad():
        labels = reference(X).argmax(1)
    return Evaluation("agreement", _net(), lambda m: float((m(X).argmax(1) == labels).float().mean()), "agreement")


@given(st.integers(1, 40), st.data())
@settings(max_examples=60, deadline=None)
def test_bisection_finds_the_last_setting_within_budget(n: int, data: st.DataObject) -> None:
    last_good = data.draw(st.integers(-1, n - 1))
    calls = []

    def trial(v: int) -> SearchPoint:
        calls.append(v)
        return SearchPoint(str(v), v, 100 - v, 1.0, 0.0, 0.0, v <= last_good)

    points, found = bisect_grid(list(range(n)), trial)
    assert found == last_good
    assert len(calls) == len(set(calls)) <= int(np.ceil(np.log2(n + 1)))
    assert [p.value for p in points] == calls


def test_post_training_search_keeps_the_coarsest_bits_within_budget(tmp_path: Path) -> None:
    net = _net()
    judge = _agreement(net)
    out = tmp_path / "net.dsz"
    seen: list[SearchPoint] = []
    result = search_post_training(net.state_dict(), out, judge.score, 0.02,
                                  config=PostTrainingConfig(codec="raw", dither=True),
                                  metric="agreement", on_point=seen.append)
    assert result.baseline == 1.0 and result.best is not None and list(result.points) == seen
    assert all(p.within == (p.drop <= 0.02) for p in seen)
    best_bits = int(result.best.value)
    assert any(not p.within and p.value == best_bits - 1 for p in seen) or best_bits == 2
    assert result.best.bytes == min(p.bytes for p in seen if p.within)
    # the written file is that setting, decoded it scores what the curve says, and it stores the curve
    with formats.open_dsz(out) as reader:
        assert reader.recipe["_data"]["bits"] == best_bits
        stored = json.loads(reader.metadata["search"])
    assert stored["chosen"] == f"bits={best_bits}" and len(stored["points"]) == len(seen)
    assert [p[0] for p in stored["points"]] == [p.setting for p in result.curve()]
    assert judge.score(formats.load(out)) == result.best.metric
    assert result.written_bytes == out.stat().st_size > result.best.bytes


def test_step_search_and_a_zero_budget(tmp_path: Path) -> None:
    net = _net()
    judge = _agreement(net)
    result = search_post_training(net.state_dict(), tmp_path / "s.dsz", judge.score, 0.0, space="step",
                                  config=PostTrainingConfig(codec="raw"))
    assert result.best is not None and result.best.setting.startswith("step=") and result.best.drop <= 0
    assert len(result.points) <= 7  # 57 grid steps
    with formats.open_dsz(tmp_path / "s.dsz") as reader:
        assert reader.recipe["_data"]["step"] == result.best.value


def test_nothing_within_budget_writes_nothing(tmp_path: Path) -> None:
    net = _net()
    calls = iter(range(100))
    result = search_post_training(net.state_dict(), tmp_path / "n.dsz", lambda w: -float(next(calls) > 0), 0.5,
                                  config=PostTrainingConfig(codec="raw"))
    assert result.best is None and result.written_bytes is None
    assert [p.setting for p in result.points][-1] == "bits=16"
    assert not (tmp_path / "n.dsz").exists() and list(tmp_path.iterdir()) == []


def test_an_existing_output_is_kept_without_replace(tmp_path: Path) -> None:
    out = tmp_path / "x.dsz"
    out.write_bytes(b"keep")
    net = _net()
    with pytest.raises(OutputError):
        search_post_training(net.state_dict(), out, lambda w: 1.0, 0.1, config=PostTrainingConfig(codec="raw"))
    assert out.read_bytes() == b"keep"
    result = search_post_training(net.state_dict(), out, lambda w: 1.0, 0.1, config=PostTrainingConfig(codec="raw"),
                                  replace_output=True)
    assert result.best is not None and result.best.bytes == min(p.bytes for p in result.points)
    assert out.stat().st_size == result.written_bytes


def test_lower_is_better_scores(tmp_path: Path) -> None:
    sd = {"w": torch.linspace(-1, 1, 64).reshape(8, 8)}
    error = lambda w: float((w["w"] - sd["w"]).abs().max())  # noqa: E731
    result = search_post_training(sd, tmp_path / "w.dsz", error, 0.05, higher_is_better=False)
    assert result.best is not None and result.best.drop == pytest.approx(result.best.metric)
    assert all(p.within == (p.metric <= 0.05) for p in result.points)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_budgets(tmp_path: Path, bad: float) -> None:
    with pytest.raises(RecipeError, match="max_drop"):
        search_post_training({"w": torch.ones(2, 2)}, tmp_path / "w.dsz", lambda w: 1.0, bad)
    with pytest.raises(RecipeError, match="max_drop"):
        search_prune({"w": torch.ones(2, 2)}, tmp_path / "w.dsz", lambda w: 1.0, bad, PruneConfig(0.0))


@pytest.mark.parametrize("suffix", [".dsz", ".safetensors"])
def test_prune_search_keeps_the_highest_sparsity_within_budget(tmp_path: Path, suffix: str) -> None:
    net = _net()
    judge = _agreement(net)
    out = tmp_path / f"p{suffix}"
    result = search_prune(net.state_dict(), out, judge.score, 0.05, PruneConfig(0.0), max_sparsity=0.9,
                          codec="raw", metric="agreement")
    assert result.best is not None and result.best.within
    values = sorted(p.value for p in result.points)
    assert values[-1] <= 0.9 and all(round(v * 100) == v * 100 for v in values)
    within = [p for p in result.points if p.within]
    boundary = max(p.value for p in within)  # bisection: the next grid step was tried and is over budget
    assert any(not p.within and p.value == round(boundary + 0.01, 6) for p in result.points)
    assert result.best.bytes == min(p.bytes for p in within)
    if suffix == ".safetensors":  # dense files of one size: the most aggressive of them
        assert result.best.value == boundary
    loaded = formats.load(out) if suffix == ".dsz" else _safetensors(out)
    assert judge.score(loaded) == result.best.metric
    weight = loaded["0.weight"]
    assert 0 < float((weight == 0).mean()) <= result.best.value + 0.01
    if suffix == ".dsz":
        with formats.open_dsz(out) as reader:
            assert json.loads(reader.metadata["search"])["chosen"] == result.best.setting
            assert reader.recipe["_data"]["sparsity"] == result.best.value


def _safetensors(path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(path))


def test_prune_search_refuses_nm_and_bad_ranges(tmp_path: Path) -> None:
    sd = _net().state_dict()
    with pytest.raises(RecipeError, match="N:M"):
        search_prune(sd, tmp_path / "p.dsz", lambda w: 1.0, 0.1, PruneConfig(0.5, granularity=NM(2, 4)))
    with pytest.raises(RecipeError, match="max_sparsity"):
        search_prune(sd, tmp_path / "p.dsz", lambda w: 1.0, 0.1, PruneConfig(0.0), max_sparsity=0.0)


def test_structured_search_runs(tmp_path: Path) -> None:
    net = _net()
    result = search_prune(net.state_dict(), tmp_path / "r.dsz", _agreement(net).score, 0.1,
                          PruneConfig(0.0, granularity=Rows()), codec="raw")
    assert result.points and (result.best is None or result.best.within)


def test_entry_points(tmp_path: Path) -> None:
    assert type(build_architecture("torch.nn:Identity")) is nn.Identity
    with pytest.raises(RecipeError, match="neither a zoo model"):
        build_architecture("nosuchmodel")
    with pytest.raises(RecipeError, match="cannot import"):
        build_architecture("no_such_module_xyz:build")
    with pytest.raises(RecipeError, match="must return a torch.nn.Module"):
        build_architecture("builtins:dict")
    with pytest.raises(RecipeError, match="needs the architecture"):
        resolve_evaluation("math:fsum")
    with pytest.raises(RecipeError, match="built-in task"):
        resolve_evaluation("mnist")
    with pytest.raises(RecipeError, match="does not fit Linear: missing bias"):
        load_weights(nn.Linear(2, 2), {"weight": torch.zeros(2, 2)}, "checkpoint x.pt")
    with pytest.raises(RecipeError, match="finite"):
        Evaluation("nan", nn.Identity(), lambda m: float("nan")).score({})


def test_docstring_examples() -> None:
    for module in (compress.search, compress.entry_points, compress.cli.accuracy):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_the_step_search_calibrates_every_candidate(tmp_path: Path) -> None:
    from dataclasses import replace

    from compress.post_training import Calibration, compress_state_dict

    net = _net()
    judge = _agreement(net)
    calibrated, plain = tmp_path / "calibrated.dsz", tmp_path / "plain.dsz"
    config = PostTrainingConfig(codec="raw")
    result = search_post_training(net.state_dict(), calibrated, judge.score, 0.05, space="step", config=config,
                                  calibration=Calibration(net, X[:64]))
    assert result.best is not None
    with formats.open_dsz(calibrated) as reader:
        assert "on 64 inputs" in reader.metadata["calibration"]
    # the written file is the chosen step with corrected biases, not the plain quantization of that step
    compress_state_dict(net.state_dict(), plain, replace(config, step=result.best.value))
    corrected, uncorrected = formats.load(calibrated), formats.load(plain)
    assert np.array_equal(corrected["0.weight"], uncorrected["0.weight"])
    assert not np.array_equal(corrected["0.bias"], uncorrected["0.bias"])
