"""formats.stats: the figures `dualsparse inspect` prints."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import formats
from formats.entropy import order0_entropy_bytes
from formats.stats import tensor_stats


def test_stats_per_kind(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((64, 32)) * 0.05).astype(np.float32)
    quantized = formats.quantize_dithered(weights, 0.05, seed=1, name="q")
    sparse = np.where(rng.random((40, 40)) < 0.9, 0, rng.standard_normal((40, 40))).astype(np.float32)
    bias = np.array([0.0, 1.0, 1.0, 2.0], np.float32)
    path = tmp_path / "s.dsz"
    formats.save(path, {"q": quantized, "s": formats.SparseTensor(sparse), "b": bias}, codec="raw")
    with formats.open_dsz(path) as reader:
        stats = {r.name: tensor_stats(reader, r) for r in reader.records}
        lengths = {r.name: r.length for r in reader.records}

    q = stats["q"]
    assert (q.kind, q.codec, q.elements, q.shape) == ("quantized", "raw", 64 * 32, (64, 32))
    assert q.sparsity == np.mean(quantized.symbols == quantized.zero_symbol)
    assert q.entropy_bytes == order0_entropy_bytes(quantized.symbols)
    assert q.payload_bytes == lengths["q"] == 64 * 32  # raw codec: one byte per symbol
    assert q.bits_per_weight == 8.0
    assert q.ratio_to_entropy == q.payload_bytes / q.entropy_bytes

    s = stats["s"]
    assert s.kind == "sparse" and s.sparsity == np.mean(sparse == 0)
    nnz = int(np.count_nonzero(sparse))
    assert s.payload_bytes == (40 * 40 + 7) // 8 + 4 * nnz  # bitmap + four byte planes, uncoded

    b = stats["b"]
    assert b.kind == "raw" and b.sparsity == 0.25
    assert np.isclose(b.entropy_bytes, 4 * 1.5 / 8)  # values {0, 1, 1, 2}: H0 = 1.5 bits


def test_entropy_ratio_of_constant_stream_is_defined(tmp_path: Path) -> None:
    path = tmp_path / "z.dsz"
    formats.save(path, {"z": np.zeros(16, np.float32)}, codec="raw")
    with formats.open_dsz(path) as reader:
        z = tensor_stats(reader, reader.records[0])
    assert z.entropy_bytes == 0 and z.ratio_to_entropy == float("inf") and z.sparsity == 1.0
