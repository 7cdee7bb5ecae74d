"""Deep Compression baseline: exact sparsity, k-means fixed points, Huffman sizes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compress.baselines.deep_compression import _relative_positions, deep_compression, kmeans_1d
from compress.baselines.huffman import huffman_code_lengths


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=40))
def test_huffman_lengths_satisfy_kraft_with_equality_and_beat_fixed_length(counts: list[int]) -> None:
    counts_array = np.array(counts)
    lengths = huffman_code_lengths(counts_array)
    present = counts_array > 0
    if present.sum() >= 2:
        assert np.isclose(np.sum(2.0 ** -lengths[present]), 1.0)
        fixed = int(np.ceil(np.log2(present.sum())))
        assert (counts_array * lengths).sum() <= counts_array.sum() * fixed
        probabilities = counts_array[present] / counts_array.sum()
        entropy = -(counts_array[present] * np.log2(probabilities)).sum()
        assert (counts_array * lengths).sum() >= entropy - 1e-9


def test_kmeans_centroids_are_the_means_of_their_clusters() -> None:
    values = np.random.default_rng(0).normal(size=2000)
    centroids, assignment = kmeans_1d(values, 8)
    for k in range(8):
        members = values[assignment == k]
        if members.size:
            assert np.isclose(centroids[k], members.mean())
    edges = (centroids[1:] + centroids[:-1]) / 2
    assert np.array_equal(assignment, np.searchsorted(edges, values))


@pytest.mark.parametrize("scope", ["global", "local"])
def test_pruning_is_exact_and_other_tensors_pass_through(scope: str) -> None:
    rng = np.random.default_rng(1)
    weights = {"a.weight": rng.normal(size=(20, 30)).astype(np.float32), "a.bias": rng.normal(size=20),
               "b.weight": rng.normal(size=(10, 10)).astype(np.float32) * 3}
    result = deep_compression(weights, ["a.weight", "b.weight"], sparsity=0.8, bits=4, scope=scope)
    zeros = sum(int((result.weights[n] == 0).sum()) for n in ("a.weight", "b.weight"))
    assert zeros == int(0.8 * 700)
    assert result.weights["a.bias"] is weights["a.bias"]
    for name in ("a.weight", "b.weight"):
        assert len(np.unique(result.weights[name][result.weights[name] != 0])) <= 16
    if scope == "local":
        assert int((result.weights["b.weight"] == 0).sum()) == 80


def test_size_counts_every_part() -> None:
    weights = {"w": np.arange(1, 1025, dtype=np.float32).reshape(32, 32)}
    dense = deep_compression(weights, ["w"], sparsity=0.0, bits=1, index_bits=2)
    # 1024 indices of 1 bit, 1024 zero gaps of 1 bit each, 2 float32 centroids, two 5-bit-per-symbol tables
    assert dense.bits == 1024 + 1024 + 64 + 5 * 2 + 5 * 4
    sparse = deep_compression(weights, ["w"], sparsity=0.9, bits=1, index_bits=2)
    assert sparse.bits < dense.bits


def test_long_gaps_insert_fillers() -> None:
    weights = {"w": np.zeros(100, dtype=np.float32)}
    weights["w"][[0, 50, 99]] = [1.0, 2.0, 3.0]
    result = deep_compression(weights, ["w"], sparsity=0.9, bits=2, index_bits=3)
    np.testing.assert_array_equal(result.weights["w"][[0, 50, 99]], [1.0, 2.0, 3.0])
    gaps, fillers = _relative_positions(np.array([0, 50, 99]), 3)
    # gaps 0, 49, 48 with 3-bit entries (at most 7, then a filler weight): 49 = 6 x 8 + 1, 48 = 6 x 8 + 0
    assert fillers == 12 and gaps.size == 15 and gaps.max() == 7
