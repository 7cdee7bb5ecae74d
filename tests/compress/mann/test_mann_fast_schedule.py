"""The output-blending forward equals MANN's weight-blending forward; the warm-restart multiplier."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from compress.errors import CompressError
from compress.mann import WarmRestarts, blended_forward
from compress.zoo.mann import MANN, MANNConfig

SMALL = MANNConfig(input_dim=20, output_dim=7, hidden=16, experts=4, gating_input_dim=5, gating_hidden=6,
                   gating_indices=(0, 3, 5, 11, 19))


@given(seed=st.integers(0, 2**16), batch=st.integers(1, 9))
@settings(max_examples=25, deadline=None)
def test_blended_forward_equals_weight_blending(seed, batch):
    torch.manual_seed(seed)
    model = MANN(SMALL).eval()
    for layer in model.layers:
        torch.nn.init.normal_(layer.bias)
    x = torch.randn(batch, 20)
    prediction, omega = blended_forward(model, x)
    torch.testing.assert_close(prediction, model(x), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(omega, model.blending(x))
    # and against the literal definition: blend the weights sample by sample
    for i in range(batch):
        h = x[i]
        for j, layer in enumerate(model.layers):
            weight, bias = layer.blended_weight(omega[i])
            h = weight @ h + bias
            h = torch.nn.functional.elu(h) if j < 2 else h
        torch.testing.assert_close(prediction[i], h, rtol=1e-5, atol=1e-5)


def test_blended_forward_gradients_match():
    torch.manual_seed(1)
    model = MANN(SMALL).eval()
    x = torch.randn(6, 20)
    model(x).square().sum().backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    blended_forward(model, x)[0].square().sum().backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.grad, expected[name], rtol=1e-4, atol=1e-5)


def test_dropout_applies_in_training_mode_only():
    torch.manual_seed(2)
    model = MANN(SMALL)
    x = torch.randn(4, 20)
    a, b = blended_forward(model.train(), x)[0], blended_forward(model.train(), x)[0]
    assert not torch.equal(a, b)
    model.eval()
    assert torch.equal(blended_forward(model, x)[0], blended_forward(model, x)[0])


def test_warm_restarts_cycles_double():
    s = WarmRestarts(period=10, mult=2, hold=1.0)
    assert [s.cycle(e)[0] for e in (0, 9.9, 10, 29.9, 30, 69.9, 70)] == [0, 0, 1, 1, 2, 2, 3]
    assert s.multiplier(5) == pytest.approx(0.5)
    assert s.multiplier(20) == pytest.approx(0.5)
    assert s.multiplier(50) == pytest.approx(0.5)
    held = WarmRestarts(10, 2, hold=0.9)
    assert held.multiplier(9.5) == held.multiplier(9.0) == pytest.approx(0.5 * (1 + math.cos(0.9 * math.pi)))


def test_warm_restarts_rejects_bad_values():
    with pytest.raises(CompressError):
        WarmRestarts(period=0)
    with pytest.raises(CompressError):
        WarmRestarts().cycle(-1)
    with pytest.raises(CompressError):
        WarmRestarts().decay_per_step(1e-3, 0)
