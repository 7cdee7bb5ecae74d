"""``dualsparse report``: plots and a page for a .dsz file; refusals in one line; matplotlib stays optional."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import formats
from compress.pipeline.run_log import CsvLog, log_row

pytest.importorskip("matplotlib")

REPORT = {
    "quality": {"metric": "accuracy", "dense": 0.97, "finetuned": 0.96, "pruned_spatial": 0.965,
                "pruned_winograd": 0.964},
    "sizes": {"float32": 4000, "sparse": 900, "quantized": 700, "coded": 300, "bits_per_weight": 2.4,
              "parameters": 1000, "ratio_vs_float32": 13.3},
    "macs": {"spatial_dense": 100, "spatial_sparse": 20, "winograd_dense": 50, "winograd_sparse": 12},
    "zeta": {"finetune_sd": 5.0, "finetune_wd": None},
}
SEARCH = {"knob": "bits", "metric": "accuracy", "baseline": 0.97, "max_drop": 0.01, "reference_bytes": 4000,
          "chosen": "bits=5", "points": [["bits=8", 8, 900, 0.97], ["bits=5", 5, 500, 0.962], ["bits=3", 3, 300, 0.8]]}


@pytest.fixture()
def dsz(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    conv = rng.normal(0, 0.1, (8, 4, 3, 3)).astype(np.float32)
    conv[np.abs(conv) < 0.08] = 0
    fc = rng.normal(0, 0.1, (10, 32)).astype(np.float32)
    fc[np.abs(fc) < 0.05] = 0
    path = tmp_path / "m.dsz"
    formats.save(path, {"conv&<1>.weight": conv, "conv.bias": np.zeros(8, np.float32), "fc.weight": fc},
                 attrs={"conv&<1>.weight": {"winograd": {"m": 2, "r": 3}}}, recipe={"report": REPORT},
                 metadata={"search": json.dumps(SEARCH)})
    log = CsvLog(tmp_path / "m.dsz.log.csv")
    for step in (10, 20):
        log.write(log_row("finetune", {"step": step, "loss": 1 / step, "zeta_sd": step / 10}, (0.5, None), step))
    log.write(log_row("codebook", {"step": 5, "loss": 0.04, "zeta_wd": 2.0}, (None, 0.5), 30))
    return path


def test_report_writes_every_plot_and_a_page_linking_them(run_cli, dsz: Path, tmp_path: Path) -> None:
    out = tmp_path / "page"
    result = run_cli("report", dsz, "-o", out)
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert names == {"index.html", "sparsity.png", "histograms.png", "sizes.png", "search.png", "training.png"}
    for name in names - {"index.html"}:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert set(re.findall(r'<img src="([^"]+)"', page)) == names - {"index.html"}  # relative links, all there
    assert "conv&amp;&lt;1&gt;.weight" in page and "<1>" not in page  # names from the file are escaped
    assert "<td>accuracy: pruned Winograd</td><td>0.9640</td>" in page
    assert "<td>size: coded</td><td>300 bytes</td>" in page
    assert "<td>search: chosen setting</td><td>bits=5</td>" in page
    assert "wrote" in result.output


def test_an_earlier_report_is_kept_unless_forced(run_cli, dsz: Path, tmp_path: Path) -> None:
    out = tmp_path / "page"
    out.mkdir()
    (out / "index.html").write_text("mine")
    result = run_cli("report", dsz, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("index.html exists; pass --force to replace the report's files")
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1
    assert {p.name for p in out.iterdir()} == {"index.html"} and (out / "index.html").read_text() == "mine"
    assert run_cli("report", dsz, "-o", out, "--force", "-q").exit_code == 0
    assert (out / "index.html").read_text().startswith("<!DOCTYPE html>")


def test_a_file_without_report_search_or_marks_still_gets_its_page(run_cli, tmp_path: Path) -> None:
    path = tmp_path / "plain.dsz"
    formats.save(path, {"w": np.eye(4, dtype=np.float32)})
    result = run_cli("report", path, "-o", tmp_path / "page")
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "page").iterdir()} == {"index.html", "sparsity.png", "histograms.png"}


@pytest.mark.parametrize("case", ["output is a file", "parent missing", "not a dsz"])
def test_bad_input_is_one_line_and_writes_nothing(run_cli, dsz: Path, tmp_path: Path, case: str) -> None:
    target, source = tmp_path / "page", dsz
    if case == "output is a file":
        target.write_text("x")
    elif case == "parent missing":
        target = tmp_path / "no" / "page"
    else:
        source = tmp_path / "junk.dsz"
        source.write_bytes(b"not a dsz file")
    result = run_cli("report", source, "-o", target)
    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert case == "output is a file" or not target.exists()


def test_without_matplotlib_one_line_says_how_to_install_it(run_cli, dsz: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = run_cli("report", dsz, "-o", tmp_path / "page")
    assert result.exit_code == 1
    assert result.stderr.strip() == "dualsparse: error: matplotlib is missing: pip install 'dualsparse[plots]'"
    assert not (tmp_path / "page").exists()


def test_no_core_module_imports_matplotlib() -> None:
    code = ("import sys, formats, compress.report_page, compress.cli.main, compress.cli.report_cmd; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
