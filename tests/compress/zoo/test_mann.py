"""MANN: the dog-setup sizes of the paper, the blend, and pruning it globally."""

from __future__ import annotations

import pytest
import torch

from compress.errors import CompressError
from compress.prune import PruneConfig, SelectOptions, SharedPattern, prune_
from compress.zoo.mann import MANN, ExpertLinear, MANNConfig

SMALL = MANNConfig(input_dim=30, output_dim=11, hidden=24, gating_input_dim=5, gating_hidden=8)


def test_default_size_is_the_papers_178_megabits() -> None:
    model = MANN()
    params = sum(p.numel() for p in model.parameters())
    assert params == 5_563_136
    assert round(params * 32 / 1e6) == 178  # Maiorca et al. 2022, Table 1: 178 Mb at 0 % sparsity
    assert [tuple(layer.weight.shape) for layer in model.layers] == [(8, 512, 480), (8, 512, 512), (8, 363, 512)]


def test_forward_equals_explicit_weight_blend() -> None:
    torch.manual_seed(0)
    model = MANN(SMALL).eval()
    x = torch.randn(3, 30)
    with torch.no_grad():
        omega = model.blending(x)
        assert torch.allclose(omega.sum(1), torch.ones(3))
        out = []
        for b in range(3):
            h = x[b]
            for i, layer in enumerate(model.layers):
                w, bias = layer.blended_weight(omega[b])
                h = w @ h + bias
                if i < 2:
                    h = torch.nn.functional.elu(h)
            out.append(h)
        torch.testing.assert_close(model(x), torch.stack(out), atol=1e-5, rtol=1e-5)


def test_dropout_only_in_training() -> None:
    model = MANN(SMALL)
    x = torch.randn(4, 30)
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    assert not torch.equal(a, model(x))
    model.eval()
    assert torch.equal(model(x), model(x))


def test_gating_indices_validated() -> None:
    assert MANNConfig(gating_indices=tuple(range(19))).resolved_gating_indices[0] == 0
    with pytest.raises(CompressError, match="gating_indices"):
        MANNConfig(gating_indices=(0, 1))
    with pytest.raises(CompressError, match="dropout"):
        MANNConfig(dropout=1.0)


def test_global_pruning_of_experts_and_shared_pattern() -> None:
    model = MANN(SMALL)
    report = prune_(model, PruneConfig(0.9))
    assert report.achieved == pytest.approx(0.9, abs=1e-4)
    assert {layer.name for layer in report.layers if layer.included} >= {"layers.0.weight", "gating.layers.0.weight"}
    shared = MANN(SMALL)
    prune_(shared, PruneConfig(0.8, granularity=SharedPattern(0), select=SelectOptions(exclude=("gating.*",))))
    zeros = total = 0
    for layer in shared.layers:
        assert isinstance(layer, ExpertLinear)
        nonzero = layer.weight != 0
        assert torch.equal(nonzero, nonzero[:1].expand_as(nonzero))
        zeros, total = zeros + int((~nonzero).sum()), total + nonzero.numel()
    assert zeros / total == pytest.approx(0.8, abs=1e-3)
