"""Table 1's counter, the expert ablation, the pose error, the style checks and the study's figures."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from compress.errors import CompressError
from compress.mann import Rollout, Scenario, Segment
from compress.mann.ablation import StyleReference, pose_error, style_checks, without_expert
from compress.mann.cost import table1, table1_row, total_parameters
from compress.mocap import FeatureLayout, fit_normalization
from compress.zoo.mann import MANN, MANNConfig

PAPER = {0: ("178", "11.10"), 10: ("160", "10.06"), 20: ("142", "9.02"), 30: ("124", "7.98"), 40: ("106", "6.94"),
         50: ("88", "5.89"), 60: ("71", "4.86"), 70: ("53", "3.82"), 80: ("35", "2.78"), 90: ("17.8", "1.74")}
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mann_study.py"


def test_table1_matches_the_paper_except_its_50_percent_row():
    rows = {round(100 * r.sparsity): (r.size_text, f"{r.mflops:.2f}") for r in table1()}
    assert {k: v for k, v in rows.items() if k != 50} == {k: v for k, v in PAPER.items() if k != 50}
    assert rows[50] == ("89", "5.90")  # the paper prints 88 / 5.89, off its own linear neighbours


@pytest.mark.parametrize("hidden", [512, 256, 64])
def test_parameter_count_is_the_models(hidden):
    config = MANNConfig(hidden=hidden)
    assert total_parameters(config) == sum(p.numel() for p in MANN(config).parameters())


def test_table1_row_rejects_bad_sparsity():
    with pytest.raises(CompressError):
        table1_row(1.0)
    assert table1_row(0.9).nonzero == 5563136 - round(0.9 * 5563136)


def test_without_expert_renormalises_the_others():
    torch.manual_seed(0)
    model = MANN(MANNConfig(input_dim=6, output_dim=3, hidden=4, gating_input_dim=2, gating_hidden=3)).eval()
    x = torch.randn(5, 6)
    with torch.no_grad():
        before = model.blending(x)
        after = without_expert(model, 3).eval().blending(x)
    assert torch.all(after[:, 3] == 0)
    keep = [e for e in range(8) if e != 3]
    assert torch.allclose(after[:, keep], before[:, keep] / (1 - before[:, 3:4]), atol=1e-6)
    assert torch.equal(model.blending(x), before)  # the original is untouched
    with pytest.raises(CompressError):
        without_expert(model, 8)


def test_pose_error_is_the_mean_point_distance_in_cm():
    layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
    model = MANN(MANNConfig(hidden=8)).eval()
    rng = np.random.default_rng(0)
    norm = fit_normalization(rng.normal(size=(50, 480)), rng.normal(size=(50, 363)) * 5)
    x = torch.from_numpy(rng.normal(size=(4, 480)).astype(np.float32))
    with torch.no_grad():
        y = model(x)
    raw = norm.denormalize_outputs(y.numpy()).astype(np.float64)
    raw[:, 36 + 12 * 5 + 1] += 27.0  # point 5 is 27 cm higher in the "capture": mean over 27 points = 1 cm
    shifted = torch.from_numpy(norm.normalize_outputs(raw).astype(np.float32))
    assert pose_error(model, x, y, norm, layout) == pytest.approx(0.0, abs=1e-4)
    assert pose_error(model, x, shifted, norm, layout) == pytest.approx(1.0, abs=1e-3)


def _motion(heights: np.ndarray, speeds: np.ndarray) -> Rollout:
    frames = len(heights)
    positions = np.zeros((frames, 27, 3))
    positions[:, :, 1] = heights[:, None]
    root = np.zeros((frames, 3))
    root[:, 2] = np.concatenate([[0.0], np.cumsum(speeds[1:])])
    return Rollout(positions, root, np.zeros(frames), np.zeros((frames - 1, 8)), tuple(f"p{i}" for i in range(27)))


def test_style_checks_follow_the_rules():
    reference = StyleReference({"idle": 29.0, "move": 28.0, "jump": 56.0, "sit": 15.7, "stand": 24.0, "lie": 8.8})
    scenario = Scenario("s", (Segment(40, 1.0), Segment(40, 0.0, "sit"), Segment(40, 0.0, "lie"),
                              Segment(40, 1.5, "jump"), Segment(40, 2.0)))
    heights = np.concatenate([np.full(41, 28.0), np.full(40, 16.0), np.full(40, 15.0),  # lie not reached
                              np.r_[np.full(20, 28.0), np.full(20, 45.0)], np.full(40, 28.0)])
    speeds = np.concatenate([np.full(41, 0.9), np.zeros(80), np.full(40, 1.5), np.full(40, 0.5)])  # last too slow
    checks = style_checks(_motion(heights, speeds), scenario, reference)
    assert [(c.style, c.works) for c in checks] == [("move", True), ("sit", True), ("lie", False), ("jump", True),
                                                    ("move", False)]
    assert checks[0].measured_speed == pytest.approx(0.9)
    assert checks[3].body_height == 45.0
    short = style_checks(_motion(heights[:100], speeds[:100]), scenario, reference)
    assert len(short) == 2  # only segments the rollout covers completely


def _study():
    spec = importlib.util.spec_from_file_location("mann_study_plan", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_study_plan_and_names():
    study = _study()
    args = study.argparse.Namespace(seeds=[0, 1], sparsities=[0.1, 0.5, 0.9], widths=[256, 64], epochs=2,
                                    scope="all", fraction=0.1)
    names = [study.run_name(c) for c in study.planned_runs(args)]
    assert names == ["h512-s00-seed0", "h512-s10-seed0", "h512-s50-seed0", "h512-s90-seed0", "h256-s00-seed0",
                     "h512-m256-seed0", "h64-s00-seed0", "h512-m64-seed0", "h512-s00-seed1", "h512-s90-seed1"]
    matched = [c for c in study.planned_runs(args) if study.run_name(c) == "h512-m64-seed0"][0]
    full = total_parameters(MANNConfig())
    assert full - round(matched.sparsity * full) == total_parameters(MANNConfig(hidden=64))


def test_study_figures_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    from compress.mann.study_plots import plot_omegas, plot_same_size, plot_skating_vs_sparsity

    def record(hidden, sparsity, seed, skate):
        return {"hidden": hidden, "sparsity": sparsity, "seed": seed, "val_mse": 0.1 + sparsity, "nonzero": 1000,
                "pose_error_cm": 2.0 + sparsity,
                "skating": {"walk": {"mean": skate}, "turn": {"mean": 2 * skate}}}

    records = [record(512, s, 0, 0.01 + s / 10) for s in (0.0, 0.5, 0.9)] + [record(512, 0.9, 1, 0.2)]
    plot_skating_vs_sparsity(records, 0.03, tmp_path / "fig1.png")
    plot_same_size([(64, record(64, 0.0, 0, 0.3), record(512, 0.915, 0, 0.1))], tmp_path / "fig3.png")
    trace = [[1.0 / 8] * 8 for _ in range(30)]
    plot_omegas({"walk": trace}, {"walk": trace}, tmp_path / "fig4.png")
    for name in ("fig1.png", "fig3.png", "fig4.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CompressError):
        plot_skating_vs_sparsity([], 0.03, tmp_path / "none.png")
