"""BatchNorm folding keeps the network's function and architecture; frozen BatchNorm keeps its statistics."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from compress.errors import RecipeError
from compress.pipeline.batchnorm import (
    check_batchnorm_mode,
    conv_batchnorm_pairs,
    fold_batchnorm,
    freeze_batchnorm,
    recalibrate_batchnorm,
)
from compress.pipeline.config import FinetuneConfig
from compress.pipeline.finetune import FinetuneEngine
from compress.zoo.resnet_cifar import cifar_resnet


def _randomise_statistics(model: nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) * 3 + 0.1)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))


def test_folding_a_cifar_resnet_keeps_its_outputs_keys_and_shapes() -> None:
    torch.manual_seed(0)
    model = cifar_resnet(20)
    _randomise_statistics(model)
    model.eval()
    x = torch.randn(4, 3, 32, 32)
    before = model(x).detach()
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    pairs = fold_batchnorm(model, x[:1])
    assert len(pairs) == 19  # the stem and two per block: every BatchNorm of ResNet-20
    assert {k: v.shape for k, v in model.state_dict().items()} == shapes
    torch.testing.assert_close(model(x), before, rtol=1e-4, atol=1e-4 * float(before.abs().max()))
    for _, norm_name in pairs:
        norm = dict(model.named_modules())[norm_name]
        assert torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))
        assert torch.equal(norm.running_var, torch.ones_like(norm.running_var))
        assert len(set(norm.weight.tolist())) == 1  # a constant vector: codes to a few bytes


def test_folding_twice_changes_nothing_more() -> None:
    torch.manual_seed(1)
    model = cifar_resnet(20)
    _randomise_statistics(model, 1)
    x = torch.randn(1, 3, 32, 32)
    fold_batchnorm(model, x)
    once = {k: v.clone() for k, v in model.state_dict().items()}
    fold_batchnorm(model, x)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, once[key], rtol=1e-6, atol=1e-7)


class _SharedOutput(nn.Module):
    """The conv's output feeds its BatchNorm and, directly, the sum: folding would change the sum."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.bn = nn.BatchNorm2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) + y


def test_a_conv_whose_output_is_used_twice_is_not_folded(caplog: pytest.LogCaptureFixture) -> None:
    model = _SharedOutput()
    _randomise_statistics(model, 2)
    x = torch.randn(2, 1, 5, 5)
    model.eval()
    before = model(x).detach()
    assert conv_batchnorm_pairs(model, x) == [("conv", "bn")]
    with caplog.at_level(logging.WARNING):
        assert fold_batchnorm(model, x) == []
    assert "not folding bn into conv" in caplog.text
    assert torch.equal(model(x), before)


def test_a_norm_after_a_linear_layer_is_not_paired() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert conv_batchnorm_pairs(model, torch.randn(2, 3)) == []


def test_bad_statistics_are_refused_before_anything_changes() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model[1].running_var[0] = float("nan")
    weight = model[0].weight.detach().clone()
    with pytest.raises(RecipeError, match="non-finite"):
        fold_batchnorm(model, torch.randn(1, 1, 4, 4))
    assert torch.equal(model[0].weight, weight)


def test_unknown_mode_is_a_recipe_error() -> None:
    with pytest.raises(RecipeError, match="batchnorm must be one of"):
        check_batchnorm_mode("sometimes")


def test_fine_tuning_with_frozen_batchnorm_keeps_the_running_statistics() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3))
    stats = (model[1].running_mean.clone(), model[1].running_var.clone())
    engine = FinetuneEngine(model, FinetuneConfig(recipe="sd", steps=3, batchnorm="frozen"))
    for _ in range(3):
        engine.train_step(torch.randn(8, 1, 4, 4), torch.randint(0, 3, (8,)))
    assert torch.equal(model[1].running_mean, stats[0]) and torch.equal(model[1].running_var, stats[1])
    assert model[0].training and not model[1].training


@pytest.mark.parametrize("mode", ["train", "fold"])
def test_fine_tuning_in_train_and_fold_modes_updates_the_statistics(mode: str) -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(64, 3))
    mean = model[1].running_mean.clone()
    engine = FinetuneEngine(model, FinetuneConfig(recipe="sd", steps=1, batchnorm=mode))
    engine.train_step(torch.randn(8, 1, 4, 4) + 1.0, torch.randint(0, 3, (8,)))
    assert not torch.equal(model[1].running_mean, mean)


def test_freeze_counts_the_norms() -> None:
    model = nn.Sequential(nn.BatchNorm1d(2), nn.Sequential(nn.BatchNorm2d(3))).train()
    assert freeze_batchnorm(model) == 2 and not model[0].training and model.training


def test_recalibration_averages_the_batches_and_restores_mode_and_momentum() -> None:
    torch.manual_seed(5)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3)).eval()
    batches = [torch.randn(4, 1, 5, 5) * (k + 1) for k in range(3)]
    assert recalibrate_batchnorm(model, batches) == 1
    with torch.no_grad():
        means = torch.stack([model[0](b).mean((0, 2, 3)) for b in batches])
    torch.testing.assert_close(model[1].running_mean, means.mean(0))
    assert not model.training and model[1].momentum == 0.1 and int(model[1].num_batches_tracked) == 3
