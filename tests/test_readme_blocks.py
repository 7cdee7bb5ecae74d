"""Every Python block of the README runs, in order, in one namespace, in an empty folder."""

from __future__ import annotations

import re
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
