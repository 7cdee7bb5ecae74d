"""Ship a trained (pruned) MANN checkpoint as one self-contained .dsz, reload it into the sparse runtime, compare.

Run:  python examples/mann_export.py CHECKPOINT -o model.dsz [--data DIR] [--skeleton CLIP.bvh] [--rows 256]

CHECKPOINT is a ``checkpoint.pt`` of ``examples/mann_study.py`` (``models/<name>/checkpoint.pt``). The .dsz
holds the weights (pruned expert stacks as lossless SPARSE records), the normalisation statistics and
feature layout from ``--data`` (the folder of ``examples/mann_data.py``), the skeleton's bones from
``--skeleton`` (any clip of the capture) and a start row, so ``examples/mann_render.py`` needs nothing else.
Prints the file size against the float32 parameters and the output comparison on held-out rows:
the weights come back bit for bit, the sparse runtime from the file gives the same bits as the sparse
runtime from the checkpoint, and differs from the dense model by float32 rounding only (sums in another order).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from compress.errors import CompressError
from compress.mann.ship import check_export, export_mann, from_checkpoint, load_mann
from compress.mocap import MannDataset

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SKELETON = REPO.parent / "shared" / "data" / "dog-mocap-mann" / "MotionCapture" / "D1_001_KAN01_001.bvh"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="checkpoint.pt of examples/mann_study.py")
    parser.add_argument("-o", "--output", required=True, help="the .dsz to write")
    parser.add_argument("--data", default="/tmp/dualsparse-mann-data",
                        help="output folder of mann_data.py (normalization.npz, dataset.npz, split.json)")
    parser.add_argument("--skeleton", default=str(DEFAULT_SKELETON), help="a .bvh clip of the capture (bones)")
    parser.add_argument("--rows", type=int, default=256, help="held-out rows to compare outputs on")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        return run(args)
    except CompressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    skeleton = args.skeleton if Path(args.skeleton).is_file() else None
    if skeleton is None:
        print(f"no skeleton clip at {args.skeleton}: the file will have no bones")
    source = from_checkpoint(args.checkpoint, args.data, skeleton)
    begin = time.perf_counter()
    summary = export_mann(args.output, source.model, source.normalization, source.layout, paws=source.paws,
                          parents=source.parents, start=source.start,
                          metadata={"source": Path(args.checkpoint).parent.name})
    seconds = time.perf_counter() - begin
    print(f"wrote {summary.path}: {summary.bytes} bytes, float32 parameters {summary.float32_bytes} bytes "
          f"({summary.ratio:.2f}x smaller); expert weights {100 * summary.expert_density:.2f} % non-zero, "
          f"stored sparse: {', '.join(summary.sparse)} ({seconds:.1f} s)")
    shipped = load_mann(args.output)
    dataset = MannDataset.load(Path(args.data) / "dataset.npz")
    split = json.loads((Path(args.data) / "split.json").read_text())
    rows = np.flatnonzero(dataset.rows_of(split["validation"]))
    pick = rows[np.linspace(0, len(rows) - 1, min(args.rows, len(rows))).astype(int)]
    inputs = torch.from_numpy(source.normalization.normalize_inputs(dataset.inputs[pick]))
    check = check_export(source.model, shipped, inputs)
    print(f"reloaded: weights bit-identical {check.weights_identical}; sparse runtime from the file vs from the "
          f"checkpoint bit-identical {check.runtime_identical} on {check.rows} held-out rows; vs the dense model "
          f"max |diff| {check.max_abs_vs_dense:.3g} (outputs up to {check.max_abs_output:.3g})")
    return 0 if check.weights_identical and check.runtime_identical else 1


if __name__ == "__main__":
    sys.exit(main())
