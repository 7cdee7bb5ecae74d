"""One-cycle pruning of a MANN: the fast masks equal the general planner's, the final count is exact."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from compress.errors import CompressError
from compress.mann import check_sparsity, global_magnitude_masks, make_sparsifier, prune_config, scope_parameters
from compress.prune import plan
from compress.zoo.mann import MANN, MANNConfig

SMALL = MANNConfig(input_dim=12, output_dim=5, hidden=10, experts=3, gating_input_dim=3, gating_hidden=4)


@given(seed=st.integers(0, 2**16), sparsity=st.floats(0, 1), ties=st.booleans())
@settings(max_examples=40, deadline=None)
def test_fast_masks_equal_the_planner(seed, sparsity, ties):
    generator = torch.Generator().manual_seed(seed)
    tensors = {"a": torch.randn(3, 4, 5, generator=generator), "b": torch.randn(7, 2, generator=generator)}
    if ties:  # few distinct magnitudes, both signs, and zeros: many ties across tensors
        tensors = {k: torch.round(v * 2) / 2 for k, v in tensors.items()}
    expected, _ = plan(tensors, prune_config("experts", sparsity))
    got = global_magnitude_masks(tensors, sparsity)
    assert {k: v.tolist() for k, v in got.items()} == {k: v.tolist() for k, v in expected.items()}


def test_scopes():
    model = MANN()
    experts = scope_parameters(model, "experts")
    assert list(experts) == ["layers.0.weight", "layers.1.weight", "layers.2.weight"]
    assert sum(t.numel() for t in experts.values()) == 5_550_080
    assert sum(t.numel() for t in scope_parameters(model, "all").values()) == 5_563_136
    with pytest.raises(CompressError):
        prune_config("gating")


@pytest.mark.parametrize("scope", ["experts", "all"])
@pytest.mark.parametrize("target", [0.1, 0.55, 0.9])
def test_one_cycle_reaches_exact_target_in_scope(scope, target):
    torch.manual_seed(0)
    model = MANN(SMALL)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    steps = 30
    sparsifier = make_sparsifier(model, target, total_steps=steps, scope=scope, every=4)
    seen = []
    for _ in range(steps):
        loss = model(torch.randn(8, 12)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen.append(sparsifier.step())
    assert seen == sorted(seen) and seen[-1] == target  # the one-cycle ramp only grows
    result = check_sparsity(model, target, scope)
    assert result.exact, result
    outside = [p for n, p in model.named_parameters() if n not in scope_parameters(model, scope)]
    assert all(bool((p != 0).all()) for p in outside)  # nothing outside the scope was touched


def test_sparsifier_state_round_trip_keeps_masks():
    torch.manual_seed(0)
    model = MANN(SMALL)
    sparsifier = make_sparsifier(model, 0.5, total_steps=10)
    for _ in range(6):
        sparsifier.step()
    other = MANN(SMALL)
    other.load_state_dict(model.state_dict())
    again = make_sparsifier(other, 0.5, total_steps=10)
    again.load_state_dict(sparsifier.state_dict())
    for _ in range(4):
        sparsifier.step()
        again.step()
    assert all(torch.equal(sparsifier.masks[k], again.masks[k]) for k in sparsifier.masks)
    assert check_sparsity(other, 0.5).exact
