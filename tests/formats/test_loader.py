"""formats.load: spatial decode, Winograd transform of tagged tensors, one global pruning threshold."""

from __future__ import annotations

import numpy as np
import pytest

import formats
from formats.errors import HeaderError
from formats.ids import DType
from formats.loader import prune_global
from formats.winograd import transform_filters

WINO = {"winograd": {"m": 2, "r": 3}}


@pytest.fixture()
def model_file(tmp_path):
    rng = np.random.default_rng(0)
    conv1 = formats.quantize_dithered(rng.normal(0, 0.2, (4, 2, 3, 3)), 0.05, seed=1, name="conv1.weight")
    conv2 = rng.normal(0, 0.2, (3, 4, 3, 3)).astype(np.float32)
    tensors = {
        "conv1.weight": conv1,
        "conv1.bias": rng.normal(size=4).astype(np.float32),
        "conv2.weight": conv2,
        "fc.weight": rng.normal(size=(5, 12)).astype(np.float32),
        "scale": np.array([0x3F80, 0x4000], np.uint16),
    }
    path = tmp_path / "m.dsz"
    formats.save(path, tensors, attrs={"conv1.weight": WINO, "conv2.weight": {"winograd": {"m": 4, "r": 3}}},
                 dtypes={"scale": DType.BFLOAT16})
    return path, tensors


def test_spatial_domain_is_the_decoded_file(model_file) -> None:
    path, tensors = model_file
    out = formats.load(path)
    assert list(out) == list(tensors)
    assert out["conv1.weight"].tobytes() == formats.dequantize(tensors["conv1.weight"]).tobytes()
    assert np.array_equal(out["fc.weight"], tensors["fc.weight"])
    assert out["scale"].tolist() == [1.0, 2.0]  # bfloat16 widened
    assert formats.load(path.read_bytes())["conv2.weight"].tobytes() == out["conv2.weight"].tobytes()


def test_winograd_domain_transforms_only_tagged_tensors(model_file) -> None:
    path, _ = model_file
    spatial = formats.load(path)
    wino = formats.load(path, domain="winograd")
    assert wino["conv1.weight"].shape == (4, 2, 4, 4) and wino["conv2.weight"].shape == (3, 4, 6, 6)
    assert np.array_equal(wino["conv1.weight"], transform_filters(spatial["conv1.weight"], 2))
    assert np.array_equal(wino["conv2.weight"], transform_filters(spatial["conv2.weight"], 4))
    for name in ("conv1.bias", "fc.weight", "scale"):
        assert np.array_equal(wino[name], spatial[name])


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.8, 0.95])
def test_global_threshold_prunes_exactly_the_requested_fraction(model_file, sparsity: float) -> None:
    path, _ = model_file
    dense = formats.load(path, domain="winograd")
    pruned = formats.load(path, domain="winograd", sparsity=sparsity)
    names = ["conv1.weight", "conv2.weight"]
    total = sum(dense[n].size for n in names)
    zeros_before = sum(int((dense[n] == 0).sum()) for n in names)
    zeros_after = sum(int((pruned[n] == 0).sum()) for n in names)
    assert zeros_after == max(int(np.floor(sparsity * total)), zeros_before)  # zeros are the smallest
    kept = np.concatenate([np.abs(pruned[n][pruned[n] != 0]) for n in names])
    dropped = np.concatenate([np.abs(dense[n][(pruned[n] == 0) & (dense[n] != 0)]) for n in names])
    if kept.size and dropped.size:
        assert dropped.max() <= kept.min()  # one threshold across both tensors
    for n in names:
        survivors = pruned[n] != 0
        assert np.array_equal(pruned[n][survivors], dense[n][survivors])
    assert np.array_equal(pruned["fc.weight"], dense["fc.weight"])


def test_ties_are_broken_by_position() -> None:
    w = {"a": np.array([1.0, 1.0, 2.0]), "b": np.array([1.0, -1.0])}
    prune_global(w, ["a", "b"], 0.6)  # k = 3 of 4 ties at |w| = 1
    assert w["a"].tolist() == [0.0, 0.0, 2.0] and w["b"].tolist() == [0.0, -1.0]


def test_prune_global_copies_instead_of_writing_into_inputs() -> None:
    original = np.array([1.0, 2.0])
    w = {"a": original}
    prune_global(w, ["a"], 0.5)
    assert original.tolist() == [1.0, 2.0] and w["a"].tolist() == [0.0, 2.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"domain": "fourier"}, "domain must be one of"),
        ({"domain": "winograd", "sparsity": 1.0}, r"\[0, 1\)"),
        ({"domain": "winograd", "sparsity": -0.1}, r"\[0, 1\)"),
        ({"domain": "winograd", "sparsity": 80}, r"\[0, 1\)"),
        ({"domain": "winograd", "sparsity": "0.5"}, "number"),
        ({"domain": "winograd", "sparsity": True}, "number"),
        ({"domain": "spatial", "sparsity": 0.5}, "winograd domain only"),
    ],
)
def test_bad_arguments(model_file, kwargs: dict, match: str) -> None:
    path, _ = model_file
    with pytest.raises(ValueError, match=match):
        formats.load(path, **kwargs)


@pytest.mark.parametrize(
    ("shape", "attrs", "match"),
    [
        ((2, 2, 5, 5), WINO, "needs filters shaped"),
        ((9,), WINO, "needs filters shaped"),
        ((2, 2, 3, 3), {"winograd": {"m": 0, "r": 3}}, "positive integer"),
        ((2, 2, 3, 3), {"winograd": {"r": 3}}, "must be a map"),
        ((2, 2, 3, 3), {"winograd": {"m": 2, "r": 3, "x": 1}}, "must be a map"),
        ((2, 2, 3, 3), {"winograd": [2, 3]}, "must be a map"),
    ],
)
def test_bad_winograd_attrs(shape: tuple[int, ...], attrs: dict, match: str) -> None:
    blob = formats.dumps({"w": np.ones(shape, np.float32)}, attrs={"w": attrs})
    assert formats.load(blob)["w"].shape == shape  # spatial ignores the attrs
    with pytest.raises(HeaderError, match=match):
        formats.load(blob, domain="winograd")


def test_sparse_tensors_load_dense_in_both_domains(tmp_path) -> None:
    w = np.zeros((2, 3, 3, 3), np.float32)
    w[0, 1, 1, 1], w[1, 2, 0, 2] = 0.5, -1.25
    path = tmp_path / "s.dsz"
    formats.save(path, {"w": formats.SparseTensor(w)}, attrs={"w": WINO})
    assert formats.load(path)["w"].tobytes() == w.tobytes()
    assert np.array_equal(formats.load(path, domain="winograd")["w"], transform_filters(w, 2))


def _with_recipe(recipe: dict) -> bytes:
    w = np.random.default_rng(3).normal(size=(4, 2, 3, 3)).astype(np.float32)
    return formats.dumps({"w": w, "b": np.ones(4, np.float32)}, attrs={"w": WINO}, recipe=recipe)


def _zeros(weights: dict[str, np.ndarray]) -> float:
    return float(np.mean(weights["w"] == 0))


def test_winograd_domain_defaults_to_the_stored_report_sparsity() -> None:
    blob = _with_recipe({"report": {"sparsity": {"s_wd_deployed": 0.75, "winograd": 0.75}}})
    assert formats.stored_winograd_sparsity(blob) == 0.75
    assert _zeros(formats.load(blob, domain="winograd")) == 0.75  # 4*2*16 = 128 coefficients, 96 pruned
    assert _zeros(formats.load(blob, domain="winograd", sparsity=0.5)) == 0.5  # explicit value wins
    assert _zeros(formats.load(blob, domain="winograd", sparsity=0.0)) == 0.0  # keeps every coefficient
    assert _zeros(formats.load(blob)) == 0.0  # the spatial domain ignores it


@pytest.mark.parametrize(
    ("recipe", "expected"),
    [
        ({}, None),
        ({"_type": "PostTraining", "_data": {"bits": 6}}, None),
        ({"report": {"sparsity": {"s_wd_deployed": None}}}, None),
        ({"stages": [{"_type": "FinetuneConfig", "_data": {"recipe": "wd+sd", "s_wd": 0.6}}]}, 0.6),
        ({"stages": [{"_type": "FinetuneConfig", "_data": {"recipe": "sd", "s_wd": 0.6}}]}, None),
        ({"_data": {"stages": [{"_type": "FinetuneConfig", "_data": {"recipe": "wd", "s_wd": 0.6}},
                               {"_type": "CodebookConfig", "_data": {"wd_regularizer": True, "s_wd": 0.7}}]}}, 0.7),
        ({"_data": {"stages": [{"_type": "CodebookConfig", "_data": {"wd_regularizer": False, "s_wd": 0.7}}]}}, None),
        ({"report": {"sparsity": {"s_wd_deployed": 0.5}},
          "stages": [{"_type": "FinetuneConfig", "_data": {"recipe": "wd", "s_wd": 0.6}}]}, 0.5),
        ({"report": {"sparsity": {"s_wd_deployed": 1.5}},  # not a fraction: skipped
          "stages": [{"_type": "FinetuneConfig", "_data": {"recipe": "wd", "s_wd": 0.6}}]}, 0.6),
        ({"report": {"sparsity": {"s_wd_deployed": "0.8"}}}, None),
        ({"report": "none", "stages": "none", "_data": 3}, None),
    ],
)
def test_where_the_stored_sparsity_is_found(recipe: dict, expected: float | None) -> None:
    blob = _with_recipe(recipe)
    assert formats.stored_winograd_sparsity(blob) == expected
    with formats.open_dsz(blob) as reader:
        assert formats.stored_winograd_sparsity(reader) == expected
    assert _zeros(formats.load(blob, domain="winograd")) == np.floor((expected or 0.0) * 128) / 128


def test_winograd_tiles_lists_the_marked_tensors(model_file) -> None:
    path, _ = model_file
    assert formats.winograd_tiles(path) == {"conv1.weight": (2, 3), "conv2.weight": (4, 3)}
    assert formats.winograd_tiles(formats.dumps({"w": np.ones((2, 3, 3), np.float32)})) == {}
    with pytest.raises(HeaderError, match="positive integer"):
        formats.winograd_tiles(formats.dumps({"w": np.ones((2, 3, 3), np.float32)},
                                             attrs={"w": {"winograd": {"m": 0, "r": 3}}}))


def test_nan_is_never_pruned_and_caps_k() -> None:
    w = {"a": np.array([np.nan, 1.0, -2.0]), "b": np.array([0.5, np.nan])}
    prune_global(w, ["a", "b"], 0.4)  # k = 2: 0.5 and 1.0
    assert np.isnan(w["a"][0]) and w["a"][1:].tolist() == [0.0, -2.0] and w["b"][0] == 0.0
    prune_global(w, ["a", "b"], 0.99)  # k = 4 > 3 non-NaN elements: all three pruned, NaN kept
    assert np.isnan(w["a"][0]) and w["a"][1:].tolist() == [0.0, 0.0] and np.isnan(w["b"][1])
