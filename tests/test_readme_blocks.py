"""The README's code blocks run: every Python block in order in one namespace, and the command-line walkthrough
(slow), each in an empty folder. The set-up block (install, then the demo / the test suite) is what CI itself runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_the_readme_has_python_blocks() -> None:
    assert len(python_blocks(README.read_text(encoding="utf-8"))) >= 3


def test_every_readme_python_block_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace: dict[str, object] = {"__name__": "readme"}
    try:
        for number, block in enumerate(python_blocks(README.read_text(encoding="utf-8")), start=1):
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)  # noqa: S102 - our own docs
    finally:
        torch.set_num_threads(threads)


def command_line_block(text: str) -> str:
    section = text[text.index("## The command line"):]
    return re.findall(r"^```bash\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)[0]


@pytest.mark.slow
def test_the_command_line_walkthrough_runs(tmp_path: Path) -> None:
    if shutil.which("dualsparse") is None:
        pytest.skip("the dualsparse command is not installed (pip install -e .)")
    script = "set -euo pipefail\n" + command_line_block(README.read_text(encoding="utf-8"))
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                            check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for name in ("model.dsz", "marked.dsz", "recipe.dsz", "model.json", "model.npz", "wino.npz", "ship.dsz"):
        assert (tmp_path / name).is_file(), name
    assert "winograd domain" in result.stdout and "nothing written" in result.stdout
