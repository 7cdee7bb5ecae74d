"""MANN (8 experts, hidden 512): stored size and per-frame MACs against global L1 sparsity.

Run:  python examples/prune_report.py [--codec zstd] [--out DIR]

For each sparsity the randomly initialised dog-setup MANN is pruned one-shot (global L1, unstructured,
biases and the gating network's norms excluded by default) and exported with
:func:`compress.prune.export.export_dsz` (lossless). Columns:

* ``float32 Mbit``: non-zero parameters × 32 bits, the measure of Maiorca et al. 2022, Table 1
  (178 Mbit dense, 17.8 Mbit at 90 %);
* ``.dsz bytes`` and ``ratio``: the exported file against the dense model's file (same codec);
* ``MMACs/frame``: multiply-adds of one frame with the sparse expert blend over the union pattern
  (gating dense, each expert layer ``(experts + 1) · nnz_union`` + biases).
Random weights code worse than trained ones, so the file sizes are upper bounds for a trained MANN.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from compress.prune import PruneConfig, prune_state_dict
from compress.prune.export import export_dsz
from compress.zoo.mann import MANN

SPARSITIES = (0.0, 0.5, 0.8, 0.9, 0.95)


def frame_macs(state: dict[str, torch.Tensor]) -> int:
    macs = 0
    for name, tensor in state.items():
        if name.startswith("gating.") and name.endswith("weight"):
            macs += tensor.numel()
        elif name.startswith("layers.") and name.endswith("weight"):
            experts = tensor.shape[0]
            union = int((tensor != 0).any(dim=0).sum())
            macs += (experts + 1) * union + experts * tensor.shape[1]  # blend, product, bias blend
    return macs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", default="zstd", help="container codec (auto is slow on 22 MB)")
    parser.add_argument("--out", type=Path, default=None, help="keep the .dsz files here")
    args = parser.parse_args()
    out_dir = args.out or Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    state = MANN().state_dict()
    dense_bytes = None
    print(f"MANN dog setup, {sum(t.numel() for t in state.values()):,} parameters, codec {args.codec}")
    print(f"{'sparsity':>8}  {'achieved':>8}  {'float32 Mbit':>12}  {'.dsz bytes':>11}  {'ratio':>6}  "
          f"{'MMACs/frame':>11}")
    for sparsity in SPARSITIES:
        pruned, report = prune_state_dict(state, PruneConfig(sparsity))
        summary = export_dsz(out_dir / f"mann_{sparsity:.2f}.dsz", pruned, codec=args.codec)
        dense_bytes = dense_bytes or summary.bytes
        nonzero = sum(int((t != 0).sum()) for t in pruned.values())
        print(f"{sparsity:8.2f}  {report.overall:8.4f}  {nonzero * 32 / 1e6:12.1f}  {summary.bytes:11,}  "
              f"{summary.bytes / dense_bytes:6.3f}  {frame_macs(pruned) / 1e6:11.2f}")


if __name__ == "__main__":
    main()
