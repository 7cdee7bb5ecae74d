"""examples/results/versus.py: the three readings of "smallest file within the budget" and the default check."""

from __future__ import annotations

import csv
import doctest
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

SCRIPT = Path(__file__).parents[2] / "examples" / "results" / "versus.py"


@pytest.fixture(scope="module")
def versus():
    spec = importlib.util.spec_from_file_location("versus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_docstring_examples(versus) -> None:
    assert doctest.testmod(versus).failed == 0


@given(st.lists(st.floats(-1, 5, allow_nan=False), min_size=1, max_size=25), st.floats(0, 3))
def test_rules_agree_on_monotone_curves_and_order_otherwise(versus, losses: list[float], budget: float) -> None:
    rows = [{"bytes": str(1000 - i), "loss_pt": str(loss)} for i, loss in enumerate(losses)]
    picks = [rule(rows, budget) for rule in (versus.best, versus.steady, versus.monotone)]
    sizes = [int(p["bytes"]) if p else None for p in picks]
    if sizes[0] is None:
        assert sizes == [None, None, None]
        return
    # best is never larger than the others; steady never smaller than monotone
    assert all(s is None or sizes[0] <= s for s in sizes[1:])
    if sizes[1] is not None and sizes[2] is not None:
        assert sizes[2] <= sizes[1]
    if losses == sorted(losses):
        assert sizes[0] == sizes[1] == sizes[2]


def test_the_script_prints_both_tables(tmp_path: Path) -> None:
    rows = [("m", "nncodec", "qp=-20,dq=0", 300, 0.5), ("m", "nncodec", "qp=-16,dq=0", 200, 1.5),
            ("m", "ours-rd", "step=0.1,lam=0,rest=float16", 150, 0.8), ("m", "ours-default", "default", 160, 0.2),
            ("m", "ours-rd", "step=0.05,lam=0,rest=float16", 170, 0.1)]
    path = tmp_path / "b.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "method", "setting", "bytes", "acc_mean", "acc_min", "acc_max", "loss_pt"])
        for model, method, setting, size, loss in rows:
            writer.writerow([model, method, setting, size, 90 - loss, 90 - loss, 90 - loss, loss])
    out = subprocess.run([sys.executable, str(SCRIPT), "--csv", str(path), "--ours", "ours-rd", "m=1"],
                         capture_output=True, text=True, check=True).stdout
    assert "| m | 1 | best | ours-rd | step=0.1,lam=0,rest=float16 | 150 |" in out and "**2.00x**" in out
    assert "| m | 160 | 89.80 % | ours-rd step=0.05,lam=0,rest=float16 | 170 |" not in out
    assert "| m | 160 | 89.80 % | ours-default default | 160 | 89.80 % | 1.00 |" in out
