"""SD-only, WD-only and WD+SD regularization on a CIFAR ResNet: the paper's Table 1 on our data.

Each row fine-tunes the pretrained network with the recipe's fine-tuning settings (only the
regularized domains differ, BatchNorm in training mode as ``batchnorm = "fold"`` does), then prunes the
float model by global magnitude, without quantization, to ``s`` in each domain:

* spatial: the ``s`` smallest |w| over every conv and linear weight set to 0;
* Winograd: ``G w Gᵀ`` of every stride-1 3x3 conv at the recipe's F(m, 3), the ``s`` smallest over all
  of them set to 0 (what ``formats.load(..., domain="winograd", sparsity=s)`` does).

After pruning, the BatchNorm statistics are re-estimated on 40 training batches (as the pipeline does
before folding), the Winograd model's by running it with its pruned Winograd-domain filters. MACs
per image are counted in each domain with the pruned weights. One CSV row per regularization; the
first row is the pretrained network pruned the same way.

    python examples/results/domain_study.py resnet20-cifar10 --steps 500 --prune 0.8 \
        [--csv examples/results/table1_resnet20.csv] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import time
from pathlib import Path

import torch
from torch import nn

from compress.metrics.macs import count_macs
from compress.pipeline.batchnorm import RECALIBRATION_BATCHES, recalibrate_batchnorm
from compress.pipeline.deploy_eval import load_decoded, winograd_deployed
from compress.pipeline.finetune import FinetuneEngine
from compress.pipeline.loader_order import LoaderOrder
from compress.pipeline.recipe_file import load_recipe
from compress.pipeline.report import evaluate_metric
from compress.pipeline.targets import collect_targets
from compress.pipeline.tasks import build_task
from formats.loader import prune_global
from formats.winograd import transform_filters

FIELDS = ("regularization", "steps", "prune", "dense", "pruned_spatial", "pruned_winograd", "macs_spatial_dense",
          "macs_spatial_sparse", "macs_winograd_sparse", "seconds")


def pruned_row(model: nn.Module, task, m_for_r: dict[int, int], sparsity: float, seed: int) -> dict[str, float]:
    """Accuracy dense and pruned in each domain, and MACs, of a float model."""
    targets = collect_targets(model, m_for_r)
    names = list(targets.spatial)
    convs = {t.name: t.m for t in targets.winograd}
    state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    example = task.example_input()
    calibration = LoaderOrder(task.train_data, 128, seed + 2)

    def calibrated(net: nn.Module) -> nn.Module:
        recalibrate_batchnorm(net, (calibration.batch(k)[0] for k in range(RECALIBRATION_BATCHES)))
        return net.eval()

    spatial = {n: state[n].copy() for n in names}
    prune_global(spatial, names, sparsity)
    spatial_model = calibrated(load_decoded(model, spatial))
    winograd = {n: transform_filters(state[n], m) for n, m in convs.items()}
    prune_global(winograd, list(convs), sparsity)
    winograd_model = calibrated(winograd_deployed(model, winograd, m_for_r))
    dense = count_macs(model, example, m_for_r=m_for_r)
    overrides = {n[: -len(".weight")]: torch.from_numpy(winograd[n]) for n in convs}
    sparse = count_macs(spatial_model, example, m_for_r=m_for_r, winograd_weights=overrides)
    return {
        "dense": evaluate_metric(model, task.eval_data, task.loss),
        "pruned_spatial": evaluate_metric(spatial_model, task.eval_data, task.loss),
        "pruned_winograd": evaluate_metric(winograd_model, task.eval_data, task.loss),
        "macs_spatial_dense": dense.spatial_dense, "macs_spatial_sparse": sparse.spatial_sparse,
        "macs_winograd_sparse": sparse.winograd_sparse,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--prune", type=float, default=0.8)
    parser.add_argument("--regularizations", default="sd,wd,wd+sd")
    parser.add_argument("--csv", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe)
    task = build_task(recipe.task_name, data_root=recipe.section("task")["data_root"], seed=recipe.seed)
    original = copy.deepcopy(task.model).eval()
    m_for_r = recipe.m_for_r
    out = args.csv or Path(__file__).parent / f"table1_{args.recipe.split('-')[0]}.csv"
    rows = [{"regularization": "pretrained", "steps": 0, "prune": args.prune, "seconds": 0,
             **pruned_row(original, task, m_for_r, args.prune, recipe.seed)}]
    print(rows[-1], flush=True)
    for domains in args.regularizations.split(","):
        start = time.time()
        model = copy.deepcopy(original)
        config = dataclasses.replace(recipe.finetune, recipe=domains, steps=args.steps, batchnorm="train",
                                     s_sd=args.prune, s_wd=args.prune)
        engine = FinetuneEngine(model, config, teacher=original)
        schedule = LoaderOrder(task.train_data, int(recipe.section("finetune")["batch"]), recipe.seed,
                               augment=config.augment)
        while engine.step < config.steps:
            engine.train_step(*schedule.batch(engine.step))
        engine.finish()
        figures = pruned_row(model, task, m_for_r, args.prune, recipe.seed)
        rows.append({"regularization": domains.upper(), "steps": args.steps, "prune": args.prune,
                     "seconds": round(time.time() - start), **figures})
        print(rows[-1], flush=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
