"""The peers table of RESULTS.md from ``baselines.csv``: each method's best ratio within each loss budget.

Usage (from the repository root)::

    python examples/results/peers_table.py lenet5=0.2 resnet20=1.0,2.55 resnet32=1.0,2.04 resnet56=1.0,1.57

prints one markdown row per model x budget x method (the largest ratio whose mean accuracy loss is within the
budget; float32+zstd only at the model's own budget), best first. The budgets after the first are our recipe's
own losses, so that every method is compared at the recipe's accuracy.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

DEFAULT_CSV = Path(__file__).parent / "baselines.csv"


def best_rows(rows: list[dict[str, str]], model: str, budget: float) -> list[dict[str, str]]:
    """Per method, the row of ``model`` with the largest ratio whose loss is at most ``budget``, best first.

    Example:
        >>> rows = [{"model": "m", "method": "a", "ratio": "2", "loss_pt": "0.5"},
        ...         {"model": "m", "method": "a", "ratio": "3", "loss_pt": "1.5"}]
        >>> [r["ratio"] for r in best_rows(rows, "m", 1.0)]
        ['2']
    """
    best: dict[str, dict[str, str]] = {}
    for row in rows:
        if row["model"] != model or float(row["loss_pt"]) > budget + 1e-9:
            continue
        if row["method"] not in best or float(row["ratio"]) > float(best[row["method"]]["ratio"]):
            best[row["method"]] = row
    return sorted(best.values(), key=lambda r: -float(r["ratio"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("budgets", nargs="+", metavar="MODEL=LOSS[,LOSS...]")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = parser.parse_args()
    with args.csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    print("| model | budget (pt) | method | best setting | bytes | ratio | accuracy (mean of seeds) |")
    print("|---|---|---|---|---|---|---|")
    for item in args.budgets:
        model, _, losses = item.partition("=")
        for k, loss in enumerate(float(v) for v in losses.split(",")):
            for row in best_rows(rows, model, loss):
                if k and row["method"] == "float32+zstd":
                    continue
                print(f"| {model} | {loss:g} | {row['method']} | {row['setting']} | {int(row['bytes']):,} | "
                      f"{float(row['ratio']):.2f}x | {float(row['acc_mean']):.2f} % |")


if __name__ == "__main__":
    main()
