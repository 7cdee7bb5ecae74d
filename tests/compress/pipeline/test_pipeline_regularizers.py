"""R_SD / R_WD (eq. 2-3): hand-computed values, gradient support, exact thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from compress.errors import RecipeError
from compress.pipeline.regularizers import partial_l2, spatial_regularizer, winograd_regularizer
from compress.pipeline.targets import collect_targets
from compress.pipeline.thresholds import percentile_threshold
from formats.winograd import transform_filters, winograd_matrices


def _tiny() -> nn.Module:
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),  # Winograd F(4,3)
        nn.Conv2d(2, 2, 3, stride=2),  # spatial only (stride 2)
        nn.Conv2d(2, 1, 5),  # Winograd F(4,5)
        nn.Flatten(),
        nn.Linear(4, 3),
    )


def _hand_partial_l2(arrays: list[np.ndarray], s: float) -> tuple[float, float]:
    flat = np.concatenate([a.astype(np.float64).ravel() for a in arrays])
    k = math.floor(s * flat.size)
    theta = np.sort(np.abs(flat))[k - 1]
    return float(np.sum(flat[np.abs(flat) <= theta] ** 2) / flat.size), float(theta)


def test_targets_of_tiny_model() -> None:
    t = collect_targets(_tiny())
    assert t.spatial == ("0.weight", "1.weight", "2.weight", "4.weight")
    assert [(w.name, w.m, w.r, w.n) for w in t.winograd] == [("0.weight", 4, 3, 6), ("2.weight", 4, 5, 8)]


def test_spatial_value_matches_hand_computation() -> None:
    model = _tiny()
    params = dict(model.named_parameters())
    got = spatial_regularizer(params, collect_targets(model), 0.6)
    arrays = [params[n].detach().numpy() for n in ("0.weight", "1.weight", "2.weight", "4.weight")]
    value, theta = _hand_partial_l2(arrays, 0.6)
    assert got.total == 18 + 36 + 50 + 12
    assert got.threshold == pytest.approx(theta, rel=0, abs=0)
    assert float(got.value.detach()) == pytest.approx(value, rel=1e-6)


def test_winograd_value_matches_numpy_transform() -> None:
    model = _tiny()
    params = dict(model.named_parameters())
    got = winograd_regularizer(params, collect_targets(model), 0.7)
    arrays = [
        transform_filters(params["0.weight"].detach().numpy().astype(np.float64), 4),
        transform_filters(params["2.weight"].detach().numpy().astype(np.float64), 4),
    ]
    value, theta = _hand_partial_l2(arrays, 0.7)
    assert got.total == 2 * 36 + 2 * 64
    assert got.threshold == pytest.approx(theta, rel=1e-6)
    assert float(got.value.detach()) == pytest.approx(value, rel=1e-5)


def test_spatial_gradient_only_below_threshold() -> None:
    model = _tiny()
    params = dict(model.named_parameters())
    reg = spatial_regularizer(params, collect_targets(model), 0.5)
    reg.value.backward()
    for name in ("0.weight", "1.weight", "2.weight", "4.weight"):
        w = params[name].detach()
        below = w.abs() <= reg.threshold
        expected = torch.where(below, 2 * w / reg.total, torch.zeros_like(w))
        torch.testing.assert_close(params[name].grad, expected)
        assert bool((params[name].grad[~below] == 0).all())
    assert params["0.bias"].grad is None


def test_winograd_gradient_flows_through_masked_entries_only() -> None:
    conv = nn.Conv2d(2, 3, 3, bias=False)
    params = dict(conv.named_parameters())
    reg = winograd_regularizer(params, collect_targets(conv), 0.5)
    reg.value.backward()
    _, g, _ = winograd_matrices(4, 3)
    wd = transform_filters(conv.weight.detach().numpy().astype(np.float64), 4)
    masked = np.where(np.abs(wd) <= reg.threshold, wd, 0.0)
    expected = g.T @ (2 * masked / reg.total) @ g  # d/dw of sum((G w Gᵀ ⊙ M)²)/N
    np.testing.assert_allclose(conv.weight.grad.numpy(), expected, rtol=1e-4, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=1, max_size=200),
    s=st.floats(0, 0.999),
)
def test_threshold_is_the_exact_order_statistic(values: list[float], s: float) -> None:
    mags = torch.tensor(values, dtype=torch.float32).abs()
    theta = percentile_threshold(mags, s)
    k = math.floor(s * len(values))
    if k == 0:
        assert theta == -math.inf
        return
    assert theta == float(np.sort(mags.numpy())[k - 1])
    assert int((mags <= theta).sum()) >= k
    assert int((mags < theta).sum()) < k


def test_zero_sparsity_regularizes_nothing() -> None:
    w = torch.randn(10, requires_grad=True)
    reg = partial_l2([w], 0.0)
    assert reg.regularized == 0 and float(reg.value.detach()) == 0.0


@pytest.mark.parametrize("bad", [1.0, -0.1, 80, True])
def test_bad_sparsity_is_rejected(bad: float) -> None:
    with pytest.raises(RecipeError, match="fraction"):
        percentile_threshold(torch.ones(4), bad)
