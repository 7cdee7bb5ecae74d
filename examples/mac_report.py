"""MACs per image of the zoo networks, spatial and Winograd, next to the paper's figures.

Usage: python examples/mac_report.py [--layers]

Models are traced on the meta device (shapes only), so all weights count as dense. The
Winograd column counts element-wise products only; transforms are listed apart (see
spec/WINOGRAD.md, "Counting MACs").
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from compress.metrics import MacReport, count_macs
from compress.zoo import get_model, model_spec

# (label, zoo name, m_for_r, paper spatial M, paper Winograd M, tweak)
ROWS = [
    ("AlexNet, conv2 F(4,5), 3x3 F(4,3)", "alexnet", {3: 4, 5: 4}, 724.4, 330.0, None),
    ("ResNet-18 (torchvision), F(2,3)", "resnet18", {3: 2}, None, None, None),
    ("ResNet-18 paper variant, F(2,3)", "resnet18-winograd", {3: 2}, 2347.1, 1174.0, None),
    ("ResNet-18 paper variant, F(4,3)", "resnet18-winograd", {3: 4}, None, None, None),
    ("  + 1x1 projection in layer1.0 (hypothesis)", "resnet18-winograd", {3: 2}, 2347.1, 1174.0, "proj"),
    ("LeNet-5 20-50-500, F(4,5)", "lenet5", {5: 4}, None, None, None),
    ("ResNet-20 CIFAR, F(4,3)", "resnet20", {3: 4}, None, None, None),
    ("ResNet-56 CIFAR, F(4,3)", "resnet56", {3: 4}, None, None, None),
]


def _report(name: str, m_for_r: dict[int, int], tweak: str | None) -> MacReport:
    with torch.device("meta"):
        model = get_model(name)
        if tweak == "proj":
            model.layer1[0].downsample = nn.Sequential(nn.Conv2d(64, 64, 1, bias=False), nn.BatchNorm2d(64))
        image = torch.zeros(1, *model_spec(name).input_shape)
    return count_macs(model, image, m_for_r=m_for_r)


def _fmt(value: float | None) -> str:
    return f"{value:>9.1f}" if value is not None else f"{'-':>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", action="store_true", help="print the per-layer table of every model")
    args = parser.parse_args()
    print(
        f"{'model (M MACs per image)':<46}{'spatial':>9}{'paper':>9}{'Winograd':>9}{'paper':>9}"
        f"{'ratio':>7}{'transf.':>9}"
    )
    for label, name, m_for_r, paper_sd, paper_wd, tweak in ROWS:
        report = _report(name, m_for_r, tweak)
        sd, wd = report.spatial_dense / 1e6, report.winograd_dense / 1e6
        print(
            f"{label:<46}{sd:>9.1f}{_fmt(paper_sd)}{wd:>9.1f}{_fmt(paper_wd)}{sd / wd:>7.2f}"
            f"{report.transforms / 1e6:>9.1f}"
        )
        if args.layers:
            print(report.table(), end="\n\n")


if __name__ == "__main__":
    main()
