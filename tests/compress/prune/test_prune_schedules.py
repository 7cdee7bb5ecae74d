"""Schedules match their formulas; recipes round-trip through the allowlist."""

from __future__ import annotations

import math

import pytest

from compress.errors import RecipeError
from compress.prune import AGP, NM, Blocks, Iterative, OneCycle, OneShot, PruneConfig, Scope, SelectOptions
from compress.prune.config import from_recipe, to_recipe
from compress.prune.schedules import schedule_from_dict, schedule_to_dict

PROGRESS = [0.0, 0.1, 0.25, 0.5, 0.7, 0.99, 1.0]


@pytest.mark.parametrize("t", PROGRESS)
def test_agp_is_cubic(t: float) -> None:
    s_i, s_f = 0.1, 0.9
    assert AGP(s_i, s_f)(t) == pytest.approx(s_f + (s_i - s_f) * (1 - t) ** 3, abs=1e-15)


def test_agp_with_progress_window() -> None:
    s = AGP(0.0, 0.8, start=0.2, end=0.6)
    assert s(0.1) == 0.0 and s(0.6) == 0.8 and s(0.9) == 0.8
    assert s(0.4) == pytest.approx(0.8 * (1 - 0.5**3))


def test_one_cycle_midpoint_and_ends() -> None:
    s = OneCycle(0.0, 0.9)
    logistic = (1 + math.exp(6 - 14)) / (1 + math.exp(6 - 14 * 0.5))
    assert s(0.5) == pytest.approx(0.9 * logistic, abs=1e-15)
    assert s(0.5) == pytest.approx(0.9 * 0.7313035, abs=1e-6)
    assert s(1.0) == 0.9
    assert s(0.0) == pytest.approx(0.9 * (1 + math.exp(-8)) / (1 + math.exp(6)), abs=1e-15)
    values = [s(t / 100) for t in range(101)]
    assert values == sorted(values)


@pytest.mark.parametrize("t", PROGRESS)
def test_one_cycle_formula(t: float) -> None:
    s = OneCycle(0.2, 0.7, alpha=10, beta=4)
    f = (1 + math.exp(4 - 10)) / (1 + math.exp(4 - 10 * t))
    assert s(t) == pytest.approx(0.2 + 0.5 * f, abs=1e-15)


def test_one_shot_jumps_at_start() -> None:
    s = OneShot(0.0, 0.9, start=0.3)
    assert [s(0.0), s(0.29), s(0.3), s(1.0)] == [0.0, 0.0, 0.9, 0.9]


def test_iterative_steps() -> None:
    s = Iterative(0.0, 0.9, steps=3)
    assert s(0.0) == 0.0
    assert s(0.2) == pytest.approx(0.3) and s(1 / 3) == pytest.approx(0.3)
    assert s(0.5) == pytest.approx(0.6) and s(0.9) == pytest.approx(0.9) and s(1.0) == 0.9


def test_schedule_validation_and_round_trip() -> None:
    with pytest.raises(RecipeError):
        AGP(0.0, 90.0)
    with pytest.raises(RecipeError):
        OneCycle(start=0.8, end=0.2)
    for s in (OneShot(0, 0.5, start=0.1), Iterative(0.1, 0.6, steps=5), AGP(), OneCycle(alpha=12)):
        assert schedule_from_dict(schedule_to_dict(s)) == s
    with pytest.raises(RecipeError, match="unknown schedule"):
        schedule_from_dict({"_type": "os.system", "_version": 1, "_data": {}})


def test_prune_config_recipe_round_trip_and_allowlist() -> None:
    config = PruneConfig(0.8, scope=Scope.LOCAL, granularity=Blocks(4, 2), min_density=0.05,
                         select=SelectOptions(include_bias=True, exclude=("gating.*",)))
    assert from_recipe(to_recipe(config)) == config
    assert from_recipe(to_recipe(PruneConfig(0.5, granularity=NM(2, 4)))).granularity == NM(2, 4)
    blob = to_recipe(config)
    blob["_data"]["granularity"]["_type"] = "Popen"
    with pytest.raises(RecipeError, match="not allowed"):
        from_recipe(blob)
