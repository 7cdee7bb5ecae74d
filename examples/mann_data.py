"""Build the MANN training data from the raw dog capture: features, style labels, split by clip, normalisation.

Run:  python examples/mann_data.py [OUT_DIR] [--data DIR] [--validation 0.1] [--seed 0] [--no-mirror]

Reads every ``*.bvh`` in ``--data`` (default ``../shared/data/dog-mocap-mann/MotionCapture`` beside the
repository), checks they share one skeleton, and builds the features of :mod:`compress.mocap` for every
clip and its mirror image. The clips are split into training and validation by clip (``--validation``
of the frames held out as whole clips, shuffled with ``--seed``), and the normalisation is fitted on the
training rows only.

Writes to ``OUT_DIR`` (default ``/tmp/dualsparse-mann-data``; refused inside the repository, since the
capture is for research only and nothing derived from it belongs in git):

* ``dataset.npz``: ``inputs`` (rows, 480), ``outputs`` (rows, 363), ``gating`` (rows, 19), ``clip_ids``,
  ``frames``, ``labels``, ``mirrored``, ``clip_names``, ``input_names``, ``output_names``, ``gating_indices``
  (load with :meth:`compress.mocap.MannDataset.load`);
* ``normalization.npz``: mean and std per feature (:meth:`compress.mocap.Normalization.load`);
* ``split.json`` and ``summary.json``: the clip split, and per-clip frames, rows and label fractions.

Prints the per-clip table, the dataset's shapes and the time taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from compress.mocap import (
    STYLES,
    MocapError,
    build_dataset,
    fit_normalization,
    format_summaries,
    read_clips,
    split_clips,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "dog-mocap-mann" / "MotionCapture"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="/tmp/dualsparse-mann-data", help="output directory")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the .bvh clips")
    parser.add_argument("--validation", type=float, default=0.1, help="fraction of frames held out (whole clips)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the clip split")
    parser.add_argument("--no-mirror", action="store_true", help="leave out the mirrored copies")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except MocapError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if out == REPO or REPO in out.parents:
        raise MocapError(f"output directory {out} is inside the repository; choose one outside it (e.g. /tmp)")
    paths = sorted(Path(args.data).glob("*.bvh"))
    if not paths:
        raise MocapError(f"{args.data}: no .bvh files found")
    start = time.perf_counter()
    clips = read_clips(paths)
    read_s = time.perf_counter() - start
    dataset, summaries = build_dataset(clips, mirror=not args.no_mirror)
    build_s = time.perf_counter() - start - read_s
    frames = {s.name: s.frames for s in summaries}
    split = split_clips(dataset.clip_names, args.validation, args.seed, frames=frames)
    train = dataset.rows_of(split.train)
    norm = fit_normalization(dataset.inputs[train], dataset.outputs[train])
    norm_s = time.perf_counter() - start - read_s - build_s

    out.mkdir(parents=True, exist_ok=True)
    dataset.save(out / "dataset.npz")
    norm.save(out / "normalization.npz")
    (out / "split.json").write_text(json.dumps({
        "seed": split.seed, "validation_fraction": split.validation_fraction,
        "train": list(split.train), "validation": list(split.validation)}, indent=1) + "\n")
    (out / "summary.json").write_text(json.dumps([
        {"clip": s.name, "frames": s.frames, "rows_per_copy": s.rows, "fractions": s.fractions,
         "split": "validation" if s.name in split.validation else "train"} for s in summaries], indent=1) + "\n")
    write_s = time.perf_counter() - start - read_s - build_s - norm_s

    print(format_summaries(summaries, split.validation))
    print()
    row_fractions = np.bincount(dataset.labels, minlength=len(STYLES)) / max(len(dataset), 1)
    print("labels over all rows: " + ", ".join(f"{s} {100 * f:.1f}%" for s, f in zip(STYLES, row_fractions,
                                                                                   strict=True)))
    print(f"clips: {len(clips)} ({sum(c.num_frames for c in clips)} frames at {1 / clips[0].frame_time:.0f} fps, "
          f"{len(clips[0].skeleton.joints) - len(clips[0].skeleton.end_sites)} joints + "
          f"{len(clips[0].skeleton.end_sites)} end sites)")
    print(f"rows: {len(dataset)} ({'with' if not args.no_mirror else 'without'} mirrored copies); "
          f"train {int(train.sum())} from {len(split.train)} clips, validation {int((~train).sum())} from "
          f"{len(split.validation)} clips (seed {split.seed}, {100 * split.validation_fraction:.0f} % of frames asked, "
          f"{100 * (~train).sum() / len(dataset):.1f} % held out)")
    print(f"validation clips: {', '.join(split.validation)}")
    print(f"inputs {dataset.inputs.shape} outputs {dataset.outputs.shape} gating {dataset.gating.shape} "
          f"float32; gating = input columns {list(dataset.gating_indices)}")
    floored = int((norm.input_std <= norm.floor).sum()), int((norm.output_std <= norm.floor).sum())
    print(f"normalisation: fitted on {norm.rows} training rows; std floored at {norm.floor} for "
          f"{floored[0]} input and {floored[1]} output features")
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"wrote {out}/dataset.npz, normalization.npz, split.json, summary.json ({size / 2**20:.0f} MiB)")
    print(f"time: read {read_s:.1f} s, features {build_s:.1f} s, normalisation {norm_s:.1f} s, "
          f"write {write_s:.1f} s, total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
