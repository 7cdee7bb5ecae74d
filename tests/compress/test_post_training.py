"""Post-training compression settings: default step, dither on/off, rate–distortion levels, float16 rest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import formats
from compress.errors import RecipeError
from compress.post_training import DEFAULT_STEP_PER_STD, PostTrainingConfig, compress_state_dict, default_step
from formats.ids import PrngId


def _state() -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    laplace = torch.distributions.Laplace(0.0, 0.03)
    torch.manual_seed(0)
    return {
        "conv.weight": laplace.sample((16, 8, 3, 3)),
        "conv.bias": torch.randn(16, generator=generator) * 0.1,
        "fc.weight": laplace.sample((10, 64)),
        "bn.running_var": torch.rand(16, generator=generator) + 1e-3,
        "bn.num_batches_tracked": torch.tensor(5),
    }


def _records(path: Path) -> dict[str, object]:
    with formats.open_dsz(path) as reader:
        return {r.name: r for r in reader.records}


def test_default_step_is_a_multiple_of_the_weights_std(tmp_path: Path) -> None:
    state = _state()
    out = tmp_path / "d.dsz"
    compress_state_dict(state, out, PostTrainingConfig())
    weights = [state["conv.weight"].numpy(), state["fc.weight"].numpy()]
    expected = float(np.float32(DEFAULT_STEP_PER_STD * np.concatenate([w.ravel() for w in weights]).std()))
    assert default_step(weights) == pytest.approx(expected, rel=1e-6)
    records = _records(out)
    assert {records[n].step for n in ("conv.weight", "fc.weight")} == {default_step(weights)}
    assert default_step([]) == 1.0 and default_step([np.ones(4)]) == 1.0


def test_without_dither_levels_round_to_nearest_and_the_seed_is_unused(tmp_path: Path) -> None:
    state = _state()
    paths = [tmp_path / f"{seed}.dsz" for seed in (0, 1)]
    for path, seed in zip(paths, (0, 1), strict=True):
        compress_state_dict(state, path, PostTrainingConfig(step=0.02, seed=seed))
    first, second = formats.load(paths[0]), formats.load(paths[1])  # (the stored recipe names the seed)
    assert all(np.array_equal(first[name], second[name]) for name in first)
    assert _records(paths[0])["conv.weight"].dither.prng == PrngId.NONE
    decoded = formats.load(paths[0])["conv.weight"]
    step = np.float32(0.02)
    expected = (np.rint(state["conv.weight"].numpy().astype(np.float64) / step) * step).astype(np.float32)
    assert np.array_equal(decoded, expected)


def test_with_dither_the_seed_changes_the_file(tmp_path: Path) -> None:
    state = _state()
    paths = [tmp_path / f"{seed}.dsz" for seed in (0, 1)]
    for path, seed in zip(paths, (0, 1), strict=True):
        compress_state_dict(state, path, PostTrainingConfig(step=0.02, seed=seed, dither=True))
    assert paths[0].read_bytes() != paths[1].read_bytes()
    assert _records(paths[0])["conv.weight"].dither.prng == PrngId.SPLITMIX64


def test_rate_distortion_levels_prune_more_and_shrink_the_file(tmp_path: Path) -> None:
    state = _state()
    plain, rd = tmp_path / "plain.dsz", tmp_path / "rd.dsz"
    compress_state_dict(state, plain, PostTrainingConfig(step=0.03))
    compress_state_dict(state, rd, PostTrainingConfig(step=0.03, rd_lambda=0.2))
    assert rd.stat().st_size < plain.stat().st_size
    a, b = formats.load(plain)["fc.weight"], formats.load(rd)["fc.weight"]
    assert np.count_nonzero(b) < np.count_nonzero(a)
    assert np.all((b == 0) | (b == a) | (np.abs(b) < np.abs(a)))  # a level moved only toward zero


def test_float16_rest_halves_the_biases_and_keeps_out_of_range_tensors(tmp_path: Path) -> None:
    state = _state()
    state["huge.bias"] = torch.tensor([1e6, -3.0])
    out = tmp_path / "h.dsz"
    compress_state_dict(state, out, PostTrainingConfig(step=0.02, rest_dtype="float16"))
    decoded = formats.load(out)
    assert decoded["conv.bias"].dtype == np.float16
    reference = state["bn.running_var"].numpy()
    assert np.allclose(decoded["bn.running_var"].astype(np.float32), reference, rtol=2.0**-11, atol=0)
    assert decoded["huge.bias"].dtype == np.float32 and decoded["huge.bias"].tolist() == [1e6, -3.0]
    assert decoded["bn.num_batches_tracked"].dtype == np.int64


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rd_lambda": -1.0}, "lambda"),
    ({"rd_lambda": float("inf")}, "lambda"),
    ({"rest_dtype": "int8"}, "rest_dtype"),
    ({"step": 0.0}, "step"),
    ({"bits": 1}, "bits"),
])
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        PostTrainingConfig(**kwargs)  # type: ignore[arg-type]


def test_the_recipe_stores_every_setting() -> None:
    recipe = PostTrainingConfig(step=0.1, rd_lambda=0.1, rest_dtype="float16").to_recipe()
    assert recipe["_version"] == 2
    assert recipe["_data"] == {"bits": None, "step": 0.1, "seed": 0, "codec": "auto", "min_dims": 2,
                               "dither": False, "rd_lambda": 0.1, "rest_dtype": "float16"}
