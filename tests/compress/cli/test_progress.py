"""Recipe progress on stderr: bars on a terminal, periodic lines in a log file."""

from __future__ import annotations

import io

from compress.cli.progress import ClickProgress


def _run(progress: ClickProgress, total: int, positions: list[int]) -> None:
    progress.stage("fine-tune", total)
    for p in positions:
        progress.advance(p)
    progress.done()


def test_a_log_gets_a_line_per_tenth() -> None:
    log = io.StringIO()
    _run(ClickProgress(stream=log), 2000, list(range(1, 2001)))
    lines = log.getvalue().splitlines()
    assert lines[0] == "fine-tune: 2000 steps"
    assert [line.split(" (")[0] for line in lines[1:-1]] == [f"fine-tune: {200 * k}/2000" for k in range(1, 10)]
    assert "(50 %)" in lines[5] and lines[-1].startswith("fine-tune: done in ")


def test_coarse_advances_and_short_stages() -> None:
    log = io.StringIO()
    _run(ClickProgress(stream=log), 2000, [1000, 1100, 2000])  # a jump reports where it landed, once
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 and lines[1].startswith("fine-tune: 1000/2000 (50 %)")
    log = io.StringIO()
    _run(ClickProgress(stream=log), 3, [1, 2, 3])
    lines = log.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[:-1]] == [
        "fine-tune: 3 steps",
        "fine-tune: 1/3 (33 %)",
        "fine-tune: 2/3 (66 %)",
    ]
    assert len(lines) == 4 and lines[-1].startswith("fine-tune: done in ")


def test_quiet_writes_nothing() -> None:
    log = io.StringIO()
    progress = ClickProgress(quiet=True, stream=log)
    progress.note("hello")
    _run(progress, 100, [50, 100])
    assert log.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar() -> None:
    term = _Terminal()
    _run(ClickProgress(stream=term), 100, [10, 50, 100])
    out = term.getvalue()
    assert "fine-tune" in out and "100/100" in out and "steps" not in out
