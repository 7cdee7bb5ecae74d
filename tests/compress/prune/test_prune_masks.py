"""Exact sparsity, deterministic ties, scope selection and per-layer caps."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from compress.errors import RecipeError
from compress.prune import (
    L2,
    NM,
    Blocks,
    Columns,
    Kernels,
    PruneConfig,
    Rows,
    Scope,
    SelectOptions,
    SharedPattern,
    compute_masks,
    plan,
    prune_,
    prune_count,
    prune_state_dict,
)


def _tensors(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.randn(40, 25, generator=g), "b": torch.randn(8, 4, 3, 3, generator=g) * 3,
            "c": torch.randn(7, 13, generator=g) * 0.1}


def _pruned(masks: dict[str, torch.Tensor]) -> int:
    return sum(int((~m).sum()) for m in masks.values())


@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.5, 0.9, 0.95, 1.0])
def test_unstructured_sparsity_is_exact(scope: Scope, sparsity: float) -> None:
    tensors = _tensors()
    masks = compute_masks(tensors, sparsity, scope=scope)
    if scope is Scope.LOCAL:
        for name, t in tensors.items():
            assert int((~masks[name]).sum()) == prune_count(sparsity, t.numel())
    else:
        total = sum(t.numel() for t in tensors.values())
        assert _pruned(masks) == prune_count(sparsity, total)


def test_exact_fraction_when_count_is_integral() -> None:
    masks = compute_masks({"w": torch.randn(100, 50)}, 0.9)
    assert int((~masks["w"]).sum()) / 5000 == 0.9


@settings(max_examples=40, deadline=None)
@given(sparsity=st.floats(0, 1), seed=st.integers(0, 2**16), scope=st.sampled_from(list(Scope)))
def test_exact_count_property(sparsity: float, seed: int, scope: Scope) -> None:
    tensors = _tensors(seed)
    masks = compute_masks(tensors, sparsity, scope=scope)
    if scope is Scope.GLOBAL:
        assert _pruned(masks) == prune_count(sparsity, sum(t.numel() for t in tensors.values()))
    else:
        assert all(int((~masks[n]).sum()) == prune_count(sparsity, t.numel()) for n, t in tensors.items())


def test_global_prunes_smallest_magnitudes_across_tensors() -> None:
    tensors = {"big": torch.full((4, 4), 5.0), "small": torch.linspace(-1, 1, 16).reshape(4, 4)}
    masks = compute_masks(tensors, 0.5)
    assert masks["big"].all() and not masks["small"].any()


def test_ties_broken_by_flat_index() -> None:
    tensors = {"x": torch.ones(2, 3), "y": torch.ones(3, 2)}
    masks = compute_masks(tensors, 0.5)  # 6 of 12 equal scores: the first six in order go
    assert not masks["x"].any() and masks["y"].all()
    local = compute_masks({"x": torch.ones(2, 3)}, 0.5, scope=Scope.LOCAL)
    assert local["x"].tolist() == [[False, False, False], [True, True, True]]


def test_masks_are_deterministic() -> None:
    a = compute_masks(_tensors(3), 0.7)
    b = compute_masks(_tensors(3), 0.7)
    assert all(torch.equal(a[n], b[n]) for n in a)


@pytest.mark.parametrize("granularity", [Rows(), Columns(), Blocks(2, 1), Kernels(), SharedPattern(0)])
def test_group_granularities_prune_whole_groups(granularity) -> None:  # noqa: ANN001
    w = torch.randn(8, 4, 3, 3)
    keep = compute_masks({"w": w}, 0.5, scope=Scope.LOCAL, granularity=granularity)["w"]
    groups = granularity.to_groups(keep)
    assert bool(((groups.all(dim=1)) | (~groups.any(dim=1))).all())  # each group all kept or all pruned
    assert (~keep).float().mean().item() == 0.5


def test_rows_prunes_lowest_norm_rows() -> None:
    w = torch.tensor([[1.0, 1.0], [0.1, 0.1], [3.0, 0.0], [0.2, -0.2]])
    keep = compute_masks({"w": w}, 0.5, scope=Scope.LOCAL, granularity=Rows(), criterion=L2())["w"]
    assert keep[:, 0].tolist() == [True, False, True, False]


def test_blocks_must_tile() -> None:
    with pytest.raises(RecipeError, match="does not tile"):
        compute_masks({"w": torch.randn(6, 5)}, 0.5, granularity=Blocks(4, 4))


def test_nm_keeps_n_largest_of_each_m() -> None:
    w = torch.tensor([[1.0, -4.0, 3.0, 0.5, 2.0, 2.0, -2.0, 1.0]])
    keep = compute_masks({"w": w}, 0.5, granularity=NM(2, 4))["w"]
    assert keep.tolist() == [[False, True, True, False, True, True, False, False]]
    with pytest.raises(RecipeError, match="fixes the sparsity"):
        compute_masks({"w": w}, 0.9, granularity=NM(2, 4))


def test_min_density_caps_each_tensor_and_keeps_total_exact() -> None:
    tensors = {"small": torch.randn(10, 10) * 0.01, "large": torch.randn(30, 30)}
    masks = compute_masks(tensors, 0.6, min_density=0.2)
    assert (~masks["small"]).float().mean().item() == pytest.approx(0.8)
    assert _pruned(masks) == prune_count(0.6, 1000)
    with pytest.raises(RecipeError, match="cannot be reached"):
        compute_masks(tensors, 0.9, min_density=0.2)
    with pytest.raises(RecipeError, match="cannot be reached on 'small'"):
        compute_masks(tensors, 0.9, scope=Scope.LOCAL, min_density=0.2)
    local = compute_masks(tensors, 0.8, scope=Scope.LOCAL, min_density=0.2)
    assert _pruned(local) == 800


@pytest.mark.parametrize("bad", [-0.1, 1.5, 90.0])
def test_sparsity_must_be_a_fraction(bad: float) -> None:
    with pytest.raises(RecipeError, match="fraction"):
        PruneConfig(sparsity=bad)


def _state_dict() -> dict[str, torch.Tensor]:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Flatten(),
                              torch.nn.Linear(8 * 4 * 4, 10), torch.nn.Linear(10, 4))
    return net.state_dict()


def test_selection_defaults_and_options() -> None:
    sd = _state_dict()
    _, report = plan(sd, PruneConfig(0.5))
    included = [layer.name for layer in report.layers if layer.included]
    assert included == ["0.weight", "3.weight", "4.weight"]
    reasons = {layer.name: layer.reason for layer in report.layers}
    assert reasons["0.bias"] == "bias" and reasons["1.weight"] == "norm/1-D"
    assert reasons["1.running_mean"] == "buffer or non-float"
    options = SelectOptions(include_bias=True, include_norm=True, exclude_first=True, exclude_last=True)
    _, report = plan(sd, PruneConfig(0.5, select=options))
    included = [layer.name for layer in report.layers if layer.included]
    assert included == ["0.bias", "1.weight", "1.bias", "3.weight", "3.bias", "4.bias"]
    _, report = plan(sd, PruneConfig(0.5, select=SelectOptions(exclude=("3.*",))))
    assert [layer.name for layer in report.layers if layer.included] == ["0.weight", "4.weight"]


def test_report_lists_layers_and_totals() -> None:
    _, report = plan(_state_dict(), PruneConfig(0.9))
    text = report.format()
    assert "0.weight" in text and "excluded: bias" in text
    assert report.achieved == pytest.approx(prune_count(0.9, report.in_scope) / report.in_scope)
    assert report.overall < report.achieved


def test_prune_state_dict_zeroes_with_positive_zero_and_keeps_input() -> None:
    sd = {"w": -torch.rand(10, 10) - 0.5}
    out, _ = prune_state_dict(sd, PruneConfig(0.5))
    zeros = out["w"][out["w"] == 0]
    assert len(zeros) == 50 and not torch.signbit(zeros).any()
    assert (sd["w"] != 0).all()


def test_prune_module_in_place_uses_module_norm_types() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(6, 6), torch.nn.LayerNorm(6), torch.nn.Linear(6, 2))
    report = prune_(net, PruneConfig(0.5))
    assert [layer.name for layer in report.layers if layer.included] == ["0.weight", "2.weight"]
    assert int((net[0].weight == 0).sum() + (net[2].weight == 0).sum()) == 24
