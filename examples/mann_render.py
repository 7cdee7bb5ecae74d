"""Render MANN rollouts of one scripted scenario, one or more models side by side, as an animated GIF or PNG strip.

Run:  python examples/mann_render.py A [B ...] --scenario walk --frames 300 -o out.gif [--strip out.png]

Each of A, B, ... is either
* a ``.dsz`` written by ``examples/mann_export.py`` (self-contained: weights, normalisation statistics,
  feature layout, bones and start row are in the file), or
* a ``checkpoint.pt`` of ``examples/mann_study.py``: it holds only the weights, so it also needs
  ``--data`` (the folder of ``examples/mann_data.py``: normalization.npz, dataset.npz, split.json) and,
  for bones, ``--skeleton`` (any .bvh clip of the capture).
All models start from the same row (the first model's) and follow the same script. Needs matplotlib and
pillow: pip install 'dualsparse[plots]'.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from compress.errors import CompressError
from compress.mann import SCENARIOS, rollout
from compress.mann.render import render_gif, render_strip
from compress.mann.ship import ShippedMann, from_checkpoint, load_mann

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SKELETON = REPO.parent / "shared" / "data" / "dog-mocap-mann" / "MotionCapture" / "D1_001_KAN01_001.bvh"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="\n".join(__doc__.splitlines()[4:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="a .dsz of mann_export.py or a checkpoint.pt of mann_study.py")
    parser.add_argument("-o", "--output", help="the animated .gif to write")
    parser.add_argument("--strip", help="also (or only) write a .png strip of poses sampled over time")
    parser.add_argument("--scenario", default="walk", choices=sorted(SCENARIOS), help="scripted control signal")
    parser.add_argument("--frames", type=int, default=300, help="frames to generate (60 per second)")
    parser.add_argument("--every", type=int, default=2, help="GIF: draw every N-th frame")
    parser.add_argument("--samples", type=int, default=8, help="strip: poses per model")
    parser.add_argument("--labels", nargs="+", help="a name per model (default: the file's folder or name)")
    parser.add_argument("--data", default="/tmp/dualsparse-mann-data", help="checkpoints only: mann_data.py folder")
    parser.add_argument("--skeleton", default=str(DEFAULT_SKELETON), help="checkpoints only: a .bvh clip (bones)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        return run(args)
    except CompressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def load(path: str, args: argparse.Namespace) -> ShippedMann:
    """A .dsz (by its magic bytes) or a checkpoint; anything else is a one-line error."""
    file = Path(path)
    if not file.is_file():
        raise CompressError(f"{path} does not exist")
    with open(file, "rb") as handle:
        head = handle.read(4)
    if file.suffix == ".dsz" or head[1:4] == b"DSZ":
        return load_mann(file)
    if head[:2] != b"PK":  # torch.save writes a zip archive
        raise CompressError(f"{path}: neither a .dsz of mann_export.py nor a checkpoint.pt of mann_study.py")
    skeleton = args.skeleton if Path(args.skeleton).is_file() else None
    return from_checkpoint(file, args.data, skeleton)


def run(args: argparse.Namespace) -> int:
    if not args.output and not args.strip:
        raise CompressError("nothing to write: give -o OUT.gif and/or --strip OUT.png")
    if args.frames < 1 or args.every < 1:
        raise CompressError("--frames and --every must be at least 1")
    labels = args.labels or [Path(m).parent.name if Path(m).name == "checkpoint.pt" else Path(m).stem
                             for m in args.models]
    if len(labels) != len(args.models):
        raise CompressError(f"{len(args.models)} models but {len(labels)} labels")
    models = [load(m, args) for m in args.models]
    first = models[0]
    start = next((m.start for m in models if m.start is not None), None)
    if start is None:
        raise CompressError("no start row: none of the models carries one")
    parents = next((m.parents for m in models if m.parents is not None), None)
    begin = time.perf_counter()
    motions = [rollout(m.model, m.normalization, m.layout, start, SCENARIOS[args.scenario], frames=args.frames)
               for m in models]
    seconds = time.perf_counter() - begin
    print(f"rollouts: {len(motions)} x {args.frames} frames of {args.scenario!r} in {seconds:.1f} s")
    if args.output:
        begin = time.perf_counter()
        count = render_gif(args.output, motions, parents, labels=labels, every=args.every, paws=first.paws)
        print(f"wrote {args.output}: {count} frames, {Path(args.output).stat().st_size} bytes "
              f"in {time.perf_counter() - begin:.1f} s")
    if args.strip:
        begin = time.perf_counter()
        width, height = render_strip(args.strip, motions, parents, labels=labels, samples=args.samples,
                                     paws=first.paws)
        print(f"wrote {args.strip}: {width} x {height} px in {time.perf_counter() - begin:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
