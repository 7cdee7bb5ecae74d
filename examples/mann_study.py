"""The MANN pruning study on the dog capture (issue 14): train, one-cycle prune, evaluate, report.

Run:  python examples/mann_study.py all          # the whole study at its stated budget, ~2 h on 2 cores
      python examples/mann_study.py STEP [--data DIR] [--out DIR] [--results DIR] [--epochs N] [--fraction F]
             [--seeds 0 1] [--sparsities 0.1 ... 0.9] [--widths 256 128 64] [--scope all|experts]
             [--workers 2] [--threads 1] [--frames N]

The budget (defaults): 10 epochs over a seeded 30 % of the training rows (one warm-restart cycle of 10
epochs, so the cosine ends where a cycle ends), i.e. 15,820 steps of 32 rows per model, 3 passes' worth
of the data; the paper trains 150 epochs over all rows (~50x more steps). Models, for the first seed: the
dense 512-wide model, the 512-wide model one-cycle pruned to 10, 20, ..., 90 % of all its parameters
(scope ``all``: the paper's "percent of the total amount of parameters"), the dense 256/128/64-wide models
and, for each, the 512-wide model pruned to the same parameter count (Fig. 3); for every further seed the
dense and the 90 % model. ``--workers`` models train (and evaluate) at once, one process each.

Steps (each resumable: a model whose checkpoint is at its epoch budget is skipped, a stopped one goes on
from its last epoch, an evaluated model keeps its ``evaluation.json``):

* ``bench``: time training steps (batch 32, one thread) of the 512-wide model, dense and pruned, and of
  the 256/128/64-wide dense models; print ms per step and the projected time of the study;
* ``train`` / ``prune``: the dense / the pruned models only; ``all`` trains every model;
* ``evaluate``: per model: validation MSE, pose error (cm, one step on held-out rows), foot skating and
  style checks of the rollouts of the scripted scenarios (walk, turn, speed, run, jump, sit); for the
  headline models (dense and 90 %, first seed) also the gating coefficients over time and the expert
  ablation (each expert switched off in turn); the held-out capture's foot skating as the reference;
  writes ``results.json`` under ``--out``;
* ``report``: the committed result files under ``--results`` (default ``examples/results/mann``):
  ``models.csv``, ``table1.csv``, ``ablation.csv``, ``styles.csv``, ``omegas.csv``, ``latency.json``
  (per-frame latency, dense vs 90 %, through the sparse runtime), ``export.json`` (the 90 % model shipped
  as a ``.dsz`` and reloaded), ``capture.json`` and the figures (Fig. 1, 3, 4 as PNG);
* ``all``: all of the above.

Needs the dataset of ``examples/mann_data.py`` (default ``/tmp/dualsparse-mann-data``). Models go under
``--out`` (default ``/tmp/dualsparse-mann-study``; refused inside the repository, since models derived
from the capture are research-only): ``models/<name>/checkpoint.pt`` and ``evaluation.json``.
A tiny end-to-end run: ``python examples/mann_study.py all --epochs 1 --fraction 0.01 --sparsities 0.9
--seeds 0 --widths 64 --frames 120 --results /tmp/mann-results``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import multiprocessing
import signal
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
from compress.mann.ablation import StyleReference, pose_error, style_checks, without_expert
from compress.mann.cost import table1_row, total_parameters
from compress.mann.ship import check_export, export_mann, from_checkpoint, load_mann, start_row
from compress.mann.study_plots import plot_omegas, plot_same_size, plot_skating_vs_sparsity
from compress.mocap import FeatureLayout, MannDataset, Normalization, Rig, read_clips
from compress.sparse import SparseMANN
from compress.zoo.mann import MANN, MANNConfig

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIPS = REPO.parent / "shared" / "data" / "dog-mocap-mann" / "MotionCapture"
STEPS = ("bench", "train", "prune", "evaluate", "report", "all")
PAPER_EPOCHS = 150
STUDY_EPOCHS = 10  # one warm-restart cycle (period 10): the cosine ends where a cycle ends
STUDY_FRACTION = 0.3  # 10 epochs x 30 % of the rows = 3 passes' worth of steps; see the results page
FULL_WIDTH = 512


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--data", default="/tmp/dualsparse-mann-data", help="output folder of mann_data.py")
    parser.add_argument("--clips", default=str(DEFAULT_CLIPS), help="folder of the .bvh clips (capture reference)")
    parser.add_argument("--out", default="/tmp/dualsparse-mann-study", help="study folder")
    parser.add_argument("--epochs", type=int, default=STUDY_EPOCHS, help="epoch budget per model")
    parser.add_argument("--fraction", type=float, default=STUDY_FRACTION, help="fraction of the training rows used")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1],
                        help="seeds: the first trains every model, the others the headline ones (dense, top sparsity)")
    parser.add_argument("--sparsities", type=float, nargs="+", default=[round(0.1 * i, 1) for i in range(1, 10)],
                        help="target sparsities of the prune step, fractions")
    parser.add_argument("--widths", type=int, nargs="*", default=[256, 128, 64],
                        help="hidden widths of the smaller dense models (Fig. 3), each with a 512-wide model "
                             "pruned to its parameter count")
    parser.add_argument("--scope", default="all", choices=("experts", "all"),
                        help="pruning scope (all: the paper's 'percent of the total amount of parameters')")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--workers", type=int, default=2, help="models trained at once (one process each)")
    parser.add_argument("--frames", type=int, default=None, help="rollout frames per scenario (default: all)")
    parser.add_argument("--results", default=str(REPO / "examples" / "results" / "mann"),
                        help="folder for the result files and figures (small CSV/JSON/PNG)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    # A killed study stops its workers too (the pool is closed on the way out); the models go on on the next run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
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
    start = time.perf_counter()
    data, dataset, norm, split = load_training_data(data_dir, args.fraction)
    available = int(dataset.rows_of(split["train"]).sum())
    print(f"data: {len(data.train_x)} training rows ({100 * args.fraction:g} % of {available}), "
          f"{len(data.val_x)} validation rows, loaded in {time.perf_counter() - start:.1f} s")
    if args.step == "bench":
        bench(args, data)
        return 0
    runs = planned_runs(args)
    if args.step == "train":
        train_runs(args, data, out, [r for r in runs if r.sparsity == 0])
    elif args.step == "prune":
        train_runs(args, data, out, [r for r in runs if r.sparsity > 0])
    elif args.step == "all":
        train_runs(args, data, out, runs)
    if args.step in ("evaluate", "all"):
        evaluate(args, out, runs)
    if args.step in ("report", "all"):
        results_file = out / "results.json"
        if not results_file.is_file():
            raise CompressError(f"{results_file} not found; run the evaluate step first")
        report(args, out, json.loads(results_file.read_text())["models"])
    return 0


def parameter_count(hidden: int) -> int:
    """Parameters of the dog-setup MANN of width ``hidden`` (8 experts, gating 32), gating and biases included."""
    return total_parameters(MANNConfig(hidden=hidden))


def planned_runs(args: argparse.Namespace) -> list[TrainConfig]:
    """The study's models: for the first seed the dense 512-wide model, one pruned model per target sparsity,
    the smaller dense models of ``--widths`` and, for each, the 512-wide model pruned to its parameter count
    (scope ``all``); for every further seed the headline models only (dense and the highest sparsity)."""
    first, *others = args.seeds
    common = {"epochs": args.epochs, "scope": args.scope, "fraction": args.fraction}
    targets = [0.0] + sorted(set(args.sparsities))
    runs = [TrainConfig(sparsity=s, seed=first, **common) for s in targets]
    full = parameter_count(FULL_WIDTH)
    for width in args.widths:
        runs.append(TrainConfig(hidden=width, seed=first, **common))
        if args.scope == "all":
            runs.append(TrainConfig(sparsity=1.0 - parameter_count(width) / full, seed=first, **common))
    for seed in others:
        runs += [TrainConfig(sparsity=s, seed=seed, **common) for s in sorted({0.0, targets[-1]})]
    return runs


def run_name(config: TrainConfig) -> str:
    """``h512-s90-seed0`` for a whole-percent sparsity, ``h512-m128-seed0`` for one matched to a width."""
    percent = 100 * config.sparsity
    if abs(percent - round(percent)) < 1e-9:
        return f"h{config.hidden}-s{round(percent):02d}-seed{config.seed}"
    full = parameter_count(FULL_WIDTH)
    width = min((w for w in (256, 128, 64, 32, 16)),
                key=lambda w: abs(1.0 - parameter_count(w) / full - config.sparsity))
    return f"h{config.hidden}-m{width}-seed{config.seed}"


def train_runs(args: argparse.Namespace, data: TrainingData | None, out: Path, runs: list[TrainConfig]) -> None:
    """Train ``runs`` (longest first), ``args.workers`` at a time, each in its own process when more than one."""
    runs = sorted(runs, key=lambda c: (-c.hidden, -c.sparsity))
    if args.workers <= 1 or len(runs) <= 1:
        for config in runs:
            train_one(config, out, data)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(args.workers, initializer=_worker_init, initargs=(args.data, args.fraction, args.threads),
                      maxtasksperchild=None) as pool:
        for _ in pool.imap_unordered(_worker_train, [(config, str(out)) for config in runs]):
            pass


_WORKER_DATA: TrainingData | None = None


def _worker_init(data_dir: str, fraction: float, threads: int) -> None:
    global _WORKER_DATA
    torch.set_num_threads(threads)
    _WORKER_DATA = load_training_data(Path(data_dir), fraction)[0]


def _worker_train(job: tuple[TrainConfig, str]) -> None:
    config, out = job
    assert _WORKER_DATA is not None
    train_one(config, Path(out), _WORKER_DATA)


def train_one(config: TrainConfig, out: Path, data: TrainingData) -> None:
    """Train (or resume) one model; progress lines carry the model's name."""
    name = run_name(config)
    folder = out / "models" / name
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{name}: training {config.epochs} epochs (sparsity {config.sparsity:.4f} of {config.scope})", flush=True)
    result = train_mann(data, config, folder, on_epoch=lambda r: print(
        f"{name}  epoch {r.epoch}: train {r.train_mse:.4f} val {r.val_mse:.4f} sparsity {r.sparsity:.3f} "
        f"lr {r.lr:.2e} ({r.seconds:.1f} s)", flush=True))
    final = result.final_sparsity
    done = " (already done)" if result.resumed_from == config.epochs else ""
    print(f"{name}: zeros in scope: {final.zeros} of {final.total} = {100 * final.sparsity:.4f} % "
          f"({'exactly' if final.exact else 'NOT'} round({config.sparsity:g} * N) = {final.expected}){done}",
          flush=True)


def load_training_data(data_dir: Path, fraction: float) -> tuple[TrainingData, MannDataset, Normalization, dict]:
    """The normalised training rows (``fraction`` of them) and validation rows, with what they came from."""
    if not (data_dir / "dataset.npz").is_file():
        raise CompressError(f"{data_dir}/dataset.npz not found; run examples/mann_data.py first")
    dataset = MannDataset.load(data_dir / "dataset.npz")
    norm = Normalization.load(data_dir / "normalization.npz")
    split = json.loads((data_dir / "split.json").read_text())
    data = TrainingData.from_dataset(dataset, split["train"], split["validation"], norm, fraction, seed=0)
    return data, dataset, norm, split


EVALUATION_VERSION = 2
HEADLINE_SCENARIOS = ("walk", "run", "sit", "jump", "turn")  # Fig. 4's motions
ABLATION_SCENARIOS = ("walk", "turn", "jump", "sit")  # skating, and every style but run (move at speed)
SWEEP_SCENARIOS = ("walk", "turn")  # Fig. 1 and 3: the other models roll these out only


class EvaluationContext:
    """What every evaluation needs, loaded once per process: validation rows, layout, start row, style heights."""

    def __init__(self, data_dir: Path) -> None:
        dataset = MannDataset.load(data_dir / "dataset.npz")
        self.norm = Normalization.load(data_dir / "normalization.npz")
        self.split = json.loads((data_dir / "split.json").read_text())
        self.layout = FeatureLayout(tuple(name.split(".")[0] for name in dataset.input_names[-27 * 12 :: 12]))
        self.paws = Rig().paws
        full = TrainingData.from_dataset(dataset, self.split["train"][:1], self.split["validation"], self.norm)
        self.val_x, self.val_y = full.val_x, full.val_y
        self.start = start_row(dataset, self.split["validation"])
        self.reference = StyleReference.from_dataset(dataset, self.layout, self.split["train"])


def evaluate(args: argparse.Namespace, out: Path, runs: list[TrainConfig]) -> list[dict]:
    """Evaluate every trained model (``args.workers`` at a time), then the capture reference; write results."""
    first_seed, top = args.seeds[0], max([0.0, *args.sparsities])
    jobs = []
    for config in runs:
        checkpoint = out / "models" / run_name(config) / CHECKPOINT_NAME
        if not checkpoint.is_file() or load_checkpoint(checkpoint)["epoch"] < config.epochs:
            print(f"{run_name(config)}: not trained to {config.epochs} epochs yet, skipped")
            continue
        headline = config.hidden == FULL_WIDTH and config.seed == first_seed and config.sparsity in (0.0, top)
        jobs.append((config, str(out), args.data, args.frames, headline))
    if args.workers <= 1 or len(jobs) <= 1:
        results = [_evaluate_job(job) for job in jobs]
    else:
        context = multiprocessing.get_context("spawn")
        with context.Pool(args.workers, initializer=torch.set_num_threads, initargs=(args.threads,)) as pool:
            results = list(pool.imap(_evaluate_job, jobs))
    reference = capture_reference(Path(args.clips), out, args.data)
    print(f"held-out capture ({len(reference['clips'])} clips): foot skating {reference['mean']:.4f} cm/frame")
    (out / "results.json").write_text(json.dumps({"capture": reference, "models": results}, indent=1) + "\n")
    print(f"wrote {out}/results.json")
    return results


_CONTEXT: dict[str, EvaluationContext] = {}


def _evaluate_job(job: tuple[TrainConfig, str, str, int | None, bool]) -> dict:
    config, out, data_dir, frames, headline = job
    if data_dir not in _CONTEXT:
        _CONTEXT[data_dir] = EvaluationContext(Path(data_dir))
    return evaluate_one(config, Path(out), _CONTEXT[data_dir], frames, headline)


def evaluate_one(config: TrainConfig, out: Path, ctx: EvaluationContext, frames: int | None,
                 headline: bool) -> dict:
    """One model's figures (cached in its ``evaluation.json``): validation MSE, pose error, foot skating and
    style checks per scenario; for a headline model also ω over time and the expert ablation."""
    name = run_name(config)
    folder = out / "models" / name
    cached = folder / "evaluation.json"
    if cached.is_file():
        record = json.loads(cached.read_text())
        if (record.get("version"), record.get("epochs"), record.get("frames"), "ablation" in record) == (
                EVALUATION_VERSION, config.epochs, frames, headline):
            return record
    begin = time.perf_counter()
    model = load_model(folder / CHECKPOINT_NAME)
    scenarios = SCENARIOS if headline else {k: SCENARIOS[k] for k in SWEEP_SCENARIOS}
    record = {"version": EVALUATION_VERSION, "name": name, "sparsity": config.sparsity, "scope": config.scope,
              "seed": config.seed, "hidden": config.hidden, "epochs": config.epochs, "fraction": config.fraction,
              "frames": frames, "parameters": sum(p.numel() for p in model.parameters()),
              "nonzero": sum(int(p.count_nonzero()) for p in model.parameters()),
              **motion_figures(model, ctx, frames, scenarios, keep_omegas=headline)}
    if headline:
        record["ablation"] = []
        for expert in range(model.config.experts):
            ablated = without_expert(model, expert)
            figures = motion_figures(ablated, ctx, frames, {k: SCENARIOS[k] for k in ABLATION_SCENARIOS})
            record["ablation"].append({"expert": expert, **figures})
            print(f"{name}: without expert {expert}: pose error {figures['pose_error_cm']:.2f} cm, styles failing: "
                  + (", ".join(failing_styles(figures)) or "none"), flush=True)
    record["seconds"] = time.perf_counter() - begin
    cached.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{name}: val MSE {record['val_mse']:.4f}, pose error {record['pose_error_cm']:.2f} cm, skating "
          + ", ".join(f"{k} {v['mean']:.4f}" for k, v in record["skating"].items())
          + f" cm/frame ({record['seconds']:.0f} s)", flush=True)
    return record


def motion_figures(model: MANN, ctx: EvaluationContext, frames: int | None, scenarios: dict,
                   keep_omegas: bool = False) -> dict:
    """Validation MSE, pose error (cm), and per scenario foot skating, distance and style checks."""
    figures: dict = {"val_mse": evaluate_mse(model, ctx.val_x, ctx.val_y),
                     "pose_error_cm": pose_error(model, ctx.val_x, ctx.val_y, ctx.norm, ctx.layout),
                     "skating": {}, "styles": {}}
    if keep_omegas:
        figures["omegas"] = {}
    for name, scenario in scenarios.items():
        motion = rollout(model, ctx.norm, ctx.layout, ctx.start, scenario, frames=frames)
        skate = foot_skating(motion.paws(ctx.paws))
        figures["skating"][name] = {"mean": skate.mean, "contact": skate.contact, "frames": skate.frames,
                                    "distance_cm": float(np.linalg.norm(np.diff(motion.root, axis=0), axis=1).sum())}
        figures["styles"][name] = [dataclasses.asdict(c) for c in style_checks(motion, scenario, ctx.reference)]
        if keep_omegas and name in HEADLINE_SCENARIOS:
            figures["omegas"][name] = np.round(motion.omegas[::2], 4).tolist()  # every 2nd frame
    return figures


def failing_styles(figures: dict) -> list[str]:
    """Styles with a failed segment in any scenario of ``figures`` (sorted)."""
    return sorted({c["style"] for checks in figures["styles"].values() for c in checks if not c["works"]})


def capture_reference(clips_dir: Path, out: Path, data_dir: str) -> dict:
    """Foot skating of the held-out capture clips (cached in ``capture_skating.json``)."""
    reference_file = out / "capture_skating.json"
    if reference_file.is_file():
        return json.loads(reference_file.read_text())
    split = json.loads((Path(data_dir) / "split.json").read_text())
    clips = read_clips([clips_dir / f"{name}.bvh" for name in split["validation"]])
    per_clip = {Path(c.source).stem: capture_skating(c) for c in clips}
    frames = sum(s.frames for s in per_clip.values())
    reference = {"clips": {k: {"mean": v.mean, "contact": v.contact, "frames": v.frames}
                           for k, v in per_clip.items()},
                 "mean": sum(s.mean * s.frames for s in per_clip.values()) / frames}
    reference_file.write_text(json.dumps(reference, indent=1) + "\n")
    return reference


PAPER_TABLE1 = {0: ("178", "11.10"), 10: ("160", "10.06"), 20: ("142", "9.02"), 30: ("124", "7.98"),
                40: ("106", "6.94"), 50: ("88", "5.89"), 60: ("71", "4.86"), 70: ("53", "3.82"), 80: ("35", "2.78"),
                90: ("17.8", "1.74")}


def report(args: argparse.Namespace, out: Path, results: list[dict]) -> None:
    """Write the study's result files (CSV/JSON, small, committed) and figures under ``--results``."""
    target = Path(args.results)
    target.mkdir(parents=True, exist_ok=True)
    capture = json.loads((out / "capture_skating.json").read_text())
    write_json(target / "capture.json", capture)
    scenarios = list(SCENARIOS)
    rows = [[r["name"], r["hidden"], f"{r['sparsity']:.6f}", r["seed"], r["epochs"], r["fraction"], r["parameters"],
             r["nonzero"], f"{r['val_mse']:.6f}", f"{r['pose_error_cm']:.3f}"]
            + [f"{r['skating'][k]['mean']:.5f}" if k in r["skating"] else "" for k in scenarios]
            + [" ".join(failing_styles(r)) or "-"]
            for r in sorted(results, key=lambda r: (-r["hidden"], r["sparsity"], r["seed"]))]
    write_csv(target / "models.csv", ["name", "hidden", "sparsity", "seed", "epochs", "fraction", "parameters",
                                      "nonzero", "val_mse", "pose_error_cm"] + [f"skating_{k}" for k in scenarios]
              + ["styles_failing"], rows)
    trained = {round(100 * r["sparsity"]): r for r in results
               if r["hidden"] == FULL_WIDTH and r["seed"] == args.seeds[0]}
    table = []
    for percent, (paper_size, paper_flops) in PAPER_TABLE1.items():
        row = table1_row(percent / 100)
        model = trained.get(percent)
        table.append([percent, paper_size, paper_flops, row.size_text, f"{row.mflops:.2f}",
                      "yes" if (row.size_text, f"{row.mflops:.2f}") == (paper_size, paper_flops) else "no",
                      row.nonzero, model["nonzero"] if model else "",
                      f"{32 * model['nonzero'] / 1e6:.2f}" if model else ""])
    write_csv(target / "table1.csv", ["sparsity_percent", "paper_mb", "paper_mflops", "counter_mb", "counter_mflops",
                                      "matches_paper", "counter_nonzero", "trained_nonzero", "trained_mb"], table)
    headline = [r for r in results if "ablation" in r]
    ablation = []
    for r in sorted(headline, key=lambda r: r["sparsity"]):
        for expert, figures in [("none", r)] + [(a["expert"], a) for a in r["ablation"]]:
            ablation.append([r["name"], expert, f"{figures['pose_error_cm']:.3f}"]
                            + [f"{figures['skating'][k]['mean']:.5f}" for k in ABLATION_SCENARIOS]
                            + [" ".join(failing_styles({"styles": {k: figures["styles"][k]
                                                                   for k in ABLATION_SCENARIOS}})) or "-"])
    write_csv(target / "ablation.csv", ["model", "expert_off", "pose_error_cm"]
              + [f"skating_{k}" for k in ABLATION_SCENARIOS] + ["styles_failing"], ablation)
    omega_rows = [[r["name"], motion, 2 * i] + [f"{w:.4f}" for w in frame]  # every 6th frame (0.1 s)
                  for r in headline for motion, trace in r["omegas"].items() for i, frame in enumerate(trace)
                  if i % 3 == 0]
    write_csv(target / "omegas.csv", ["model", "motion", "frame"] + [f"w{e}" for e in range(8)], omega_rows)
    summary = []
    for r in headline:
        for motion, trace in r["omegas"].items():
            w = np.clip(np.asarray(trace, dtype=np.float64), 1e-12, 1.0)
            entropy = float((-(w * np.log2(w)).sum(axis=1)).mean())
            top = np.bincount(w.argmax(axis=1), minlength=w.shape[1])
            summary.append([r["name"], motion, f"{entropy:.3f}", f"{w.max(axis=1).mean():.3f}", int(top.argmax()),
                            f"{top.max() / len(w):.3f}"])
    write_csv(target / "omega_summary.csv", ["model", "motion", "mean_entropy_bits", "mean_max_weight",
                                             "dominant_expert", "dominant_share"], summary)
    styles = [[r["name"], scenario, c["style"], c["first"], c["frames"], c["speed"], f"{c['measured_speed']:.3f}",
               f"{c['body_height']:.2f}", c["works"]]
              for r in headline for scenario, checks in r["styles"].items() for c in checks]
    write_csv(target / "styles.csv", ["model", "scenario", "style", "first_frame", "frames", "commanded_speed",
                                      "measured_speed", "body_height_cm", "works"], styles)
    dense = next((r for r in headline if r["sparsity"] == 0), None)
    pruned = next((r for r in headline if r["sparsity"] > 0), None)
    if dense and pruned:
        ctx = EvaluationContext(Path(args.data))
        write_json(target / "latency.json", latency(out, ctx, dense["name"], pruned["name"], args.threads))
        write_json(target / "export.json", export(out, ctx, pruned["name"], args.data))
    try:
        plot_skating_vs_sparsity(results, capture["mean"], target / "fig1_skating_vs_sparsity.png")
        pairs = same_size_pairs(results, args)
        if pairs:
            plot_same_size(pairs, target / "fig3_same_size.png")
        if dense and pruned:
            plot_omegas(dense["omegas"], pruned["omegas"], target / "fig4_omegas.png",
                        labels=("dense", f"{100 * pruned['sparsity']:g} % pruned"))
    except CompressError as exc:
        print(f"figures skipped: {exc}")
    print(f"wrote the study's results to {target}")


def same_size_pairs(results: list[dict], args: argparse.Namespace) -> list[tuple[int, dict, dict]]:
    """(width, dense narrower model, 512-wide model pruned to its count) for the first seed."""
    by_name = {r["name"]: r for r in results}
    pairs = []
    for width in args.widths:
        dense = by_name.get(f"h{width}-s00-seed{args.seeds[0]}")
        pruned = by_name.get(f"h{FULL_WIDTH}-m{width}-seed{args.seeds[0]}")
        if dense and pruned:
            pairs.append((width, dense, pruned))
    return pairs


def latency(out: Path, ctx: EvaluationContext, dense_name: str, pruned_name: str, threads: int,
            repeats: int = 300) -> dict:
    """Per-frame latency (batch 1, median microseconds, interleaved rounds) of both models: the model's own
    forward (blended weights), the blended-outputs forward, and the sparse runtime."""
    torch.set_num_threads(threads)
    x = ctx.val_x[:1]
    calls = {}
    for name in (dense_name, pruned_name):
        model = load_model(out / "models" / name / CHECKPOINT_NAME).eval()
        runtime = SparseMANN.from_model(model)
        calls[f"{name} torch forward"] = (lambda m=model: m(x))
        calls[f"{name} blended outputs"] = (lambda m=model: blended_forward(m, x))
        calls[f"{name} sparse runtime"] = (lambda r=runtime: r(x[0]))
    times: dict[str, list[float]] = {k: [] for k in calls}
    with torch.inference_mode():
        for fn in calls.values():
            for _ in range(20):
                fn()
        for _ in range(10):
            for key, fn in calls.items():
                for _ in range(repeats // 10):
                    begin = time.perf_counter()
                    fn()
                    times[key].append(time.perf_counter() - begin)
    medians = {k: 1e6 * float(np.median(v)) for k, v in times.items()}
    for key, value in medians.items():
        print(f"latency {key}: {value:.0f} us per frame")
    return {"threads": threads, "repeats": repeats, "median_us": medians,
            "machine": "this project's 2-core CPU box (training and tests may have shared it)"}


def export(out: Path, ctx: EvaluationContext, name: str, data_dir: str) -> dict:
    """Ship model ``name`` as a .dsz (under the study folder), reload it, compare with the checkpoint."""
    checkpoint = out / "models" / name / CHECKPOINT_NAME
    shipped = from_checkpoint(checkpoint, data_dir)
    path = out / f"{name}.dsz"
    path.unlink(missing_ok=True)
    written = export_mann(path, shipped.model, shipped.normalization, shipped.layout, paws=shipped.paws,
                          start=shipped.start)
    check = check_export(load_model(checkpoint), load_mann(path), ctx.val_x[:256])
    record = {"model": name, "bytes": written.bytes, "float32_bytes": written.float32_bytes,
              "ratio": written.ratio, "expert_density": written.expert_density,
              "weights_identical": check.weights_identical, "runtime_identical": check.runtime_identical,
              "max_abs_difference_to_dense": check.max_abs_vs_dense, "rows_compared": check.rows}
    print(f"{name}.dsz: {written.bytes:,} B = {written.ratio:.2f}x smaller than float32; weights identical "
          f"{check.weights_identical}, sparse runtime identical {check.runtime_identical}")
    return record


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


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
    # The study: dense 512 and 9 pruned models, a second seed for dense and 90 %, dense 256/128/64 and the
    # 512 model pruned to each of their counts (issue 14, item 5): 18 models.
    study = [times[(512, 0.0)]] * 2 + [times[(512, 0.9)]] * 13 + [times[(h, 0.0)] for h in (256, 128, 64)]
    for epochs, fraction in ((args.epochs, args.fraction), (PAPER_EPOCHS, 1.0)):
        steps = (rows * fraction) // 32 * epochs
        total = sum(study) * steps + 13 * 100 * update
        print(f"study of {len(study)} models at {epochs} epochs x {100 * fraction:g} % of the rows: "
              f"{total / 3600:.2f} h of training (100 mask updates per pruned model; evaluation not included; "
              f"{total / 3600 / max(args.workers, 1):.2f} h with {args.workers} workers on free cores)")


if __name__ == "__main__":
    sys.exit(main())
