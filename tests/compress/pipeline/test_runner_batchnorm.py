"""run_recipe with BatchNorm networks: folded files, honest fine-tuned figures, exact resume after codebook tuning."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import formats
from compress.errors import RecipeError
from compress.pipeline.recipe_file import parse_recipe
from compress.pipeline.runner import RunOptions, run_recipe

TASK_MODULE = """
import torch
from torch import nn
from torch.utils.data import TensorDataset

def build():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.Conv2d(6, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                          nn.Flatten(), nn.Linear(6 * 6 * 6, 3))
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2)
    x = torch.randn(96, 1, 6, 6)
    y = (x[:, 0, :3].sum((1, 2)) > 0).long() + (x[:, 0, 3:].sum((1, 2)) > 1).long()
    return model.eval(), TensorDataset(x[:64], y[:64]), TensorDataset(x[64:], y[64:]), "cross_entropy"
"""


@pytest.fixture
def bn_task(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "bn_task_module.py").write_text(textwrap.dedent(TASK_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "bn_task_module:build"
    sys.modules.pop("bn_task_module", None)


def _recipe(task: str, batchnorm: str, augment: str = "none", prune: float = 0.0):
    return parse_recipe({
        "seed": 3,
        "task": {"name": task},
        "finetune": {"steps": 6, "batch": 16, "lr": 1e-3, "zeta_init": 2.0, "s_sd": 0.5, "s_wd": 0.5,
                     "batchnorm": batchnorm, "augment": augment, "ramp_steps": 3, "log_every": 2},
        "winograd": {"3": 2},
        "quantize": {"bits": 4, "prune": prune},
        "codebook": {"steps": 3, "batch": 16},
        "output": {"codec": "zstd"},
    })


def test_a_folded_run_stores_constant_batchnorm_statistics(bn_task: str, tmp_path: Path) -> None:
    out = tmp_path / "fold.dsz"
    report = run_recipe(_recipe(bn_task, "fold", "crop-flip", prune=0.7), out).report
    weights = formats.load(out)
    quantized = [weights[n] for n in ("0.weight", "3.weight", "7.weight")]
    assert sum(int((w == 0).sum()) for w in quantized) >= int(0.7 * sum(w.size for w in quantized))
    for norm in ("1", "4"):
        assert np.array_equal(weights[f"{norm}.running_mean"], np.zeros(6, np.float32))
        assert np.array_equal(weights[f"{norm}.running_var"], np.ones(6, np.float32))
        assert len(set(weights[f"{norm}.weight"].tolist())) == 1
    assert 0.0 <= report["quality"]["finetuned"] <= 1.0


@pytest.mark.parametrize("batchnorm", ["train", "frozen", "fold"])
def test_resuming_after_codebook_tuning_writes_the_same_file(bn_task: str, tmp_path: Path, batchnorm: str) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        first = tmp_path / "first.dsz"
        run_recipe(_recipe(bn_task, batchnorm), first, options=RunOptions(keep_checkpoints=True))
        second = tmp_path / "second.dsz"
        (tmp_path / "first.dsz.ckpt").rename(tmp_path / "second.dsz.ckpt")
        result = run_recipe(_recipe(bn_task, batchnorm), second, options=RunOptions(resume=True))
    finally:
        torch.set_num_threads(threads)
    assert "codebook" in result.resumed
    assert second.read_bytes() == first.read_bytes()


def test_frozen_statistics_survive_codebook_tuning(bn_task: str, tmp_path: Path) -> None:
    import bn_task_module

    original = bn_task_module.build()[0].state_dict()
    out = tmp_path / "frozen.dsz"
    run_recipe(_recipe(bn_task, "frozen"), out)
    weights = formats.load(out)
    for key in ("1.running_mean", "1.running_var", "4.running_var"):
        assert np.array_equal(weights[key], original[key].numpy())
    assert not np.array_equal(weights["1.running_mean"], np.zeros(6, np.float32))
    assert torch.equal(torch.as_tensor(weights["1.running_mean"]), original["1.running_mean"])


def test_the_file_leaves_out_the_batchnorm_counters_and_still_loads_strictly(bn_task: str, tmp_path: Path) -> None:
    import bn_task_module

    out = tmp_path / "counters.dsz"
    run_recipe(_recipe(bn_task, "fold"), out)
    weights = formats.load(out)
    assert not any(name.endswith("num_batches_tracked") for name in weights)
    model = bn_task_module.build()[0]
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()}, strict=True)


def test_the_report_states_the_size_of_the_file_as_written(bn_task: str, tmp_path: Path) -> None:
    out = tmp_path / "size.dsz"
    report = run_recipe(_recipe(bn_task, "fold"), out).report
    assert report["sizes"]["coded"] == out.stat().st_size
    with formats.open_dsz(out) as reader:
        assert reader.recipe["report"]["sizes"]["coded"] == out.stat().st_size


def test_float16_raw_tensors_halve_the_batchnorm_bytes_and_the_report_scores_them(bn_task: str,
                                                                                    tmp_path: Path) -> None:
    sizes, reports = {}, {}
    for raw_float in ("float32", "float16"):
        recipe = _recipe(bn_task, "fold")
        data = recipe.to_map()
        data["output"]["raw_float"] = raw_float
        out = tmp_path / f"{raw_float}.dsz"
        reports[raw_float] = run_recipe(parse_recipe(data), out).report
        sizes[raw_float] = out.stat().st_size
        weights = formats.load(out)
        assert weights["1.bias"].dtype == np.dtype(raw_float) and weights["0.weight"].dtype == np.float32
    assert sizes["float16"] < sizes["float32"]
    assert reports["float16"]["quality"]["finetuned"] == reports["float32"]["quality"]["finetuned"]
    bad = _recipe(bn_task, "fold").to_map()
    bad["output"]["raw_float"] = "bfloat16"
    with pytest.raises(RecipeError, match="output.raw_float must be one of float32, float16"):
        parse_recipe(bad)


def test_a_raw_tensor_float16_cannot_hold_stays_float32() -> None:
    from torch import nn

    from compress.pipeline.artifact import artifact_tensors

    net = nn.Linear(2, 2)
    with torch.no_grad():
        net.bias.copy_(torch.tensor([1e6, 0.5]))
    tensors, _ = artifact_tensors(net, {}, raw_float="float16")
    assert tensors["bias"].dtype == np.float32 and tensors["weight"].dtype == np.float16


def test_statistics_are_re_estimated_on_batches_augmented_as_in_fine_tuning(bn_task: str, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import compress.pipeline.runner as runner

    built: list[tuple[int, str]] = []

    class Recording(runner.LoaderOrder):
        def __init__(self, dataset, batch_size, seed, **kwargs) -> None:  # type: ignore[no-untyped-def]
            built.append((seed, kwargs.get("augment", "none")))
            super().__init__(dataset, batch_size, seed, **kwargs)

    monkeypatch.setattr(runner, "LoaderOrder", Recording)
    run_recipe(_recipe(bn_task, "fold", "crop-flip", prune=0.5), tmp_path / "aug.dsz")
    assert (3 + 2, "crop-flip") in built  # the re-estimation batches (seed + 2) carry the fine-tuning's augmentation


def test_rounded_codebooks_make_a_smaller_header_and_are_what_the_file_decodes_to(bn_task: str,
                                                                                  tmp_path: Path) -> None:
    files = {}
    for bits in (23, 7):
        data = _recipe(bn_task, "fold").to_map()
        data["output"]["codebook_mantissa_bits"] = bits
        files[bits] = tmp_path / f"m{bits}.dsz"
        run_recipe(parse_recipe(data), files[bits])
    with formats.open_dsz(files[7]) as reader:
        for record in reader.records:
            if record.codebook is not None:
                assert not np.any(record.codebook.view(np.uint32) & np.uint32(0xFFFF))  # bfloat16 precision
    assert files[7].stat().st_size < files[23].stat().st_size
    bad = _recipe(bn_task, "fold").to_map()
    bad["output"]["codebook_mantissa_bits"] = 24
    with pytest.raises(RecipeError, match="codebook_mantissa_bits must be in"):
        parse_recipe(bad)
