"""Joint spatial/Winograd sparse compression of the pretrained LeNet-5 (MNIST), end to end.

Stages: regularized fine-tuning (eq. 5, recipe "wd+sd" by default) with distillation from the original
model on the 17,435 MNIST training images on hand, dithered quantization with one Δ, codebook fine-tuning
with the Winograd-domain regularizer, a ``.dsz`` written with ``formats``; then the file is decoded and
evaluated on the full 10K test set dense, pruned in the spatial domain (the decoded weights) and pruned in
the Winograd domain (``formats.load(..., domain="winograd", sparsity=s_wd)``).

Run::

    python examples/lenet_joint_sparse.py --data ../shared/data --out /tmp/lenet.dsz
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

import formats
from compress.data.mnist import mnist_dataset
from compress.metrics.accuracy import evaluate
from compress.pipeline.artifact import pipeline_recipe, write_artifact
from compress.pipeline.codebook import tune_codebooks
from compress.pipeline.config import CodebookConfig, FinetuneConfig
from compress.pipeline.deploy_eval import load_decoded, sparsity_by_tensor, winograd_deployed
from compress.pipeline.finetune import finetune, seeded_loader
from compress.pipeline.quantization import quantize_weights
from compress.zoo.pretrained import load_pretrained

LENET_PARAMS = 431_080


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--out", default="/tmp/lenet_joint_sparse.dsz")
    parser.add_argument("--recipe", default="wd+sd", choices=["wd+sd", "sd", "wd"])
    parser.add_argument("--s-sd", type=float, default=0.93)
    parser.add_argument("--s-wd", type=float, default=0.85)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--zeta-lr", type=float, default=1e-2)
    parser.add_argument("--zeta-init", type=float, default=5.0)
    parser.add_argument("--distill", type=float, default=0.5)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--codebook-steps", type=int, default=200)
    parser.add_argument("--codebook-lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    start = time.time()

    model = load_pretrained("lenet5", args.data)
    teacher = copy.deepcopy(model).eval()
    train = mnist_dataset(Path(args.data) / "mnist", "train")
    test = DataLoader(mnist_dataset(Path(args.data) / "mnist", "test"), batch_size=1000)
    print(f"train images {len(train)}, test images {len(test.dataset)}")  # type: ignore[arg-type]
    print(f"pretrained dense accuracy: {evaluate(model, test):.4f}")

    ft = FinetuneConfig(
        recipe=args.recipe, s_sd=args.s_sd, s_wd=args.s_wd, steps=args.steps, lr=args.lr, zeta_lr=args.zeta_lr,
        zeta_init=args.zeta_init, distill_weight=args.distill, seed=args.seed, log_every=max(1, args.steps // 6),
    )
    result = finetune(
        model, seeded_loader(train, args.batch, args.seed), ft, teacher=teacher,
        progress=lambda r: print(
            f"  step {r.step:5d} loss {r.loss:.4f} θ_SD {r.theta_sd} θ_WD {r.theta_wd} "
            f"ζ_SD {r.zeta_sd} ζ_WD {r.zeta_wd}", flush=True,
        ),
    )
    print(f"fine-tuned dense accuracy: {evaluate(model, test):.4f}  ({time.time() - start:.0f} s)")

    cb = CodebookConfig(bits=args.bits, seed=args.seed, steps=args.codebook_steps, lr=args.codebook_lr,
                        zeta_lr=args.zeta_lr, s_wd=args.s_wd, wd_regularizer=args.recipe != "sd")
    quantized = quantize_weights(model, result.targets.spatial, cb)
    print(f"quantization step Δ = {next(iter(quantized.values())).step:.6g}")
    tuned = tune_codebooks(
        model, quantized, seeded_loader(train, args.batch, args.seed + 1), cb, targets=result.targets,
        teacher=teacher, distill_weight=args.distill, zeta_init=result.zeta.get("wd", args.zeta_init),
    )
    write_artifact(args.out, model, tuned.tensors, recipe=pipeline_recipe(ft, cb),
                   metadata={"model": "lenet5", "dataset": "mnist"})
    size = os.path.getsize(args.out)

    spatial = formats.load(args.out)
    winograd = formats.load(args.out, domain="winograd", sparsity=args.s_wd)
    spatial_model = load_decoded(model, spatial)
    print(f"\nrecipe {args.recipe}, s_SD {args.s_sd}, s_WD {args.s_wd}")
    print(f"accuracy dense (pretrained)      {evaluate(teacher, test):.4f}")
    print(f"accuracy pruned spatial (.dsz)   {evaluate(spatial_model, test):.4f}")
    print(f"accuracy pruned Winograd (.dsz)  {evaluate(winograd_deployed(model, winograd), test):.4f}")
    names = list(result.targets.spatial)
    wnames = [t.name for t in result.targets.winograd]
    sp, wd = sparsity_by_tensor(spatial, names), sparsity_by_tensor(winograd, wnames)
    print(f"{'tensor':14s} {'params':>8s} {'spatial sparsity':>17s} {'Winograd sparsity':>18s}")
    for n in names:
        wtxt = f"{wd[n]:.4f}" if n in wd else "-"
        print(f"{n:14s} {spatial[n].size:8d} {sp[n]:17.4f} {wtxt:>18s}")
    total_sp = sum(sp[n] * spatial[n].size for n in names) / sum(spatial[n].size for n in names)
    total_wd = sum(wd[n] * winograd[n].size for n in wnames) / sum(winograd[n].size for n in wnames)
    print(f"overall spatial sparsity (conv+fc weights) {total_sp:.4f}; Winograd (conv) {total_wd:.4f}")
    print(f"file {args.out}: {size} bytes; ratio vs float32 ({LENET_PARAMS} x 4 B) = {LENET_PARAMS * 4 / size:.1f}x")
    print(f"total time {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
