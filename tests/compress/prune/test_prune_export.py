"""Lossless sparse export: exact round trip, and a 90 %-sparse network in <= 1/5 of its dense file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

import formats
from compress.prune import PruneConfig, prune_state_dict, to_recipe
from compress.prune.export import export_dsz, read_dsz
from formats.ids import TensorKind


def _mlp() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(480, 512), nn.ELU(), nn.Linear(512, 512), nn.ELU(), nn.Linear(512, 363))
    return net.state_dict()


def test_ninety_percent_sparse_file_is_at_most_a_fifth_of_dense(tmp_path: Path) -> None:
    state = _mlp()
    dense = export_dsz(tmp_path / "dense.dsz", state, codec="zstd")
    pruned, report = prune_state_dict(state, PruneConfig(0.9))
    assert report.achieved == 0.9
    sparse = export_dsz(tmp_path / "sparse.dsz", pruned, codec="zstd", recipe=to_recipe(PruneConfig(0.9)))
    assert dense.sparse == () and set(sparse.sparse) == {"0.weight", "2.weight", "4.weight"}
    ratio = sparse.bytes / dense.bytes
    assert ratio <= 0.2, ratio
    back = read_dsz(tmp_path / "sparse.dsz")
    assert list(back) == list(pruned)
    for name, tensor in pruned.items():
        assert np.array_equal(back[name].view(np.uint32), tensor.numpy().view(np.uint32))
    assert formats.open_dsz(tmp_path / "sparse.dsz").recipe["_type"] == "PruneConfig"


def test_round_trip_is_bit_exact_including_negative_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    w = rng.standard_normal((37, 11)).astype(np.float32)
    w[rng.random(w.shape) < 0.8] = 0.0
    w[0, 0], w[1, 1] = -0.0, np.float32(1e-42)  # a kept negative zero and a subnormal
    h = np.where(rng.random((16, 8)) < 0.9, 0.0, rng.standard_normal((16, 8))).astype(np.float16)
    summary = export_dsz(tmp_path / "w.dsz", {"w": torch.from_numpy(w), "h": h}, codec="raw")
    assert summary.sparse == ("w", "h")
    back = read_dsz(tmp_path / "w.dsz")
    assert back["w"].view(np.uint32).tobytes() == w.view(np.uint32).tobytes()
    assert back["h"].dtype == np.float16 and back["h"].tobytes() == h.tobytes()
    record = formats.open_dsz(tmp_path / "w.dsz").record("w")
    assert record.kind == TensorKind.SPARSE and record.nnz == int(np.count_nonzero(w.view(np.uint32)))


def test_dense_and_small_tensors_stay_as_they_are(tmp_path: Path) -> None:
    state = {"dense": np.ones((16, 16), np.float32), "tiny": np.zeros((3, 3), np.float32),
             "ints": np.arange(100, dtype=np.int64), "sparse": np.eye(32, dtype=np.float32),
             "zero_bias": np.zeros(128, np.float32)}
    summary = export_dsz(tmp_path / "m.dsz", state, codec="raw")
    assert summary.sparse == ("sparse",) and summary.dense == ("dense", "tiny", "ints", "zero_bias")
    reader = formats.open_dsz(tmp_path / "m.dsz")
    assert reader.names == tuple(state)
    assert [r.kind for r in reader.records] == [TensorKind.RAW] * 3 + [TensorKind.SPARSE, TensorKind.RAW]
    assert reader.record("sparse").nnz == 32
    back = read_dsz(tmp_path / "m.dsz")
    assert all(np.array_equal(back[k], v) for k, v in state.items())
