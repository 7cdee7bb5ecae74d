"""Run a recipe with some keys changed and append one row of figures to a study CSV.

The study log of the fine-tuning work (``examples/study/LOG.md``) quotes these rows. Each run is a
plain recipe run (checkpoints next to the output; ``--resume`` continues an interrupted one), so a
long study is a list of commands, each resumable, each leaving one CSV row.

    python examples/recipe_study.py resnet20-cifar10 --tag fold-aug \
        --set finetune.batchnorm=fold --set finetune.augment=crop-flip --set finetune.steps=500 \
        [--csv examples/study/runs.csv] [--threads 2] [--workdir /tmp/study] [--resume] [--keep]

    # the same fine-tuning, quantized otherwise: starts from a copy of run fold-aug's checkpoints (kept with
    # --keep) and redoes only the stages the changed sections feed (quantize and codebook here)
    python examples/recipe_study.py resnet20-cifar10 --tag fold-aug-4bit --from fold-aug \
        --set finetune.batchnorm=fold --set finetune.augment=crop-flip --set finetune.steps=500 --set quantize.bits=4

Values given with ``--set`` are read as TOML values (``0.9``, ``"fold"`` or a bare word for a
string, ``true``). The row holds accuracy dense / fine-tuned float / pruned spatial / pruned
Winograd, sparsity per domain, MAC ratios, bytes of the file as written (stored report included),
ratio to float32, wall time and the changed keys.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
import tomllib
from pathlib import Path

import torch

from compress.pipeline.recipe_file import load_recipe, parse_recipe
from compress.pipeline.runner import RunOptions, run_recipe

FIELDS = ("tag", "recipe", "changes", "steps", "threads", "wall_s", "dense", "finetuned", "pruned_spatial",
          "pruned_winograd", "sparsity_spatial", "sparsity_winograd", "s_wd", "macs_spatial_x", "macs_winograd_x",
          "bytes", "ratio")


def _value(text: str) -> object:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def changed_recipe(name: str, changes: list[str]):
    """The recipe ``name`` with ``section.key=value`` changes applied."""
    data = load_recipe(name).to_map()
    for change in changes:
        key, _, text = change.partition("=")
        section, _, field = key.rpartition(".")
        target = data[section] if section else data
        target[field] = _value(text)
    return parse_recipe(data, where=f"{name} with {', '.join(changes) or 'no change'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--tag", required=True)
    parser.add_argument("--set", dest="changes", action="append", default=[], metavar="SECTION.KEY=VALUE")
    parser.add_argument("--csv", type=Path, default=Path(__file__).parent / "study" / "runs.csv")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dualsparse-study"))
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoints (for later --from runs)")
    parser.add_argument("--from", dest="source", metavar="TAG",
                        help="start from a copy of run TAG's kept checkpoints (wall time: the stages redone)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = changed_recipe(args.recipe, args.changes)
    args.workdir.mkdir(parents=True, exist_ok=True)
    output = args.workdir / f"{args.tag}.dsz"
    if output.exists() and not args.resume:
        output.unlink()
    resume = args.resume
    if args.source:
        source = args.workdir / f"{args.source}.dsz.ckpt"
        if not source.is_dir():
            parser.error(f"no kept checkpoints of run {args.source} in {source} (run it with --keep)")
        shutil.rmtree(args.workdir / f"{args.tag}.dsz.ckpt", ignore_errors=True)
        shutil.copytree(source, args.workdir / f"{args.tag}.dsz.ckpt")
        resume = True
    start = time.perf_counter()
    options = RunOptions(resume=resume, restart=not resume, keep_checkpoints=args.keep)
    result = run_recipe(recipe, output, options=options)
    wall = time.perf_counter() - start
    report = result.report
    q, s, m, z = report["quality"], report["sparsity"], report["macs"], report["sizes"]
    row = {
        "tag": args.tag, "recipe": args.recipe,
        "changes": " ".join(([f"from={args.source}"] if args.source else []) + args.changes),
        "steps": recipe.finetune.steps,
        "threads": args.threads, "wall_s": round(wall), "dense": round(q["dense"], 4),
        "finetuned": round(q["finetuned"], 4), "pruned_spatial": round(q["pruned_spatial"], 4),
        "pruned_winograd": round(q["pruned_winograd"], 4), "sparsity_spatial": round(s["spatial"], 4),
        "sparsity_winograd": None if s["winograd"] is None else round(s["winograd"], 4), "s_wd": s["s_wd_deployed"],
        "macs_spatial_x": round(m["spatial_dense"] / max(m["spatial_sparse"], 1), 2),
        "macs_winograd_x": round(m["spatial_dense"] / max(m["winograd_sparse"], 1), 2),
        "bytes": output.stat().st_size, "ratio": round(z["float32"] / output.stat().st_size, 2),
    }
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    new = not args.csv.exists()
    with args.csv.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)
    print(", ".join(f"{k} {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
