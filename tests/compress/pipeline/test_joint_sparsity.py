"""JointSparsity in a caller's own loop: the same training as the pipeline's engine, ζ for the optimizer."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compress.errors import RecipeError
from compress.pipeline.config import FinetuneConfig
from compress.pipeline.finetune import FinetuneEngine
from compress.pipeline.joint_sparsity import JointSparsity


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1), nn.Flatten(),
                         nn.Linear(64, 3))


def _batches(count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 1, 4, 4, generator=g), torch.randint(0, 3, (8,), generator=g)) for _ in range(count)]


@pytest.mark.parametrize("decoupled_lr", [0.0, 0.05])
def test_an_own_loop_with_the_regularizer_trains_exactly_as_the_pipeline_engine(decoupled_lr: float) -> None:
    config = FinetuneConfig(recipe="wd+sd", s_sd=0.7, s_wd=0.6, steps=12, lr=1e-3, zeta_lr=0.02, alpha=10.0,
                            zeta_init=2.0, zeta_max=4.0, ramp_steps=5, decoupled_lr=decoupled_lr, m_for_r=((3, 2),))
    engine_net, own_net = _net(), _net()
    engine = FinetuneEngine(engine_net, config)
    for inputs, labels in _batches(12):
        engine.train_step(inputs, labels)
    engine.finish()

    reg = JointSparsity(own_net, config)
    optimizer = torch.optim.Adam([{"params": own_net.parameters(), "lr": config.lr},
                                  {"params": reg.parameters(), "lr": config.zeta_lr}])
    own_net.to(memory_format=torch.channels_last)
    for step, (inputs, labels) in enumerate(_batches(12), start=1):
        own_net.train()
        loss = nn.functional.cross_entropy(own_net(inputs.contiguous(memory_format=torch.channels_last)), labels)
        cost = loss + reg(step)
        optimizer.zero_grad(set_to_none=True)
        cost.backward()
        optimizer.step()
        reg.after_step()
    own_net.to(memory_format=torch.contiguous_format)
    for (name, a), b in zip(engine_net.state_dict().items(), own_net.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert reg.zeta() == engine.coefficients.values()


def test_its_parameters_are_the_coefficients_only_and_after_step_shrinks_only_when_decoupled() -> None:
    net = _net()
    coupled = JointSparsity(net, FinetuneConfig(recipe="sd", s_sd=0.5))
    assert [p.shape for p in coupled.parameters()] == [torch.Size([])]
    before = net[0].weight.detach().clone()
    coupled(1).backward()
    coupled.after_step()
    assert torch.equal(net[0].weight, before) and net[0].weight.grad is not None

    net[0].weight.grad = None
    decoupled = JointSparsity(net, FinetuneConfig(recipe="sd", s_sd=0.5, decoupled_lr=0.5, zeta_init=1.0))
    term = decoupled(1)
    term.backward()
    assert net[0].weight.grad is None  # the weights' pull is not in the loss's graph ...
    decoupled.after_step()
    small = before.abs() <= decoupled.last["sd"].threshold
    moved = net[0].weight.detach() != before
    assert moved[small].any() and not moved[~small].any()  # ... it shrinks the weights under θ, after the step
    assert (net[0].weight.detach().abs()[small] <= before.abs()[small]).all()


def test_the_winograd_domain_needs_an_eligible_conv() -> None:
    with pytest.raises(RecipeError, match="no Winograd-eligible conv"):
        JointSparsity(nn.Linear(3, 2), FinetuneConfig(recipe="wd"))


def test_the_targets_ramp_with_the_step() -> None:
    reg = JointSparsity(_net(), FinetuneConfig(recipe="sd", s_sd=0.8, ramp_steps=10))
    reg(1)
    early = reg.last["sd"].regularized
    reg(10)
    late = reg.last["sd"]
    assert early < late.regularized and abs(late.regularized - 0.8 * late.total) <= 1
