"""Recipes (validation, TOML round trip), tasks (built-in and entry point) and run_recipe's file and report."""

from __future__ import annotations

import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest

import formats
from compress.errors import RecipeError
from compress.pipeline.recipe_file import builtin_recipes, load_recipe, parse_recipe, recipe_to_toml
from compress.pipeline.runner import run_recipe
from compress.pipeline.tasks import build_task

TASK_MODULE = '''
import torch
from torch import nn
from torch.utils.data import TensorDataset


def build(width=4, n=96):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, 6, 6, generator=g)
    y = x.mean(dim=(1, 2, 3)).unsqueeze(1) * 3.0
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, width, 3), nn.ReLU(), nn.Flatten(), nn.Linear(width * 16, 1))
    return model, TensorDataset(x[:64], y[:64]), TensorDataset(x[64:], y[64:]), "mse"


def not_a_task():
    return "nope"
'''


@pytest.fixture()
def task_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A user task module on sys.path (what the docs tell users to write)."""
    name = f"user_task_{abs(hash(tmp_path)) % 10**8}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(TASK_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _minimal(**sections: dict) -> dict:
    raw: dict = {"task": {"name": "digits-demo"}, "quantize": {"bits": 5}}
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_minimal(finetune={"stepz": 3}), "unknown key finetune.stepz"),
        (_minimal(extra={}), "unknown key 'extra'"),
        (_minimal(finetune={"steps": "ten"}), "finetune.steps must be a integer"),
        (_minimal(finetune={"lr": True}), "finetune.lr must be a number"),
        (_minimal(finetune={"s_wd": 1.5}), r"\[finetune\] s_wd must be a fraction"),
        (_minimal(finetune={"distill": 2.0}), "finetune.distill must be in"),
        (_minimal(finetune={"optimizer": "sgd"}), "finetune.optimizer must be 'adam'"),
        (_minimal(output={"codec": "gzip"}), "output.codec must be one of"),
        (_minimal(quantize={"step": 0.1}), "exactly one of bits"),
        (_minimal(quantize={"bits": 40}), r"\[quantize\] bits must be an integer in \[2, 16\]"),
        (_minimal(quantize={"layers": {"fc.weight": {"bits": 4, "step": 0.1}}}), "quantize.layers.fc.weight"),
        (_minimal(winograd={"3": 12}), "winograd.3 = 12"),
        (_minimal(codebook={"steps": -1}), r"\[codebook\] steps must be a non-negative"),
        (_minimal(version=2), "version = 2 is not supported"),
        ({"quantize": {"bits": 5}}, "task.name is missing"),
    ],
)
def test_bad_recipes_fail_in_one_line_naming_the_key(raw: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message) as info:
        parse_recipe(raw)
    assert "\n" not in str(info.value)


def test_builtin_recipes_validate_and_round_trip_through_toml() -> None:
    assert set(builtin_recipes()) >= {"digits-demo", "lenet5-mnist", "resnet20-cifar10", "resnet56-cifar10"}
    for name in builtin_recipes():
        recipe = load_recipe(name)
        assert recipe.task_name == name
        text = recipe_to_toml(recipe)
        assert parse_recipe(tomllib.loads(text)).to_map() == recipe.to_map()
        assert recipe_to_toml(parse_recipe(tomllib.loads(text))) == text


def test_toml_round_trip_of_tables_and_odd_strings(tmp_path: Path) -> None:
    task = {"name": "pkg.mod:fn", "data_root": 'dir "with" quotes\\ é', "options": {"a": [1, 2], "b": "x"}}
    raw = _minimal(task=task, quantize={"layers": {"0.weight": {"step": 0.25}}}, winograd={"3": 2, "5": 4})
    recipe = parse_recipe(raw)
    path = tmp_path / "r.toml"
    path.write_text(recipe_to_toml(recipe), encoding="utf-8")
    again = load_recipe(path)
    assert again.to_map() == recipe.to_map()
    assert again.layer_overrides["0.weight"].step == 0.25
    assert again.m_for_r == {3: 2, 5: 4}


def test_unknown_recipe_name_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="unknown recipe 'nope'; built-in recipes: "):
        load_recipe("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[task\nname = 1")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(bad)


def test_entry_point_task_runs_the_whole_pipeline(task_module: str, tmp_path: Path) -> None:
    recipe = parse_recipe({
        "seed": 2,
        "task": {"name": f"{task_module}:build", "options": {"width": 4}},
        "finetune": {"steps": 6, "batch": 16, "lr": 1e-3, "log_every": 2},
        "quantize": {"bits": 5, "layers": {"3.weight": {"step": 0.05}}},
        "codebook": {"steps": 2, "batch": 16},
    })
    out = tmp_path / "user.dsz"
    report = run_recipe(recipe, out).report
    assert report["quality"]["metric"] == "mse"
    assert set(report["layers"]) == {"0.weight", "3.weight"}
    assert report["layers"]["3.weight"]["winograd"] is None and report["layers"]["0.weight"]["winograd"] is not None
    with formats.open_dsz(out) as reader:
        stored = reader.recipe
        assert reader.read_quantized("3.weight").step == pytest.approx(0.05)
        assert reader.record("0.weight").attrs == {"winograd": {"m": 4, "r": 3}}
    assert stored["_data"] == recipe.to_map()
    assert stored["report"]["sizes"] == report["sizes"]
    assert [s["_type"] for s in stored["stages"]] == ["FinetuneConfig", "CodebookConfig"]
    sizes = report["sizes"]
    assert sizes["float32"] == 4 * sizes["parameters"] == 4 * (2 * 4 * 9 + 4 + 64 + 1)
    assert sizes["quantized"] < sizes["float32"]
    macs = report["macs"]
    assert macs["spatial_dense"] == 16 * 4 * 2 * 9 + 64
    assert macs["winograd_sparse"] <= macs["winograd_dense"] < macs["spatial_dense"]


def test_entry_point_errors(task_module: str) -> None:
    with pytest.raises(RecipeError, match="must return"):
        build_task(f"{task_module}:not_a_task", data_root=".")
    with pytest.raises(RecipeError, match="has no function"):
        build_task(f"{task_module}:missing", data_root=".")
    with pytest.raises(RecipeError, match="cannot import"):
        build_task("no_such_module_xyz:build", data_root=".")
    with pytest.raises(RecipeError, match="failed"):
        build_task(f"{task_module}:build", data_root=".", options={"colour": 1})
    with pytest.raises(RecipeError, match="unknown task"):
        build_task("lenet7", data_root=".")


def test_override_for_a_weight_the_model_lacks(task_module: str, tmp_path: Path) -> None:
    recipe = parse_recipe({"task": {"name": f"{task_module}:build"}, "finetune": {"steps": 1, "batch": 16},
                           "quantize": {"bits": 5, "layers": {"9.weight": {"bits": 3}}}})
    with pytest.raises(RecipeError, match="quantize.layers.9.weight: not a conv/linear weight"):
        run_recipe(recipe, tmp_path / "x.dsz")


def test_distillation_required_for_the_cifar_tasks(shared_data: Path, tmp_path: Path) -> None:
    raw = load_recipe("resnet20-cifar10").to_map()
    raw["finetune"]["distill"] = 0.0
    raw["task"]["data_root"] = str(shared_data)
    with pytest.raises(RecipeError, match="set finetune.distill > 0"):
        run_recipe(parse_recipe(raw), tmp_path / "r.dsz")


def test_lenet_task_reads_the_shared_data(shared_data: Path) -> None:
    task = build_task("lenet5-mnist", data_root=shared_data)
    assert len(task.train_data) == 17_435 and len(task.eval_data) == 10_000
    assert sum(p.numel() for p in task.model.parameters()) == 431_080
    assert task.example_input().shape == (1, 1, 28, 28)
    assert np.isfinite(task.model(task.example_input()).detach().numpy()).all()
