"""Our post-training files against a peer's (NNCodec by default), model by model, from ``baselines.csv``.

Usage (from the repository root, after ``examples/results/baselines.py``)::

    python examples/results/versus.py lenet5=0.2 resnet20=1 resnet32=1 resnet56=1
    python examples/results/versus.py --ours ours-rd --peer nncodec resnet32=1

For each model and loss budget (points of accuracy below the dense model) and each of our methods, one
markdown row per rule: our smallest file within the budget, the peer's, and how many times smaller ours is
(peer bytes / our bytes). With 1,017 CIFAR test images one image is ~0.1 point and accuracy is not monotone
in the step, so three readings of "within the budget":

* ``best``: the smallest file of any setting within the budget (what the results page has always used); a
  lucky setting past the knee can win it;
* ``steady``: walking from the largest file down, the last setting before the first one beyond the budget;
  an unlucky setting before the knee stops it early;
* ``monotone``: accuracy fitted non-increasing as the file shrinks (least squares, pool-adjacent-violators),
  the smallest file whose fitted loss is within the budget: neither a lucky nor an unlucky point decides.

Each rule runs over one family of settings at a time (the knob varied, the others fixed: NNCodec's qp at
one ``dq``, our step at one ``lam``) and keeps the family's best.

Then, per model, the default (``ours-default``: ``compress`` with no setting) against the smallest file of our
data-free methods (``ours-rd``, ``ours-post-training``) that is at least as accurate: how much larger the
default is than it needs to be.

Accuracy: mean over the method's seeds (ours: dither seeds, or calibration draws for ``ours-rd-cal``), with
min-max when there are several.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from pathlib import Path

DEFAULT_CSV = Path(__file__).parent / "baselines.csv"
DEFAULT_OURS = ("ours-rd-cal", "ours-rd", "ours-post-training")


def best(rows: list[dict[str, str]], budget: float) -> dict[str, str] | None:
    """The row with the fewest bytes whose loss is within ``budget`` (None when there is none).

    Example:
        >>> rows = [{"bytes": "10", "loss_pt": "2"}, {"bytes": "20", "loss_pt": "0.5"}, {"bytes": "30", "loss_pt": "0"}]
        >>> best(rows, 1.0)["bytes"]
        '20'
    """
    ok = [r for r in rows if float(r["loss_pt"]) <= budget + 1e-9]
    return min(ok, key=lambda r: int(r["bytes"])) if ok else None


def steady(rows: list[dict[str, str]], budget: float) -> dict[str, str] | None:
    """Walking from the largest file down, the last row before the first one beyond ``budget``.

    Example:
        >>> rows = [{"bytes": "10", "loss_pt": "0.2"}, {"bytes": "20", "loss_pt": "2"}, {"bytes": "30", "loss_pt": "0"}]
        >>> steady(rows, 1.0)["bytes"], best(rows, 1.0)["bytes"]
        ('30', '10')
    """
    chosen = None
    for row in sorted(rows, key=lambda r: -int(r["bytes"])):
        if float(row["loss_pt"]) > budget + 1e-9:
            break
        chosen = row
    return chosen


def monotone(rows: list[dict[str, str]], budget: float) -> dict[str, str] | None:
    """The smallest file whose loss, fitted non-decreasing as files shrink (pool adjacent violators), is within
    ``budget``.

    Example:
        >>> rows = [{"bytes": str(b), "loss_pt": str(l)} for b, l in ((40, 0), (30, 1.2), (20, 0.6), (10, 3))]
        >>> monotone(rows, 1.0)["bytes"], steady(rows, 1.0)["bytes"], best(rows, 1.0)["bytes"]
        ('20', '40', '20')
    """
    ordered = sorted(rows, key=lambda r: -int(r["bytes"]))
    blocks: list[list[float]] = []  # [sum, count] of pooled losses, non-decreasing
    for row in ordered:
        blocks.append([float(row["loss_pt"]), 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted = [total / count for total, count in blocks for _ in range(int(count))]
    chosen = None
    for row, loss in zip(ordered, fitted, strict=True):
        if loss <= budget + 1e-9:
            chosen = row
    return chosen


def family(setting: str) -> str:
    """The setting without the value of its first knob: ``qp=-20,dq=1`` -> ``qp,dq=1``.

    Example:
        >>> family("step=0.05,lam=0,rest=float16"), family("bits=4")
        ('step,lam=0,rest=float16', 'bits')
    """
    first, *rest = setting.split(",")
    return ",".join([first.split("=")[0], *rest])


Rule = Callable[[list[dict[str, str]], float], "dict[str, str] | None"]


def pick_by_family(rows: list[dict[str, str]], budget: float, rule: Rule) -> dict[str, str] | None:
    """``rule`` applied to each family of settings; the smallest file of the picks."""
    picks = []
    for name in sorted({family(r["setting"]) for r in rows}):
        chosen = rule([r for r in rows if family(r["setting"]) == name], budget)
        if chosen is not None:
            picks.append(chosen)
    return min(picks, key=lambda r: int(r["bytes"])) if picks else None


def accuracy(row: dict[str, str]) -> str:
    """``mean`` or ``mean (min-max)`` in percent."""
    low, high = float(row["acc_min"]), float(row["acc_max"])
    spread = f" ({low:.2f}-{high:.2f})" if high - low > 1e-9 else ""
    return f"{float(row['acc_mean']):.2f} %{spread}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("budgets", nargs="+", metavar="MODEL=LOSS")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--ours", default=",".join(DEFAULT_OURS), help="our methods, comma-separated")
    parser.add_argument("--peer", default="nncodec")
    args = parser.parse_args()
    with args.csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    print(f"| model | budget (pt) | rule | ours | setting | bytes | accuracy | {args.peer} setting | bytes | accuracy "
          f"| {args.peer} / ours |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for item in args.budgets:
        model, _, loss_text = item.partition("=")
        budget = float(loss_text)
        peer_rows = [r for r in rows if r["model"] == model and r["method"] == args.peer]
        for rule, pick in (("best", best), ("steady", steady), ("monotone", monotone)):
            peer = pick_by_family(peer_rows, budget, pick)
            for method in args.ours.split(","):
                ours = pick_by_family([r for r in rows if r["model"] == model and r["method"] == method], budget, pick)
                if ours is None:
                    continue
                peer_cells = (f"{peer['setting']} | {int(peer['bytes']):,} | {accuracy(peer)} | "
                              f"**{int(peer['bytes']) / int(ours['bytes']):.2f}x**") if peer else "- | - | - | -"
                print(f"| {model} | {budget:g} | {rule} | {method} | {ours['setting']} | {int(ours['bytes']):,} | "
                      f"{accuracy(ours)} | {peer_cells} |")
    print_defaults(rows, [item.partition("=")[0] for item in args.budgets])


def default_versus_best(rows: list[dict[str, str]], model: str,
                        methods: tuple[str, ...] = ("ours-rd", "ours-post-training")) -> tuple[dict, dict] | None:
    """``(default row, smallest row of methods at least as accurate)`` of ``model``, or None without a default.

    Example:
        >>> rows = [{"model": "m", "method": "ours-default", "bytes": "110", "acc_mean": "90"},
        ...         {"model": "m", "method": "ours-rd", "bytes": "100", "acc_mean": "90.1"},
        ...         {"model": "m", "method": "ours-rd", "bytes": "80", "acc_mean": "89"}]
        >>> [r["bytes"] for r in default_versus_best(rows, "m")]
        ['110', '100']
    """
    default = next((r for r in rows if r["model"] == model and r["method"] == "ours-default"), None)
    if default is None:
        return None
    level = float(default["acc_mean"])
    candidates = [r for r in rows if r["model"] == model and r["method"] in methods + ("ours-default",)
                  and float(r["acc_mean"]) >= level - 1e-9]
    return default, min(candidates, key=lambda r: int(r["bytes"]))


def print_defaults(rows: list[dict[str, str]], models: list[str]) -> None:
    """The default against the best data-free setting at least as accurate, one row per model."""
    print("\n| model | default: bytes | accuracy | smallest as accurate (data-free) | bytes | accuracy "
          "| default / that |")
    print("|---|---|---|---|---|---|---|")
    for model in models:
        pair = default_versus_best(rows, model)
        if pair is None:
            continue
        default, other = pair
        print(f"| {model} | {int(default['bytes']):,} | {accuracy(default)} | {other['method']} {other['setting']} | "
              f"{int(other['bytes']):,} | {accuracy(other)} | {int(default['bytes']) / int(other['bytes']):.2f} |")


if __name__ == "__main__":
    main()
