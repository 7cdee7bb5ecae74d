"""The training sparsifier: masks hold across optimizer steps and resume reproduces the same masks."""

from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from compress.errors import RecipeError
from compress.prune import AGP, NM, OneCycle, OneShot, PruneConfig, Sparsifier, prune_count


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 32), nn.ELU(), nn.Linear(32, 32), nn.ELU(), nn.Linear(32, 3))


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1000 + step)
    return torch.randn(16, 12, generator=g), torch.randn(16, 3, generator=g)


def _train(net: nn.Module, opt: torch.optim.Optimizer, sp: Sparsifier, steps: range) -> None:
    for step in steps:
        x, y = _batch(step)
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
        sp.step()


def _weights_in_scope(net: nn.Module) -> int:
    return sum(p.numel() for n, p in net.named_parameters() if n.endswith("weight"))


def test_masks_hold_and_schedule_is_followed() -> None:
    net = _net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, weight_decay=0.1)
    sp = Sparsifier(net, PruneConfig(0.0), OneCycle(0.0, 0.8), total_steps=20)
    total = _weights_in_scope(net)
    for step in range(20):
        x, y = _batch(step)
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        for name, mask in sp.masks.items():  # the gradient hook already zeroed pruned gradients
            grad = dict(net.named_parameters())[name].grad
            assert not grad[~mask].any()
        opt.step()
        target = sp.step()
        assert target == pytest.approx(OneCycle(0.0, 0.8)((step + 1) / 20))
        zeros = sum(int((~m).sum()) for m in sp.masks.values())
        assert zeros == prune_count(target, total)
        for name, mask in sp.masks.items():
            assert not dict(net.named_parameters())[name][~mask].any()
    assert sp.sparsity == 0.8


def test_resume_reproduces_the_same_masks() -> None:
    config, schedule = PruneConfig(0.0), AGP(0.0, 0.9)
    net_a = _net()
    opt_a = torch.optim.SGD(net_a.parameters(), lr=0.05, momentum=0.9)
    sp_a = Sparsifier(net_a, config, schedule, total_steps=24, every=2)
    _train(net_a, opt_a, sp_a, range(10))
    buffer = io.BytesIO()
    torch.save({"model": net_a.state_dict(), "opt": opt_a.state_dict(), "sparsifier": sp_a.state_dict()}, buffer)
    _train(net_a, opt_a, sp_a, range(10, 24))

    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    net_b = _net(seed=99)  # different init: everything must come from the checkpoint
    net_b.load_state_dict(saved["model"])
    opt_b = torch.optim.SGD(net_b.parameters(), lr=0.05, momentum=0.9)
    opt_b.load_state_dict(saved["opt"])
    before = [p.clone() for p in net_b.parameters()]
    sp_b = Sparsifier(net_b, PruneConfig(0.3), OneShot(0.5, 0.5), total_steps=5)
    assert all(torch.equal(a, b) for a, b in zip(before, net_b.parameters(), strict=True))
    sp_b.load_state_dict(saved["sparsifier"])
    assert sp_b.config == config and sp_b.schedule == schedule and sp_b.step_count == 10
    _train(net_b, opt_b, sp_b, range(10, 24))

    assert sp_b.sparsity == sp_a.sparsity == 0.9
    for name in sp_a.masks:
        assert torch.equal(sp_a.masks[name], sp_b.masks[name])
    for pa, pb in zip(net_a.parameters(), net_b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_load_rejects_foreign_masks_and_nm() -> None:
    sp = Sparsifier(_net(), PruneConfig(0.0), AGP(), total_steps=4)
    state = sp.state_dict()
    state["masks"] = {"nope.weight": torch.ones(2, 2, dtype=torch.bool)}
    with pytest.raises(RecipeError, match="does not match"):
        sp.load_state_dict(state)
    with pytest.raises(RecipeError, match="N:M"):
        Sparsifier(_net(), PruneConfig(0.5, granularity=NM(2, 4)), AGP(), total_steps=4)
