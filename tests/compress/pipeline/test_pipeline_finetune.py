"""Learnable coefficients (eq. 5), configs/recipes, and the fine-tuning loop on a tiny model."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from compress.errors import RecipeError
from compress.pipeline.coefficients import LearnableCoefficients
from compress.pipeline.config import CodebookConfig, FinetuneConfig, config_from_recipe
from compress.pipeline.finetune import finetune, seeded_loader
from compress.pipeline.losses import network_loss
from compress.pipeline.regularizers import spatial_regularizer, winograd_regularizer


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def _data(n: int = 32) -> TensorDataset:
    g = torch.Generator().manual_seed(1)
    return TensorDataset(torch.randn(n, 1, 6, 6, generator=g), torch.randint(0, 3, (n,), generator=g))


def test_cost_is_eq5_and_zeta_gradient() -> None:
    c = LearnableCoefficients(("sd", "wd"), init=0.5)
    r_sd, r_wd = torch.tensor(0.2), torch.tensor(0.3)
    cost = c.cost({"sd": r_sd, "wd": r_wd}, alpha=2.0)
    expected = math.exp(0.5) * 0.2 + math.exp(0.5) * 0.3 - 2.0 * (0.5 + 0.5)
    assert float(cost.detach()) == pytest.approx(expected, rel=1e-6)
    cost.backward()
    assert float(c.zeta["sd"].grad) == pytest.approx(math.exp(0.5) * 0.2 - 2.0, rel=1e-6)
    assert float(c.zeta["wd"].grad) == pytest.approx(math.exp(0.5) * 0.3 - 2.0, rel=1e-6)


def test_single_domain_recipe_has_one_coefficient() -> None:
    c = LearnableCoefficients(("wd",))
    assert list(c.values()) == ["wd"]
    with pytest.raises(RecipeError, match="domain 'wd'"):
        c.cost({"sd": torch.tensor(1.0)}, alpha=1.0)


@pytest.mark.parametrize(
    "kwargs", [{"recipe": "l1"}, {"s_sd": 1.0}, {"steps": 0}, {"lr": -1.0}, {"loss": "hinge"}, {"seed": -1}]
)
def test_bad_finetune_config_is_rejected(kwargs: dict) -> None:
    with pytest.raises(RecipeError):
        FinetuneConfig(**kwargs)


def test_recipes_round_trip() -> None:
    for config in (FinetuneConfig(recipe="wd", steps=7, m_for_r=((3, 2),)), CodebookConfig(step=0.02, steps=0)):
        assert config_from_recipe(config.to_recipe()) == config
    with pytest.raises(RecipeError, match="unknown config type"):
        config_from_recipe({"_type": "os.system", "_version": 1, "_data": {}})


@pytest.mark.parametrize("recipe", ["wd+sd", "sd", "wd"])
def test_finetune_logs_zeta_trajectory_and_lowers_regularizers(recipe: str) -> None:
    net = _net()
    config = FinetuneConfig(
        recipe=recipe, s_sd=0.7, s_wd=0.7, steps=40, lr=1e-3, zeta_lr=0.05, zeta_init=4.0, log_every=10
    )
    result = finetune(net, seeded_loader(_data(), 8, 0), config)
    assert [r.step for r in result.history] == [10, 20, 30, 40]
    steps, zeta_sd, zeta_wd = zip(*result.zeta_trajectory, strict=True)
    assert ("sd" in config.domains) == (zeta_sd[0] is not None)
    assert ("wd" in config.domains) == (zeta_wd[0] is not None)
    for zetas in (zeta_sd, zeta_wd):
        if zetas[0] is not None:
            assert list(zetas) == sorted(zetas) and zetas[-1] > 0  # -alpha*zeta pushes zeta up
    first, last = result.history[0], result.history[-1]
    if "sd" in config.domains:
        assert last.r_sd < first.r_sd
    if "wd" in config.domains:
        assert last.r_wd < first.r_wd


def test_finetune_is_deterministic_and_calls_progress() -> None:
    seen: list[int] = []
    states = []
    for _ in range(2):
        net = _net()
        config = FinetuneConfig(steps=12, lr=1e-3, log_every=4)
        finetune(net, seeded_loader(_data(), 8, 5), config, progress=lambda r: seen.append(r.step))
        states.append({k: v.clone() for k, v in net.state_dict().items()})
    assert seen == [4, 8, 12, 4, 8, 12]
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key])


def test_thresholds_fall_under_regularization() -> None:
    net = _net()
    params = dict(net.named_parameters())
    from compress.pipeline.targets import collect_targets

    targets = collect_targets(net)
    before_sd = spatial_regularizer(params, targets, 0.8)
    before_wd = winograd_regularizer(params, targets, 0.8)
    finetune(net, seeded_loader(_data(), 8, 0), FinetuneConfig(s_sd=0.8, s_wd=0.8, steps=100, lr=2e-3, zeta_init=5.0))
    after_sd = spatial_regularizer(dict(net.named_parameters()), targets, 0.8)
    after_wd = winograd_regularizer(dict(net.named_parameters()), targets, 0.8)
    assert after_sd.threshold < 0.6 * before_sd.threshold, (after_sd.threshold, before_sd.threshold)
    assert after_wd.threshold < 0.9 * before_wd.threshold, (after_wd.threshold, before_wd.threshold)


def test_distillation_needs_teacher_and_uses_it() -> None:
    with pytest.raises(RecipeError, match="teacher"):
        finetune(_net(), seeded_loader(_data(), 8, 0), FinetuneConfig(steps=1, distill_weight=0.5))
    student, teacher = _net(0), _net(1)
    x, y = _data()[:8]
    plain = network_loss(student(x), y, loss="cross_entropy")
    mixed = network_loss(student(x), y, loss="cross_entropy", teacher_outputs=teacher(x), distill_weight=1.0)
    same = network_loss(student(x), y, loss="cross_entropy", teacher_outputs=student(x), distill_weight=1.0)
    assert float(same.detach()) == pytest.approx(0.0, abs=1e-6)
    assert float(mixed.detach()) != pytest.approx(float(plain.detach()))
    result = finetune(
        copy.deepcopy(student), seeded_loader(_data(), 8, 0), FinetuneConfig(steps=3, distill_weight=0.5),
        teacher=teacher,
    )
    assert len(result.history) == 1


def test_decoupled_regularizer_step_is_exactly_a_gradient_step_after_adam() -> None:
    from compress.pipeline.finetune import FinetuneEngine

    x, y = _data(8).tensors
    coupled_net, decoupled_net = _net(3), _net(3)
    engine = FinetuneEngine(decoupled_net, FinetuneConfig(recipe="wd+sd", steps=1, zeta_init=2.0, decoupled_lr=0.5))
    reference = FinetuneEngine(coupled_net, FinetuneConfig(recipe="wd+sd", steps=1, zeta_init=2.0))
    params = dict(coupled_net.named_parameters())
    regs = {"sd": spatial_regularizer(params, reference.targets, 0.8),
            "wd": winograd_regularizer(params, reference.targets, 0.8)}
    penalty = sum(math.exp(2.0) * r.value for r in regs.values())
    names = list(reference.targets.spatial)
    grads = torch.autograd.grad(penalty, [params[n] for n in names])
    # Adam alone on the task loss (what the decoupled engine's Adam sees for the weights)
    task_only = FinetuneEngine(coupled_net, FinetuneConfig(recipe="sd", steps=1, zeta_init=-60.0, alpha=1e-9))
    task_only.train_step(x, y)
    engine.train_step(x, y)
    decoupled = dict(decoupled_net.named_parameters())
    for name, grad in zip(names, grads, strict=True):
        torch.testing.assert_close(decoupled[name], params[name].detach() - 0.5 * grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("recipe", ["sd", "wd", "wd+sd"])
def test_decoupled_step_runs_in_every_domain_and_leaves_unregularized_weights_to_adam(recipe: str) -> None:
    net = _net(5)
    before = net[3].weight.detach().clone()
    config = FinetuneConfig(recipe=recipe, steps=3, lr=1e-3, zeta_init=4.0, decoupled_lr=0.1)
    finetune(net, seeded_loader(_data(), 8, 0), config)
    assert not torch.equal(net[3].weight, before)  # trained by Adam whether a domain regularizes it or not


def test_decoupled_regularizer_shrinks_the_small_weights_faster() -> None:
    results = {}
    for decoupled_lr in (0.0, 0.05):
        net = _net(4)
        config = FinetuneConfig(s_sd=0.8, s_wd=0.8, steps=60, lr=1e-3, zeta_init=6.0, decoupled_lr=decoupled_lr)
        results[decoupled_lr] = finetune(net, seeded_loader(_data(), 8, 0), config).history[-1]
    assert results[0.05].theta_sd < 0.5 * results[0.0].theta_sd, results


def test_engine_applies_the_scheduled_rate_to_the_weights_only() -> None:
    net = _net(5)
    config = FinetuneConfig(recipe="sd", steps=6, lr=1e-2, ramp_steps=2, lr_schedule="cosine", zeta_lr=0.03)
    from compress.pipeline.finetune import FinetuneEngine

    engine = FinetuneEngine(net, config)
    inputs, labels = _data(8).tensors
    for step in range(1, 7):
        engine.train_step(inputs, labels)
        assert engine.optimizer.param_groups[0]["lr"] == config.lr_at(step)
        assert engine.optimizer.param_groups[1]["lr"] == 0.03
