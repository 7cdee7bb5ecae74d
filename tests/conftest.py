"""Shared fixtures: where the real data lives, and whether its absence fails or skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``; skips when absent, fails when DUALSPARSE_REQUIRE_DATA=1 (CI)."""
    if not SHARED_DATA.is_dir():
        message = f"real data not found at {SHARED_DATA}"
        if os.environ.get("DUALSPARSE_REQUIRE_DATA") == "1":
            pytest.fail(message + " and DUALSPARSE_REQUIRE_DATA=1")
        pytest.skip(message)
    return SHARED_DATA
