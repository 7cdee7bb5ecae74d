"""The report page of the demo file renders in a real headless browser (slow: it runs the demo first).

Uses Playwright when it is installed (its own Chromium, or the system's ``chromium``), else a headless
``chromium`` screenshot; skipped when neither is there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.slow

SYSTEM_CHROMIUM = next((p for p in ("chromium", "chromium-browser", "google-chrome") if shutil.which(p)), None)


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from click.testing import CliRunner

    from compress.cli.main import cli

    work = tmp_path_factory.mktemp("demo")
    runner = CliRunner()
    result = runner.invoke(cli, ["demo", "--workdir", str(work)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["report", str(work / "digits.dsz"), "-o", str(work / "report")])
    assert result.exit_code == 0, result.output
    return work / "report" / "index.html"


def _playwright_render(page_path: Path, shot: Path) -> dict:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        try:
            browser = p.chromium.launch()
        except Exception:  # noqa: BLE001 - no bundled browser: try the system's
            if SYSTEM_CHROMIUM is None:
                pytest.skip("Playwright has no browser and no system chromium is installed")
            browser = p.chromium.launch(executable_path=shutil.which(SYSTEM_CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        failures: list[str] = []
        page.on("requestfailed", lambda request: failures.append(request.url))
        page.on("console", lambda message: failures.append(message.text) if message.type == "error" else None)
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        found = {
            "title": page.title(),
            "images": page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])"),
            "layer_rows": page.eval_on_selector_all("#layers tr", "els => els.length"),
            "failures": failures,
        }
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    return found


def test_demo_report_renders_in_a_headless_browser(demo_page: Path, tmp_path: Path) -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        if SYSTEM_CHROMIUM is None:
            pytest.skip("no headless browser: pip install playwright, or install chromium")
        shot = tmp_path / "page.png"
        subprocess.run([shutil.which(SYSTEM_CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
                        f"--screenshot={shot}", "--window-size=1100,3000", demo_page.as_uri()],
                       check=True, capture_output=True, timeout=120)
    else:
        shot = tmp_path / "page.png"
        found = _playwright_render(demo_page, shot)
        assert found["title"] == "dualsparse report: digits.dsz"
        assert {src for src, _ in found["images"]} == {"sparsity.png", "histograms.png", "sizes.png", "training.png"}
        assert all(width > 0 for _, width in found["images"]), found["images"]  # every image decoded
        assert found["layer_rows"] == 5 and found["failures"] == []
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.shape[0] > 1000 and pixels.std() > 0.05  # a tall page, not blank
