"""examples/mann_study.py end to end on a tiny budget (real data; about two minutes, so marked slow and data)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "mann_study.py"


@pytest.mark.slow
@pytest.mark.data
def test_tiny_study_runs_and_resumes(tmp_path, shared_data):
    data = Path("/tmp/dualsparse-mann-data")
    if not (data / "dataset.npz").is_file():
        pytest.skip("run examples/mann_data.py first")
    spec = importlib.util.spec_from_file_location("mann_study", EXAMPLE)
    study = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(study)
    args = ["all", "--epochs", "1", "--fraction", "0.01", "--sparsities", "0.9", "--frames", "120", "--seeds", "0",
            "--widths", "64", "--workers", "1", "--out", str(tmp_path), "--results", str(tmp_path / "results")]
    assert study.main(args) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [m["name"] for m in results["models"]] == ["h512-s00-seed0", "h512-s90-seed0", "h64-s00-seed0",
                                                      "h512-m64-seed0"]
    assert [len(m.get("ablation", [])) for m in results["models"]] == [8, 8, 0, 0]
    assert results["capture"]["mean"] > 0
    written = {p.name for p in (tmp_path / "results").iterdir()}
    assert {"models.csv", "table1.csv", "ablation.csv", "omegas.csv", "omega_summary.csv", "styles.csv", "latency.json",
            "export.json",
            "fig1_skating_vs_sparsity.png", "fig3_same_size.png", "fig4_omegas.png"} <= written
    assert json.loads((tmp_path / "results" / "export.json").read_text())["runtime_identical"] is True
    assert study.main(args) == 0  # everything done: skipped and cached
