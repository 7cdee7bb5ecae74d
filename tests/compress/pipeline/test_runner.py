"""Recipes (validation, TOML round trip, ζ caps and per-tensor bits), tasks (built-in and entry point),
run_recipe's file and report, and its batch order."""

from __future__ import annotations

import itertools
import sys
import textwrap
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

import formats
from compress.errors import RecipeError
from compress.pipeline.config import CodebookConfig, FinetuneConfig
from compress.pipeline.finetune import seeded_loader
from compress.pipeline.loader_order import LoaderOrder
from compress.pipeline.recipe_file import builtin_recipes, load_recipe, parse_recipe, recipe_to_toml
from compress.pipeline.runner import RunOptions, run_recipe
from compress.pipeline.tasks import build_task
from formats.quantize import step_for_bits

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
        (_minimal(version=3), "version = 3 is not supported"),
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


TOML = """
version = 1
[task]
name = "digits-demo"
[finetune]
zeta_init = 5.0
zeta_max = 14
[quantize]
bits = 7
[quantize.tensor_bits]
"fc*" = 4
"conv*" = 8
"*" = 6
[codebook]
zeta_max = 12.5
"""


def test_new_keys_map_onto_the_version_3_configs() -> None:
    recipe = parse_recipe(tomllib.loads(TOML))
    assert recipe.finetune.zeta_max == 14.0 and recipe.finetune.version == 4
    assert recipe.codebook.zeta_max == 12.5
    assert recipe.codebook.tensor_bits == (("fc*", 4), ("conv*", 8), ("*", 6))  # file order kept
    assert recipe.codebook.bits_for("conv1.weight") == 8 and recipe.codebook.bits_for("x.weight") == 6
    assert recipe.to_map()["quantize"]["tensor_bits"] == [["fc*", 4], ["conv*", 8], ["*", 6]]


def test_batchnorm_augment_and_ramp_keys_reach_both_stages() -> None:
    raw = tomllib.loads(TOML)
    raw["finetune"].update(batchnorm="fold", augment="crop-flip", ramp_steps=40, lr_schedule="cosine")
    recipe = parse_recipe(raw)
    assert (recipe.finetune.batchnorm, recipe.finetune.augment, recipe.finetune.ramp_steps) == ("fold", "crop-flip", 40)
    assert recipe.finetune.lr_schedule == "cosine" and 'lr_schedule = "cosine"' in recipe_to_toml(recipe)
    assert recipe.codebook.batchnorm == "fold"
    for key, value in (("batchnorm", "sometimes"), ("augment", "mixup"), ("ramp_steps", -1), ("lr_schedule", "step")):
        bad = tomllib.loads(TOML)
        bad["finetune"][key] = value
        with pytest.raises(RecipeError, match=key):
            parse_recipe(bad)


def test_recipes_without_the_new_keys_keep_their_defaults() -> None:
    recipe = parse_recipe(_minimal())
    assert recipe.finetune.batchnorm == "train" and recipe.finetune.augment == "none"
    assert recipe.finetune.zeta_max is None and recipe.codebook.zeta_max is None
    assert recipe.codebook.tensor_bits == ()
    assert "zeta_max" not in recipe_to_toml(recipe) and "tensor_bits" not in recipe_to_toml(recipe)


def test_tensor_bits_order_survives_toml_and_the_array_form() -> None:
    recipe = parse_recipe(tomllib.loads(TOML))
    text = recipe_to_toml(recipe)
    assert '[quantize.tensor_bits]\n"fc*" = 4\n"conv*" = 8\n"*" = 6\n' in text
    again = parse_recipe(tomllib.loads(text))
    assert again.to_map() == recipe.to_map() and again.codebook == recipe.codebook
    as_array = parse_recipe(_minimal(quantize={"tensor_bits": [["b*", 3], ["a*", 9]]}))
    assert as_array.codebook.tensor_bits == (("b*", 3), ("a*", 9))
    assert parse_recipe(as_array.to_map()).to_map() == as_array.to_map()


def test_layer_overrides_win_over_tensor_bits() -> None:
    recipe = parse_recipe(_minimal(quantize={"tensor_bits": {"*": 3}, "layers": {"fc.weight": {"bits": 9}}}))
    assert recipe.layer_overrides["fc.weight"].tensor_bits == ()
    assert recipe.layer_overrides["fc.weight"].bits == 9


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"finetune": {"zeta_max": "big"}}, "finetune.zeta_max must be a number"),
        ({"finetune": {"zeta_init": 5.0, "zeta_max": 4.0}}, r"finetune.zeta_max must be >= finetune.zeta_init"),
        ({"finetune": {"zeta_max": float("inf")}}, "finetune.zeta_max must be finite"),
        ({"codebook": {"zeta_max": True}}, "codebook.zeta_max must be a number"),
        ({"codebook": {"zeta_max": float("nan")}}, "codebook.zeta_max must be finite"),
        ({"quantize": {"tensor_bits": {"conv*": 1}}}, r'quantize.tensor_bits."conv\*" must be an integer in \[2, 16\]'),
        ({"quantize": {"tensor_bits": {"conv*": 17}}}, r'quantize.tensor_bits."conv\*" must be an integer'),
        ({"quantize": {"tensor_bits": {"fc": 8.0}}}, r'quantize.tensor_bits."fc" must be an integer'),
        ({"quantize": {"tensor_bits": {"fc": True}}}, r'quantize.tensor_bits."fc" must be an integer'),
        ({"quantize": {"tensor_bits": {"": 4}}}, "a pattern must be a non-empty string"),
        ({"quantize": {"tensor_bits": [["a", 4], ["a", 5]]}}, r'quantize.tensor_bits."a" is given twice'),
        ({"quantize": {"tensor_bits": [[3, 4]]}}, "a pattern must be a non-empty string"),
        ({"quantize": {"tensor_bits": 8}}, "quantize.tensor_bits must be a table"),
        ({"quantize": {"tensor_bits": [["a", 4, 5]]}}, "quantize.tensor_bits must be a table"),
    ],
)
def test_bad_values_fail_in_one_line_naming_the_key(sections: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message) as info:
        parse_recipe(_minimal(**sections))
    assert "\n" not in str(info.value)


def test_builtin_lenet_recipe_holds_the_tuned_settings() -> None:
    recipe = load_recipe("lenet5-mnist")
    assert recipe.finetune == FinetuneConfig(
        recipe="wd+sd", s_sd=0.98, s_wd=0.85, steps=5000, lr=3e-4, zeta_lr=0.02, zeta_init=5.0, zeta_max=14.0,
        distill_weight=0.5, temperature=2.0, m_for_r=((3, 4), (5, 4)), seed=0, log_every=50,
    )
    assert recipe.codebook == CodebookConfig(
        bits=7, per_layer=False, tensor_bits=(("conv*", 8), ("fc1.*", 4), ("fc2.*", 6)), seed=0, steps=150, lr=1e-4,
        zeta_lr=0.02,
        s_wd=0.85, wd_regularizer=True, prune=0.98,
    )
    assert recipe.section("finetune")["batch"] == recipe.section("codebook")["batch"] == 128


def test_run_applies_tensor_bits_and_stores_their_order(task_module: str, tmp_path: Path) -> None:
    recipe = parse_recipe({
        "task": {"name": f"{task_module}:build"},
        "finetune": {"steps": 4, "batch": 16, "lr": 1e-3, "zeta_init": 1.0, "zeta_max": 1.5},
        "quantize": {"bits": 5, "tensor_bits": {"3.*": 3, "*": 9}},
        "codebook": {"steps": 2, "batch": 16, "zeta_max": 1.2},
    })
    out = tmp_path / "bits.dsz"
    report = run_recipe(recipe, out, options=RunOptions(keep_checkpoints=True)).report
    assert report["zeta"]["finetune_wd"] <= 1.5 and report["zeta"]["codebook_wd"] <= 1.2
    tuned = torch.load(tmp_path / "bits.dsz.ckpt" / "finetune.pt", weights_only=True)["model"]
    with formats.open_dsz(out) as reader:
        stored = reader.recipe
        assert reader.read_quantized("3.weight").step == step_for_bits(tuned["3.weight"].numpy(), 3)
        assert reader.read_quantized("0.weight").step == step_for_bits(tuned["0.weight"].numpy(), 9)
    assert stored["_data"]["quantize"]["tensor_bits"] == [["3.*", 3], ["*", 9]]
    assert stored["stages"][1]["_data"]["tensor_bits"] == [["3.*", 3], ["*", 9]]


def test_pattern_that_matches_no_weight_fails_before_quantizing(task_module: str, tmp_path: Path) -> None:
    recipe = parse_recipe({"task": {"name": f"{task_module}:build"}, "finetune": {"steps": 1, "batch": 16},
                           "quantize": {"bits": 5, "tensor_bits": {"conv*": 8}}})
    with pytest.raises(RecipeError, match=r"quantize.tensor_bits.'conv\*' matches no conv/linear weight"):
        run_recipe(recipe, tmp_path / "x.dsz")


@pytest.mark.parametrize(("size", "batch", "seed"), [(10, 4, 3), (12, 4, 0), (9, 8, 2**63 - 1)])
def test_loader_order_is_the_seeded_loader_cycled(size: int, batch: int, seed: int) -> None:
    data = TensorDataset(torch.arange(float(size)), torch.arange(size))
    steps = 4 * -(-size // batch) + 1  # four epochs and one batch
    loader = seeded_loader(data, batch, seed)  # what examples/ pass to the stage functions, cycled
    expected = [labels for _, labels in itertools.chain.from_iterable(loader for _ in range(5))]
    order = LoaderOrder(data, batch, seed)
    got = [order.batch(k)[1] for k in range(steps)]
    assert all(torch.equal(a, b) for a, b in zip(got, expected[:steps], strict=True))
    assert torch.equal(order.batch(1)[1], expected[1])  # going back (a resumed run) replays the generator


def test_loader_order_ranks_share_every_global_batch() -> None:
    data = TensorDataset(torch.arange(11.0), torch.arange(11))
    whole = LoaderOrder(data, 4, seed=1)
    ranks = [LoaderOrder(data, 4, seed=1, rank=r, world_size=2) for r in range(2)]
    for step in range(7):  # batches of 4, 4, 3 per epoch: the last one splits 2 + 1
        assert torch.equal(torch.cat([r.indices(step) for r in ranks]), whole.indices(step))
    assert [len(r.indices(2)) for r in ranks] == [2, 1]
    with pytest.raises(RecipeError, match="last batch of each epoch holds 1 of the 9 examples, fewer than the 2"):
        LoaderOrder(TensorDataset(torch.arange(9.0), torch.arange(9)), 4, seed=0, world_size=2)


def test_a_report_whose_size_oscillates_still_states_its_files_own_size() -> None:
    import json
    import zlib

    from compress.pipeline.own_size import encode_stating_own_size

    def encode(report: dict) -> bytes:  # the length jitters with the report's bytes, as a compressed header's does
        return b"x" * (2000 + zlib.crc32(json.dumps(report, sort_keys=True).encode()) % 7)

    for start in range(20):
        blob, stated = encode_stating_own_size({"sizes": {"coded": start}, "n": start},
                                               lambda coded: {"coded": coded, "ratio": 9e6 / coded}, encode)
        assert len(blob) == stated["sizes"]["coded"]
        assert encode(stated) == blob
