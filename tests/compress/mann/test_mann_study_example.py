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
    args = ["all", "--epochs", "1", "--fraction", "0.01", "--sparsities", "0.9", "--frames", "120",
            "--out", str(tmp_path)]
    assert study.main(args) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert [m["sparsity"] for m in results["models"]] == [0.0, 0.9]
    assert results["capture"]["mean"] > 0
    assert study.main(args) == 0  # everything done: skipped and cached
