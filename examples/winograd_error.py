"""Float32 error of WinogradConv2d per tile size, against a float64 F.conv2d reference.

Usage: python examples/winograd_error.py [--seed 0]

For each F(m, r) it runs a 64-channel layer (random N(0, 1) input, Kaiming-scaled weights,
32x32, padding r // 2) in float32 through WinogradConv2d and through F.conv2d, and reports the
max and RMS absolute error relative to the RMS of the exact output. Also, for the pretrained
ResNet-20 on the first CIFAR-10 test images when ../shared/data is there: the largest logit
difference between the spatial model and the model with every stride-1 3x3 conv swapped.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
import torch.nn.functional as F

from compress.winograd import WinogradConv2d, swap_to_winograd

CASES = [(2, 3), (4, 3), (6, 3), (2, 5), (4, 5), (6, 5)]
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def layer_errors(m: int, r: int, generator: torch.Generator) -> tuple[float, float, float]:
    channels = 64
    x64 = torch.randn(8, channels, 32, 32, generator=generator, dtype=torch.float64)
    w64 = torch.randn(channels, channels, r, r, generator=generator, dtype=torch.float64)
    w64 *= (2.0 / (channels * r * r)) ** 0.5
    exact = F.conv2d(x64, w64, padding=r // 2)
    scale = exact.square().mean().sqrt().item()
    layer = WinogradConv2d(channels, channels, r, m, padding=r // 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(w64.float())
        wino = layer(x64.float()).double()
    direct = F.conv2d(x64.float(), w64.float(), padding=r // 2).double()
    err = (wino - exact).abs()
    return (
        err.max().item() / scale,
        err.square().mean().sqrt().item() / scale,
        (direct - exact).abs().max().item() / scale,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generator = torch.Generator().manual_seed(args.seed)
    print(f"{'F(m,r)':<8}{'n':>3}{'max rel err':>14}{'rms rel err':>14}{'F.conv2d f32 max':>18}")
    for m, r in CASES:
        worst, rms, direct = layer_errors(m, r, generator)
        print(f"F({m},{r})  {m + r - 1:>3}{worst:>14.2e}{rms:>14.2e}{direct:>18.2e}")
    if (DATA / "cifar10-resnet-akamaster").is_dir():
        from compress.data import cifar10_dataset
        from compress.zoo.pretrained import load_pretrained

        model = load_pretrained("resnet20", DATA)
        images = cifar10_dataset(DATA / "cifar10-partial").tensors[0][:256]
        with torch.inference_mode():
            reference = model(images)
            for m in (2, 4, 6):
                logits = swap_to_winograd(copy.deepcopy(model), {3: m})(images)
                same = (logits.argmax(1) == reference.argmax(1)).float().mean().item()
                print(
                    f"ResNet-20 F({m},3): max |logit diff| {(logits - reference).abs().max().item():.2e}, "
                    f"same top-1 on {100 * same:.1f} % of 256 images"
                )


if __name__ == "__main__":
    main()
