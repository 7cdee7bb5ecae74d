"""Fixtures: the spec's reference decoder and vector generator as modules."""

from __future__ import annotations

from types import ModuleType

import pytest
from spec_vectors import load_spec_module


@pytest.fixture(scope="session")
def reference() -> ModuleType:
    """spec/reference_decoder.py."""
    return load_spec_module("reference_decoder")


@pytest.fixture(scope="session")
def generator() -> ModuleType:
    """spec/generate_vectors.py."""
    return load_spec_module("generate_vectors")
