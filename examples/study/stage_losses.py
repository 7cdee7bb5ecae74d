"""Where a recipe run loses accuracy: the same model scored after each stage of its kept checkpoints.

    python examples/study/stage_losses.py /tmp/dualsparse-study/TAG.dsz.ckpt resnet32-cifar10

Reads ``finetune.pt`` (the float model after regularized fine-tuning), ``quantize.pt`` (the model after
pruning, BatchNorm re-estimation and folding, and its quantized weights) and ``codebook.pt`` (the tuned
codebooks and the statistics they were tuned with) from a run kept with ``examples/recipe_study.py
--keep`` (or ``dualsparse compress --keep-checkpoints``), and prints the accuracy of each on the task's
evaluation images. Also prints the accuracy of the fine-tuned model pruned by magnitude with its own
statistics, which separates what pruning costs from what re-estimating the statistics costs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from compress.pipeline.quantization import prune_smallest
from compress.pipeline.report import evaluate_metric
from compress.pipeline.runner import _quantized_from
from compress.pipeline.targets import collect_targets
from compress.pipeline.tasks import build_task
from formats.quantize import dequantize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path)
    parser.add_argument("task")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--prune", type=float, default=0.85, help="fraction pruned by magnitude (the recipe's)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = build_task(args.task, data_root=args.data_root, options={}, seed=0, weights=None)
    model = task.model

    def score(what: str) -> None:
        model.eval()
        print(f"{what:<58} {100 * evaluate_metric(model, task.eval_data, task.loss):6.2f} %")

    def load(name: str) -> dict:
        return torch.load(args.checkpoints / f"{name}.pt", map_location="cpu", weights_only=True)

    def quantized(entries: dict) -> None:
        state = model.state_dict()
        for name, entry in entries.items():
            state[name] = torch.from_numpy(dequantize(_quantized_from(entry)).reshape(state[name].shape))
        model.load_state_dict(state)

    model.load_state_dict(load("finetune")["model"])
    score("fine-tuned float")
    prune_smallest(model, list(collect_targets(model, {}).spatial), args.prune)
    score(f"pruned {args.prune:.0%} by magnitude, fine-tuning's statistics")
    stage = load("quantize")
    model.load_state_dict(stage["model"])
    score("pruned, statistics re-estimated, folded")
    quantized(stage["tensors"])
    score("quantized, before codebook tuning")
    if (args.checkpoints / "codebook.pt").exists():
        tuned = load("codebook")
        model.load_state_dict({**model.state_dict(), **tuned.get("buffers", {})})
        quantized(tuned["tensors"])
        score("codebook-tuned (what the file decodes to)")


if __name__ == "__main__":
    main()
