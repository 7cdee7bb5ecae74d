"""SD-only, WD-only and WD+SD regularization on LeNet-5: pruned accuracy in both domains (the paper's Table 1).

Each recipe fine-tunes the pretrained LeNet-5 with the same settings as ``lenet_joint_sparse.py`` (only the
regularized domains differ); the float model is then pruned by global magnitude, without quantization:

* spatial, all weights: the ``s`` smallest |w| over every conv and fc weight set to 0;
* spatial, convs only: the ``s`` smallest |w| over the two conv layers (fc layers untouched), which
  isolates the layers the Winograd domain concerns (fc1 holds 400K of the 431K weights);
* Winograd: ``G w Gᵀ`` of both 5x5 convs at F(4, 5), the ``s`` smallest over both set to 0
  (what ``formats.load(..., domain="winograd", sparsity=s)`` does).

Measured with ``--threads 1`` and the defaults (2500 steps per recipe, s_SD 0.95, s_WD 0.85, ζ capped
at 14; 804 s in all), pruned to s = 0.8:

==============  ======  ===========  ============  ========
regularization  dense   spatial all  spatial conv  Winograd
==============  ======  ===========  ============  ========
pretrained      0.9903  0.9674       0.9884        0.1416
SD              0.9882  0.9888       0.9884        0.1559
WD              0.9903  0.9771       0.9903        0.9901
WD+SD           0.9890  0.9892       0.9891        0.9891
==============  ======  ===========  ============  ========

With ``--steps 1500`` (550 s): SD 0.9875 / 0.9862 / 0.1663, WD 0.9682 / 0.9892 / 0.9889, WD+SD 0.9859 /
0.9851 / 0.9854 (spatial all / spatial conv / Winograd).

The paper's pattern: SD-only is accurate pruned in its own domain and collapses in the Winograd domain;
WD-only is accurate in the Winograd domain and loses 1.3 points pruned spatially over all weights (its
fc layers, 94 % of the weights, are not regularized at all). On LeNet's convs alone the asymmetry is
one-sided: 80 % spatial pruning of the convs costs little even untrained (0.9884), so WD-only stays
accurate there. WD+SD is the only model accurate in every column. These are float models pruned
directly; quantization and codebook fine-tuning (``lenet_joint_sparse.py``) bring WD+SD to 0.9891
spatial / 0.9890 Winograd.

Run::

    python examples/lenet_domain_study.py --data ../shared/data --prune 0.8
"""

from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import torch
from lenet_joint_sparse import Setup, add_finetune_args, finetune_config, load_setup, run_finetune
from torch import nn

from compress.metrics.accuracy import evaluate
from compress.pipeline.deploy_eval import load_decoded, winograd_deployed
from compress.pipeline.targets import collect_targets
from formats.loader import prune_global
from formats.winograd import transform_filters


def pruned_accuracies(model: nn.Module, setup: Setup, sparsity: float) -> dict[str, float]:
    """Test accuracy of ``model`` dense and pruned to ``sparsity`` in each way listed in the module doc."""
    targets = collect_targets(model)
    names = list(targets.spatial)
    convs = {t.name: t.m for t in targets.winograd}
    state = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}
    out = {"dense": evaluate(model, setup.test)}
    for label, chosen in (("spatial all", names), ("spatial conv", list(convs))):
        weights = {n: state[n].copy() for n in chosen}
        prune_global(weights, chosen, sparsity)
        out[label] = evaluate(load_decoded(model, weights), setup.test)
    winograd = {n: transform_filters(state[n], m) for n, m in convs.items()}
    prune_global(winograd, list(convs), sparsity)
    out["Winograd"] = evaluate(winograd_deployed(model, winograd), setup.test)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_finetune_args(parser)
    parser.add_argument("--prune", type=float, default=0.8, help="pruning ratio s in every domain")
    parser.add_argument("--recipes", default="sd,wd,wd+sd")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    start = time.time()
    setup = load_setup(args.data)
    rows = [("pretrained", pruned_accuracies(setup.model, setup, args.prune))]
    for recipe in args.recipes.split(","):
        print(f"recipe {recipe}", flush=True)
        model, _ = run_finetune(setup, finetune_config(args, recipe), args.batch)
        rows.append((recipe.upper(), pruned_accuracies(model, setup, args.prune)))
        print(f"  done ({time.time() - start:.0f} s)", flush=True)
    columns = list(rows[0][1])
    print(f"\nLeNet-5, 10K MNIST test images, pruned to s = {args.prune} in each domain "
          f"(training s_SD {args.s_sd}, s_WD {args.s_wd}, {args.steps} steps)")
    print(f"{'regularization':16s}" + "".join(f"{c:>14s}" for c in columns))
    for label, acc in rows:
        print(f"{label:16s}" + "".join(f"{acc[c]:14.4f}" for c in columns))
    print(f"total time {time.time() - start:.0f} s  (numpy {np.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
