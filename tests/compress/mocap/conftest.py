"""Fixtures of the motion-capture tests: a tiny hand-written BVH and the real dog capture (data tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mocap_samples import TINY_BVH

from compress.mocap.bvh import BVH, read_bvh


@pytest.fixture
def tiny_text() -> str:
    """The tiny BVH with CRLF line ends, as in the real capture files."""
    return TINY_BVH.replace("\n", "\r\n")


@pytest.fixture(scope="session")
def dog_clips(shared_data: Path) -> list[BVH]:
    """All clips of ``../shared/data/dog-mocap-mann/MotionCapture``, parsed once per session."""
    folder = shared_data / "dog-mocap-mann" / "MotionCapture"
    if not folder.is_dir():
        pytest.skip(f"dog capture not found at {folder}")
    return [read_bvh(path) for path in sorted(folder.glob("*.bvh"))]
