"""compress.mann.ship: a pruned MANN to .dsz and back into the sparse runtime, on a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compress.errors import CompressError
from compress.mann import SCENARIOS, rollout
from compress.mann.ship import check_export, export_mann, load_mann
from compress.mocap import FeatureLayout, fit_normalization
from compress.zoo.mann import MANN, MANNConfig

POINTS = tuple(f"p{i}" for i in range(27))
PAWS = ("p3", "p7", "p11", "p15")


def tiny_pruned(sparsity: float = 0.9) -> tuple[MANN, object, FeatureLayout]:
    torch.manual_seed(0)
    layout = FeatureLayout(POINTS)
    model = MANN(MANNConfig(hidden=32, gating_indices=layout.gating_indices(PAWS))).eval()
    with torch.no_grad():
        for layer in model.layers:  # one pattern shared by the experts, as the study's pruning gives
            keep = layer.weight.abs().sum(0) > layer.weight.abs().sum(0).flatten().quantile(sparsity)
            layer.weight.copy_(torch.where(keep, layer.weight, torch.zeros(())))  # +0.0, not -0.0
    rng = np.random.default_rng(0)
    norm = fit_normalization(rng.standard_normal((64, 480)).astype(np.float32),
                             rng.standard_normal((64, 363)).astype(np.float32))
    return model, norm, layout


def test_round_trip_is_lossless_and_runtime_identical(tmp_path):
    model, norm, layout = tiny_pruned()
    parents = tuple(range(-1, 26))
    start = np.linspace(-1, 1, 480).astype(np.float32)
    summary = export_mann(tmp_path / "m.dsz", model, norm, layout, paws=PAWS, parents=parents, start=start)
    assert summary.bytes == (tmp_path / "m.dsz").stat().st_size
    assert {"layers.0.weight", "layers.1.weight", "layers.2.weight"} <= set(summary.sparse)
    assert abs(summary.expert_density - 0.1) < 0.01
    assert summary.float32_bytes == 4 * sum(p.numel() for p in model.parameters())
    assert summary.ratio > 3  # the gating net and biases stay dense in this tiny model
    shipped = load_mann(tmp_path / "m.dsz")
    assert shipped.parents == parents and shipped.paws == PAWS and shipped.layout == layout
    np.testing.assert_array_equal(shipped.start, start)
    for name in ("input_mean", "input_std", "output_mean", "output_std"):
        np.testing.assert_array_equal(getattr(shipped.normalization, name), getattr(norm, name))
    check = check_export(model, shipped, torch.randn(16, 480))
    assert check.weights_identical and check.runtime_identical and check.rows == 16
    assert check.max_abs_vs_dense <= 1e-5 * max(1.0, check.max_abs_output)  # float32 rounding, other sum order
    # a rollout of the reloaded model is the original's, bit for bit
    a = rollout(model, norm, layout, start, SCENARIOS["walk"], frames=5)
    b = rollout(shipped.model, shipped.normalization, shipped.layout, shipped.start, SCENARIOS["walk"], frames=5)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_bad_files_give_one_line_errors(tmp_path):
    with pytest.raises(CompressError, match="does not exist"):
        load_mann(tmp_path / "none.dsz")
    junk = tmp_path / "junk.dsz"
    junk.write_bytes(b"not a dsz at all")
    with pytest.raises(CompressError, match="not a readable .dsz") as info:
        load_mann(junk)
    assert "\n" not in str(info.value)
    import formats

    other = tmp_path / "other.dsz"
    formats.save(other, {"w": np.ones((2, 2), np.float32)}, codec="raw")
    with pytest.raises(CompressError, match="not a MANN"):
        load_mann(other)


def test_export_refuses_mismatched_parts(tmp_path):
    model, norm, layout = tiny_pruned()
    with pytest.raises(CompressError, match="parents"):
        export_mann(tmp_path / "m.dsz", model, norm, layout, paws=PAWS, parents=(0, 1))
    with pytest.raises(CompressError, match="paws"):
        export_mann(tmp_path / "m.dsz", model, norm, layout)  # the dog's paw names are not p0..p26
    assert not (tmp_path / "m.dsz").exists()
