"""Foot skating as issue 14 defines it, the scripted scenarios, and the autoregressive rollout."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import compress.mann
from compress.errors import CompressError
from compress.mann import SCENARIOS, Scenario, Segment, foot_skating, rollout, skating_values
from compress.mocap import FeatureLayout, fit_normalization
from compress.zoo.mann import MANN, MANNConfig

MODULES = ["compress.mann"] + [f"compress.mann.{m.name}" for m in pkgutil.iter_modules(compress.mann.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"


@given(h=st.floats(-5, 10), v=st.floats(0, 20))
def test_skating_formula(h, v):
    s = float(skating_values(np.array([h]), np.array([v]))[0])
    expected = v * (2 - 2 ** (h / 2.5)) if h < 2.5 else 0.0
    assert s == pytest.approx(expected, abs=1e-12)
    assert s >= 0


def test_skating_mean_over_paws_and_frames():
    positions = np.zeros((3, 2, 3))
    positions[:, 0, 2] = [0.0, 2.0, 4.0]  # paw 0 slides 2 cm/frame on the ground
    positions[:, 1, 1] = 5.0  # paw 1 is up in the air, moving fast
    positions[:, 1, 0] = [0.0, 9.0, 18.0]
    result = foot_skating(positions)
    assert result.per_paw == (2.0, 0.0)
    assert result.mean == 1.0 and result.contact == 0.5 and result.frames == 2
    half = positions.copy()
    half[:, 0, 1] = 1.25
    assert foot_skating(half).per_paw[0] == pytest.approx(2 * (2 - 2**0.5))
    with pytest.raises(CompressError):
        foot_skating(np.zeros((1, 4, 3)))


def test_scenarios_cover_the_issue():
    assert set(SCENARIOS) >= {"walk", "turn", "speed", "sit"}
    turn = SCENARIOS["turn"]
    facing = np.array([turn.command(f).facing for f in range(turn.frames)])
    jumps = np.degrees(np.arccos(np.clip((facing[1:] * facing[:-1]).sum(1), -1, 1)))
    assert (jumps > 40).sum() == 6  # six abrupt turns
    speeds = {round(float(np.hypot(*SCENARIOS["speed"].command(f).velocity)), 2)
              for f in range(SCENARIOS["speed"].frames)}
    assert speeds == {0.0, 0.9, 2.5}
    styles = {SCENARIOS["sit"].command(f).style for f in range(SCENARIOS["sit"].frames)}
    assert len(styles) == 5
    with pytest.raises(CompressError):
        Segment(10, 1.0, style="fly")


def _setup(hidden=16):
    layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 480)).astype(np.float32), rng.normal(size=(50, 363)).astype(np.float32)
    config = MANNConfig(hidden=hidden, gating_indices=layout.gating_indices(("p1", "p2", "p3", "p4")))
    torch.manual_seed(0)
    return layout, fit_normalization(x, y), MANN(config), x


def test_rollout_is_deterministic_and_shaped():
    layout, norm, model, x = _setup()
    scenario = Scenario("s", (Segment(20, 1.0), Segment(20, 1.0, snap=90.0)))
    a = rollout(model, norm, layout, x[0], scenario)
    b = rollout(model, norm, layout, x[0], scenario)
    assert a.positions.shape == (41, 27, 3) and a.omegas.shape == (40, 8)
    assert np.array_equal(a.positions, b.positions)
    np.testing.assert_allclose(a.omegas.sum(1), 1.0, rtol=1e-5)
    assert a.root[0].tolist() == [0.0, 0.0, 0.0]


def test_rollout_follows_the_root_updates_of_the_network():
    """A network that always outputs the same root update walks a straight line at that speed."""
    layout, norm, model, x = _setup()
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.zero_()
            layer.bias.zero_()
    target = np.zeros(363, np.float32)
    target[-3:] = (0.0, 0.0, 1.5)  # dx, dθ, dz: 1.5 cm forward per frame
    target[36 + 1] = 0.0  # a paw height of 0 for point 0
    normalized = (target - norm.output_mean) / norm.output_std
    with torch.no_grad():
        model.layers[2].bias[:] = torch.from_numpy(normalized)
    motion = rollout(model, norm, layout, x[0], SCENARIOS["walk"], frames=30)
    np.testing.assert_allclose(np.diff(motion.root[:, 2]), 1.5, rtol=1e-5)
    np.testing.assert_allclose(motion.root[:, 0], 0.0, atol=1e-4)
    skate = foot_skating(motion.paws(("p0",))[1:])  # point 0 slides on the ground with the root
    assert skate.mean == pytest.approx(1.5, rel=1e-4)


def test_rollout_refuses_a_wrong_start_row():
    layout, norm, model, x = _setup()
    with pytest.raises(CompressError):
        rollout(model, norm, layout, x[0][:100], SCENARIOS["walk"], frames=2)
