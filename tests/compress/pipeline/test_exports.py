"""The names the README gives for compress.pipeline resolve (imported on first use)."""

from __future__ import annotations

import importlib

import pytest

import compress.pipeline


@pytest.mark.parametrize("name", sorted(compress.pipeline.__all__))
def test_every_listed_name_resolves(name: str) -> None:
    assert getattr(compress.pipeline, name) is not None


def test_readme_names_are_there() -> None:
    for name in ("run_recipe", "quantize_weights", "tune_codebooks", "JointSparsity", "load_recipe"):
        assert callable(getattr(compress.pipeline, name))
    assert callable(importlib.import_module("compress.pipeline.finetune").finetune)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        compress.pipeline.nope  # noqa: B018
