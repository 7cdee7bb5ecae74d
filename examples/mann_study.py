"""The MANN pruning study on the dog capture (issue 14): train the dense model, one-cycle prune, evaluate.

Run:  python examples/mann_study.py STEP [--data DIR] [--out DIR] [--epochs N] [--fraction F] [--seeds 0 1]
                                          [--sparsities 0.1 0.5 0.9] [--scope experts|all] [--threads 1]

Steps (each resumable: a model whose checkpoint is at its epoch budget is skipped, a stopped one goes on
from its last epoch, an evaluated model keeps its ``evaluation.json``):

* ``bench``: time training steps (batch 32, one thread by default) of the 512-wide model, dense and pruned,
  and of the 256/128/64-wide dense models; print ms per step, seconds per epoch and the projected time of
  the whole study at the given and at the paper's budget;
* ``train``: the dense model(s), one per seed;
* ``prune``: one model per target sparsity and seed, pruned during training (one-cycle, global L1);
* ``evaluate``: per model: validation MSE, and foot skating of the rollouts of the scripted scenarios
  (walk, turn, speed, sit); plus foot skating of the held-out capture clips as the reference;
  writes ``results.json`` and ``results.csv``;
* ``all``: train, prune and evaluate.

Needs the dataset of ``examples/mann_data.py`` (default ``/tmp/dualsparse-mann-data``). Writes under
``--out`` (default ``/tmp/dualsparse-mann-study``; refused inside the repository, since models derived
from the capture are research-only): ``models/<name>/checkpoint.pt`` and ``evaluation.json``.
A tiny end-to-end run: ``python examples/mann_study.py all --epochs 1 --fraction 0.02 --sparsities 0.9``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from compress.errors import CompressError
from compress.mann import (
    CHECKPOINT_NAME,
    SCENARIOS,
    TrainConfig,
    TrainingData,
    blended_forward,
    capture_skating,
    evaluate_mse,
    foot_skating,
    load_checkpoint,
    load_model,
    make_sparsifier,
    rollout,
    train_mann,
)
from compress.mocap import STYLES, FeatureLayout, MannDataset, Normalization, Rig, read_clips
from compress.zoo.mann import MANN, MANNConfig

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = REPO.parent / "shared" / "data" / "dog-mocap-mann" / "MotionCapture"
STEPS = ("bench", "train", "prune", "evaluate", "all")
PAPER_EPOCHS = 150


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--data", default="/tmp/dualsparse-mann-data", help="output folder of mann_data.py")
    parser.add_argument("--clips", default=str(DEFAULT_CLIPS), help="folder of the .bvh clips (capture reference)")
    parser.add_argument("--out", default="/tmp/dualsparse-mann-study", help="study folder")
    parser.add_argument("--epochs", type=int, default=10, help="epoch budget per model")
    parser.add_argument("--fraction", type=float, default=0.1, help="fraction of the training rows used")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (one model each)")
    parser.add_argument("--sparsities", type=float, nargs="+", default=[round(0.1 * i, 1) for i in range(1, 10)],
                        help="target sparsities of the prune step, fractions")
    parser.add_argument("--scope", default="experts", choices=("experts", "all"), help="pruning scope")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--frames", type=int, default=None, help="rollout frames per scenario (default: all)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        return run(args)
    except CompressError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def run(args: argparse.Namespace) -> int:
    out = Path(args.out).resolve()
    if out == REPO or REPO in out.parents:
        raise CompressError(f"study folder {out} is inside the repository; choose one outside it (e.g. /tmp)")
    data_dir = Path(args.data)
    if not (data_dir / "dataset.npz").is_file():
        raise CompressError(f"{data_dir}/dataset.npz not found; run examples/mann_data.py first")
    start = time.perf_counter()
    dataset = MannDataset.load(data_dir / "dataset.npz")
    norm = Normalization.load(data_dir / "normalization.npz")
    split = json.loads((data_dir / "split.json").read_text())
    data = TrainingData.from_dataset(dataset, split["train"], split["validation"], norm, args.fraction, seed=0)
    available = int(dataset.rows_of(split["train"]).sum())
    print(f"data: {len(data.train_x)} training rows ({100 * args.fraction:g} % of {available}), "
          f"{len(data.val_x)} validation rows, loaded in {time.perf_counter() - start:.1f} s")
    if args.step == "bench":
        bench(args, data)
        return 0
    runs = planned_runs(args)
    if args.step in ("train", "all"):
        train_runs(args, data, out, [r for r in runs if r.sparsity == 0])
    if args.step in ("prune", "all"):
        train_runs(args, data, out, [r for r in runs if r.sparsity > 0])
    if args.step in ("evaluate", "all"):
        evaluate(args, dataset, norm, split, out, runs)
    return 0


def planned_runs(args: argparse.Namespace) -> list[TrainConfig]:
    """The dense model and one pruned model per target sparsity, for every seed."""
    targets = [0.0] + sorted(set(args.sparsities))
    return [TrainConfig(epochs=args.epochs, sparsity=s, scope=args.scope, seed=seed, fraction=args.fraction)
            for seed in args.seeds for s in targets]


def run_name(config: TrainConfig) -> str:
    return f"h{config.hidden}-s{round(100 * config.sparsity):02d}-seed{config.seed}"


def train_runs(args: argparse.Namespace, data: TrainingData, out: Path, runs: list[TrainConfig]) -> None:
    for config in runs:
        folder = out / "models" / run_name(config)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{run_name(config)}: training {config.epochs} epochs (sparsity {config.sparsity:g} of {config.scope})")
        result = train_mann(data, config, folder, on_epoch=lambda r: print(
            f"  epoch {r.epoch}: train {r.train_mse:.4f} val {r.val_mse:.4f} sparsity {r.sparsity:.3f} "
            f"lr {r.lr:.2e} ({r.seconds:.1f} s)"))
        final = result.final_sparsity
        if result.resumed_from == config.epochs:
            print("  already done")
        print(f"  zeros in scope: {final.zeros} of {final.total} = {100 * final.sparsity:.4f} % "
              f"({'exactly' if final.exact else 'NOT'} round({config.sparsity:g} * N) = {final.expected})")


def evaluate(args: argparse.Namespace, dataset: MannDataset, norm: Normalization, split: dict, out: Path,
             runs: list[TrainConfig]) -> None:
    layout = FeatureLayout(tuple(name.split(".")[0] for name in dataset.input_names[-27 * 12 :: 12]))
    paws = Rig().paws
    full = TrainingData.from_dataset(dataset, split["train"][:1], split["validation"], norm)
    held = dataset.rows_of(split["validation"]) & ~dataset.mirrored & (dataset.labels == STYLES.index("idle"))
    start_row = dataset.inputs[np.flatnonzero(held)[0]]
    results = []
    for config in runs:
        folder = out / "models" / run_name(config)
        checkpoint = folder / CHECKPOINT_NAME
        if not checkpoint.is_file() or load_checkpoint(checkpoint)["epoch"] < config.epochs:
            print(f"{run_name(config)}: not trained to {config.epochs} epochs yet, skipped")
            continue
        cached = folder / "evaluation.json"
        if cached.is_file() and json.loads(cached.read_text()).get("epochs") == config.epochs:
            results.append(json.loads(cached.read_text()))
            continue
        begin = time.perf_counter()
        model = load_model(checkpoint)
        record = {"name": run_name(config), "sparsity": config.sparsity, "scope": config.scope, "seed": config.seed,
                  "hidden": config.hidden, "epochs": config.epochs, "fraction": config.fraction,
                  "val_mse": evaluate_mse(model, full.val_x, full.val_y), "skating": {}}
        for name, scenario in SCENARIOS.items():
            motion = rollout(model, norm, layout, start_row, scenario, frames=args.frames)
            skate = foot_skating(motion.paws(paws))
            record["skating"][name] = {"mean": skate.mean, "contact": skate.contact, "frames": skate.frames,
                                       "distance_cm": float(np.linalg.norm(np.diff(motion.root, axis=0), axis=1).sum())}
        record["seconds"] = time.perf_counter() - begin
        cached.write_text(json.dumps(record, indent=1) + "\n")
        results.append(record)
        print(f"{record['name']}: val MSE {record['val_mse']:.4f}, skating " + ", ".join(
            f"{k} {v['mean']:.4f}" for k, v in record["skating"].items()) + f" cm/frame ({record['seconds']:.0f} s)")
    reference_file = out / "capture_skating.json"
    if reference_file.is_file():
        reference = json.loads(reference_file.read_text())
    else:
        clips = read_clips([Path(args.clips) / f"{name}.bvh" for name in split["validation"]])
        per_clip = {Path(c.source).stem: capture_skating(c) for c in clips}
        frames = sum(s.frames for s in per_clip.values())
        reference = {"clips": {k: {"mean": v.mean, "contact": v.contact, "frames": v.frames}
                               for k, v in per_clip.items()},
                     "mean": sum(s.mean * s.frames for s in per_clip.values()) / frames}
        reference_file.write_text(json.dumps(reference, indent=1) + "\n")
    print(f"held-out capture ({len(reference['clips'])} clips): foot skating {reference['mean']:.4f} cm/frame")
    (out / "results.json").write_text(json.dumps({"capture": reference, "models": results}, indent=1) + "\n")
    with open(out / "results.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "sparsity", "seed", "hidden", "epochs", "fraction", "val_mse"]
                        + [f"skating_{k}" for k in SCENARIOS])
        for r in results:
            writer.writerow([r["name"], r["sparsity"], r["seed"], r["hidden"], r["epochs"], r["fraction"],
                             f"{r['val_mse']:.6f}"] + [f"{r['skating'][k]['mean']:.6f}" for k in SCENARIOS])
    print(f"wrote {out}/results.json, results.csv")


def step_time(data: TrainingData, hidden: int, sparsity: float, steps: int = 20, batch: int = 32) -> float:
    """Seconds per training step (forward, backward, AdamW, and re-applying the masks when pruning)."""
    torch.manual_seed(0)
    model = MANN(MANNConfig(hidden=hidden, gating_indices=tuple(data.gating_indices))).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    sparsifier = make_sparsifier(model, sparsity, total_steps=10**6, every=10**6) if sparsity else None
    times = []
    for i in range(steps + 3):
        rows = torch.randint(len(data.train_x), (batch,))
        begin = time.perf_counter()
        loss = F.mse_loss(blended_forward(model, data.train_x[rows])[0], data.train_y[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if sparsifier is not None:
            sparsifier.step()
        if i >= 3:
            times.append(time.perf_counter() - begin)
    return float(np.median(times))


def bench(args: argparse.Namespace, data: TrainingData) -> None:
    rows = len(data.train_x) / args.fraction
    print(f"threads {torch.get_num_threads()}; step = forward + backward + AdamW (+ masks), median of 20")
    model = MANN(MANNConfig(gating_indices=tuple(data.gating_indices)))
    begin = time.perf_counter()
    make_sparsifier(model, 0.5, total_steps=1).step()
    update = time.perf_counter() - begin
    print(f"one mask update of the 512-wide model (global L1 over the expert weights): {update:.2f} s")
    times = {}
    for hidden, sparsity in ((512, 0.0), (512, 0.9), (256, 0.0), (128, 0.0), (64, 0.0)):
        times[(hidden, sparsity)] = step_time(data, hidden, sparsity)
        per_epoch = times[(hidden, sparsity)] * (rows // 32)
        print(f"hidden {hidden:3d} sparsity {sparsity:.1f}: {1e3 * times[(hidden, sparsity)]:6.1f} ms per batch of 32, "
              f"{per_epoch:6.0f} s per epoch of all {int(rows)} training rows")
    # The study: dense 512 and 9 pruned models, 2 seeds for dense and 90 %, dense 256/128/64 (issue 14, item 5).
    study = [times[(512, 0.0)]] * 2 + [times[(512, 0.9)]] * 10 + [times[(h, 0.0)] for h in (256, 128, 64)]
    for epochs, fraction in ((args.epochs, args.fraction), (PAPER_EPOCHS, 1.0)):
        steps = (rows * fraction) // 32 * epochs
        total = sum(study) * steps + 10 * 100 * update
        print(f"study of 15 models at {epochs} epochs x {100 * fraction:g} % of the rows: "
              f"{total / 3600:.2f} h of training (100 mask updates per pruned model; evaluation not included)")


if __name__ == "__main__":
    sys.exit(main())
