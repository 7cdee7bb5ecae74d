"""Sparse runtime layers agree with their dense counterparts and store only the non-zeros."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compress.prune import PruneConfig, SelectOptions, SharedPattern, prune_
from compress.sparse import SparseExpertLinear, SparseLinear, SparseMANN, csr_pattern
from compress.zoo.mann import MANN, MANNConfig


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta state")
def test_csr_pattern_matches_torch() -> None:
    keep = torch.rand(7, 9, generator=torch.Generator().manual_seed(0)) > 0.6
    crow, col = csr_pattern(keep)
    ref = keep.float().to_sparse_csr()
    assert crow.dtype == col.dtype == torch.int32
    assert torch.equal(crow.long(), ref.crow_indices()) and torch.equal(col.long(), ref.col_indices())
    with pytest.raises(ValueError, match="2-D"):
        csr_pattern(torch.ones(2, 2, 2, dtype=torch.bool))


@pytest.mark.parametrize("bias", [True, False])
def test_sparse_linear_matches_dense(bias: bool) -> None:
    torch.manual_seed(0)
    dense = nn.Linear(64, 48, bias=bias)
    prune_(dense, PruneConfig(0.9))
    sparse = SparseLinear.from_dense(dense)
    assert sparse.nnz == int((dense.weight != 0).sum()) == round(0.1 * 64 * 48)
    x = torch.randn(64)
    torch.testing.assert_close(sparse(x), dense(x), atol=1e-5, rtol=1e-5)
    xb = torch.randn(3, 5, 64)
    torch.testing.assert_close(sparse(xb), dense(xb), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mode", ["auto", "blend", "experts"])
@pytest.mark.parametrize("shared", [True, False])
def test_expert_blend_matches_dense_blend(shared: bool, mode: str) -> None:
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(8, 40, 30, generator=g)
    pattern = torch.rand(40, 30, generator=g) > 0.9 if shared else torch.rand(8, 40, 30, generator=g) > 0.9
    weight = weight * pattern
    bias = torch.randn(8, 40, generator=g)
    layer = SparseExpertLinear(weight, bias, mode=mode)
    union = (weight != 0).any(0)
    assert layer.nnz == int(union.sum()) and layer.expert_nnz == int((weight != 0).sum())
    if mode == "auto":  # a shared pattern blends the values; independent 90 % patterns multiply per expert
        assert layer.mode == ("blend" if shared else "experts")
    omega = torch.softmax(torch.randn(8, generator=g), 0)
    x = torch.randn(30, generator=g)
    expected = torch.tensordot(omega, weight, dims=1) @ x + omega @ bias
    torch.testing.assert_close(layer(x, omega), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(layer.blended_weight(omega).to_dense(), torch.tensordot(omega, weight, dims=1))
    omegas = torch.softmax(torch.randn(4, 8, generator=g), 1)
    xs = torch.randn(4, 30, generator=g)
    batched = torch.stack([torch.tensordot(o, weight, dims=1) @ v + o @ bias for o, v in zip(omegas, xs, strict=True)])
    torch.testing.assert_close(layer(xs, omegas), batched, atol=1e-5, rtol=1e-5)


def test_sparse_mann_matches_pruned_model() -> None:
    torch.manual_seed(0)
    model = MANN(MANNConfig(input_dim=48, output_dim=20, hidden=64, gating_input_dim=7)).eval()
    config = PruneConfig(0.9, granularity=SharedPattern(0), select=SelectOptions(exclude=("gating.*",)))
    prune_(model, config)
    runtime = SparseMANN.from_model(model)
    assert runtime.density == pytest.approx(0.1, abs=0.002)
    with torch.no_grad():
        x = torch.randn(48)
        torch.testing.assert_close(runtime(x), model(x[None])[0], atol=1e-5, rtol=1e-5)
        xb = torch.randn(5, 48)
        torch.testing.assert_close(runtime(xb), model(xb), atol=1e-5, rtol=1e-5)


def test_frame_path_reuses_buffer_safely_and_grad_path_agrees() -> None:
    g = torch.Generator().manual_seed(2)
    weight = torch.randn(4, 16, 12, generator=g) * (torch.rand(16, 12, generator=g) > 0.5)
    bias = torch.randn(4, 16, generator=g)
    layer = SparseExpertLinear(weight, bias)
    omegas = torch.softmax(torch.randn(2, 4, generator=g), 1)
    x = torch.randn(12, generator=g)
    first = layer(x, omegas[0])
    second = layer(x, omegas[1])  # must not overwrite the first result
    for out, omega in ((first, omegas[0]), (second, omegas[1])):
        torch.testing.assert_close(out, torch.tensordot(omega, weight, dims=1) @ x + omega @ bias,
                                   atol=1e-5, rtol=1e-5)
    omega = omegas[0].clone().requires_grad_(True)
    out = layer(x, omega)
    out.sum().backward()
    torch.testing.assert_close(out.detach(), first, atol=1e-6, rtol=1e-6)
    assert omega.grad is not None and omega.grad.shape == (4,)
