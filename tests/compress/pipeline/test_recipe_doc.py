"""The generated reference of recipe keys and the one meaning of ``bits`` (version 2) next to version 1."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from compress.errors import RecipeError
from compress.pipeline.recipe_doc import main, recipe_reference
from compress.pipeline.recipe_file import load_recipe, parse_recipe, recipe_to_toml
from compress.pipeline.recipe_schema import SCHEMA, SCHEMA_V1_QUANTIZE, TABLES

REFERENCE = Path(__file__).resolve().parents[3] / "docs" / "recipe-keys.md"


def test_committed_reference_is_what_the_schema_generates() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == recipe_reference(), (
        "docs/recipe-keys.md is stale: run python -m compress.pipeline.recipe_doc --write docs/recipe-keys.md")


def test_every_key_has_a_row_with_its_type_and_a_meaning() -> None:
    text = recipe_reference()
    for section, keys in [*SCHEMA.items(), ("quantize", SCHEMA_V1_QUANTIZE)]:
        for name, key in keys.items():
            assert f"| `{name}` | {key.kind} |" in text, (section, name)
            assert key.meaning.strip()
    for section, tables in TABLES.items():
        for table in tables:
            assert f"`[{section}.{table}]`" in text


def test_main_writes_the_reference(tmp_path: Path) -> None:
    assert main(["--write", str(tmp_path / "keys.md")]) == 0
    assert (tmp_path / "keys.md").read_text(encoding="utf-8") == recipe_reference()


BASE = {"task": {"name": "digits-demo"}}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"bits": 5}, {"shared_bits": 5}),
        ({"bits": 5, "per_layer": False}, {"shared_bits": 5}),
        ({"bits": 4, "per_layer": True}, {"bits": 4}),
        ({"step": 0.01, "per_layer": True}, {"step": 0.01}),
    ],
)
def test_version_1_recipes_quantize_as_their_version_2_form(old: dict, new: dict) -> None:
    v1 = parse_recipe({**BASE, "version": 1, "quantize": old})
    v2 = parse_recipe({**BASE, "version": 2, "quantize": new})
    assert v1.codebook == v2.codebook
    assert v1.to_map() == v2.to_map()
    assert v2.to_map()["version"] == 2
    assert parse_recipe({**BASE, "quantize": old}).codebook == v1.codebook  # no version: version 1


def test_bits_is_a_budget_per_tensor_and_shared_bits_one_step() -> None:
    assert parse_recipe({**BASE, "version": 2, "quantize": {"bits": 5}}).codebook.per_layer is True
    assert parse_recipe({**BASE, "version": 2, "quantize": {"shared_bits": 5}}).codebook.per_layer is False


def test_builtin_version_1_recipes_write_back_as_version_2() -> None:
    recipe = load_recipe("digits-demo")  # version = 1, bits = 5, per_layer = false
    text = recipe_to_toml(recipe)
    assert "version = 2" in text and "shared_bits = 5" in text and "per_layer" not in text
    assert load_recipe("resnet20-cifar10").to_map()["quantize"]["bits"] == 5  # per_layer = true there


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**BASE, "version": 2, "quantize": {"bits": 5, "per_layer": True}}, "per_layer is a version 1 key"),
        ({**BASE, "version": 1, "quantize": {"shared_bits": 5}}, "shared_bits is a version 2 key"),
        ({**BASE, "version": 2, "quantize": {"bits": 5, "shared_bits": 5}}, "exactly one of bits"),
        ({**BASE, "version": 2, "quantize": {}}, "got none"),
        ({**BASE, "version": 2, "quantize": {"shared_bits": 40}}, r"\[quantize\] shared_bits must be"),
        ({**BASE, "version": 1, "quantize": {"bits": 5, "per_layer": "yes"}}, "per_layer must be a boolean"),
    ],
)
def test_bits_mistakes_fail_in_one_line(raw: dict, message: str) -> None:
    with pytest.raises(RecipeError, match=message) as info:
        parse_recipe(raw)
    assert "\n" not in str(info.value)


def test_a_recipe_without_version_says_how_it_reads_bits(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_recipe({**BASE, "quantize": {"bits": 5}}, where="r.toml")
    assert "r.toml has no version: read as version 1" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        parse_recipe({**BASE, "version": 1, "quantize": {"bits": 5}})
        parse_recipe({**BASE, "quantize": {"bits": 5, "per_layer": True}})
    assert caplog.text == ""
