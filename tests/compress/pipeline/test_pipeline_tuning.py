"""Tuning knobs of the joint-sparse recipe: the ζ cap and per-tensor bit budgets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from compress.errors import RecipeError
from compress.pipeline.coefficients import LearnableCoefficients
from compress.pipeline.config import CodebookConfig, FinetuneConfig, config_from_recipe
from compress.pipeline.finetune import finetune, seeded_loader
from compress.pipeline.quantization import quantization_steps, quantize_weights
from formats.quantize import step_for_bits


def test_capped_zeta_stops_at_the_cap_with_zero_gradient() -> None:
    c = LearnableCoefficients(("sd", "wd"), init=1.0, zeta_max=2.0)
    c.zeta["wd"].data.fill_(5.0)  # above the cap: the cost sees 2.0 and gives no gradient
    cost = c.cost({"sd": torch.tensor(0.25), "wd": torch.tensor(0.5)}, alpha=1.0)
    assert float(cost.detach()) == pytest.approx(math.exp(1.0) * 0.25 - 1.0 + math.exp(2.0) * 0.5 - 2.0, rel=1e-6)
    cost.backward()
    assert float(c.zeta["sd"].grad) == pytest.approx(math.exp(1.0) * 0.25 - 1.0, rel=1e-6)
    assert float(c.zeta["wd"].grad) == 0.0
    assert c.values() == {"sd": 1.0, "wd": 2.0}


def test_zeta_max_below_init_is_rejected() -> None:
    with pytest.raises(RecipeError, match="zeta_max"):
        LearnableCoefficients(("sd",), init=3.0, zeta_max=2.0)
    with pytest.raises(RecipeError, match="zeta_max"):
        FinetuneConfig(zeta_init=3.0, zeta_max=2.0)
    with pytest.raises(RecipeError, match="zeta_max"):
        CodebookConfig(zeta_max=math.inf)


def test_finetune_zeta_trajectory_respects_the_cap() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(32, 1, 6, 6, generator=g), torch.randint(0, 3, (32,), generator=g))
    config = FinetuneConfig(s_sd=0.7, s_wd=0.7, steps=30, lr=1e-3, zeta_lr=0.1, zeta_init=4.0, zeta_max=5.0,
                            log_every=5)
    result = finetune(net, seeded_loader(data, 8, 0), config)
    zetas = [z for _, sd, wd in result.zeta_trajectory for z in (sd, wd)]
    assert max(zetas) == 5.0  # reached within 30 steps at zeta_lr 0.1, never above
    assert result.zeta == {"sd": 5.0, "wd": 5.0}


def test_tensor_bits_override_takes_first_match_and_own_peak() -> None:
    weights = {"conv.weight": np.array([0.5, -0.25]), "fc.weight": np.array([0.1, 2.0]), "out.weight": np.array([1.0])}
    config = CodebookConfig(bits=4, tensor_bits=(("conv*", 8), ("conv.weight", 2), ("fc.*", 3)))
    steps = quantization_steps(weights, config)
    assert steps["conv.weight"] == step_for_bits(weights["conv.weight"], 8)
    assert steps["fc.weight"] == step_for_bits(weights["fc.weight"], 3)
    assert steps["out.weight"] == step_for_bits(weights["out.weight"], 4)  # shared Δ over the rest only
    assert config.bits_for("other") is None


def test_tensor_bits_reach_the_quantized_tensors() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    q = quantize_weights(net, ["0.weight", "1.weight"], CodebookConfig(step=0.01, tensor_bits=(("1.*", 3),)))
    assert q["0.weight"].step == float(np.float32(0.01))
    assert q["1.weight"].step == step_for_bits(net[1].weight.detach().numpy(), 3)
    assert q["1.weight"].codebook.size <= 7


@pytest.mark.parametrize("tensor_bits", [(("a", 1),), (("a", 17),), (("a",),), ((3, 4),), (("a", True),)])
def test_bad_tensor_bits_are_rejected(tensor_bits: tuple) -> None:
    with pytest.raises(RecipeError, match="tensor_bits"):
        CodebookConfig(tensor_bits=tensor_bits)


def test_current_fields_round_trip_and_older_recipes_still_read() -> None:
    for config, version in (
            (FinetuneConfig(zeta_init=5.0, zeta_max=14.0, batchnorm="fold", augment="crop-flip", ramp_steps=7,
                            lr_schedule="cosine"), 4),
            (CodebookConfig(tensor_bits=(("conv*", 8), ("fc1.*", 4)), zeta_max=15.0, batchnorm="frozen"), 4)):
        recipe = config.to_recipe()
        assert recipe["_version"] == version
        assert config_from_recipe(recipe) == config
        assert config_from_recipe(json.loads(json.dumps(recipe))) == config  # JSON/msgpack give lists back
    older = CodebookConfig(bits=5).to_recipe()  # before version 4, bits without per_layer was one shared step
    older["_version"] = 3
    del older["_data"]["per_layer"]
    assert config_from_recipe(older) == CodebookConfig(bits=5, per_layer=False)
    old = FinetuneConfig(steps=3).to_recipe()
    old["_version"] = 1
    del old["_data"]["zeta_max"]
    assert config_from_recipe(old) == FinetuneConfig(steps=3)
    version_2 = FinetuneConfig(steps=3).to_recipe()
    version_2["_version"] = 2
    for key in ("batchnorm", "augment", "ramp_steps", "decoupled_lr", "lr_schedule"):
        del version_2["_data"][key]
    assert config_from_recipe(version_2) == FinetuneConfig(steps=3, batchnorm="train", augment="none", ramp_steps=0,
                                                           lr_schedule="constant")
    with pytest.raises(RecipeError, match="versions 1 to 4"):
        config_from_recipe({**old, "_version": 5})


def test_cosine_schedule_holds_lr_through_the_ramp_then_decays_to_zero() -> None:
    config = FinetuneConfig(lr=0.2, steps=100, ramp_steps=40, lr_schedule="cosine")
    rates = [config.lr_at(step) for step in range(1, 101)]
    assert rates[:40] == [0.2] * 40
    assert all(a > b for a, b in zip(rates[39:], rates[40:], strict=False))  # strictly falling after the ramp
    assert rates[69] == pytest.approx(0.1) and rates[-1] == 0.0
    assert FinetuneConfig(lr=0.2, steps=5, ramp_steps=9, lr_schedule="cosine").lr_at(5) == 0.2  # ramp covers all
    assert {FinetuneConfig(lr=0.2, steps=100).lr_at(s) for s in (1, 50, 100)} == {0.2}
    with pytest.raises(RecipeError, match="lr_schedule must be one of constant, cosine"):
        FinetuneConfig(lr_schedule="step")


def test_prune_smallest_zeroes_exactly_the_global_fraction() -> None:
    from torch import nn

    from compress.pipeline.quantization import prune_smallest

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(30, 20), nn.Linear(20, 10))
    theta = prune_smallest(net, ["0.weight", "1.weight"], 0.75)
    zeros = int((net[0].weight == 0).sum() + (net[1].weight == 0).sum())
    assert zeros == int(0.75 * 800)
    kept = torch.cat([net[i].weight.detach()[net[i].weight != 0].abs() for i in (0, 1)])
    assert float(kept.min()) > theta
    assert prune_smallest(net, ["0.weight"], 0.0) == float("-inf")
