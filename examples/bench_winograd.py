"""Wall time of WinogradConv2d against F.conv2d on CPU, ResNet-20 and LeNet layer shapes.

Usage: python examples/bench_winograd.py [--batch 64] [--threads 1] [--repeat 7]

Columns: F.conv2d time (ms, best of --repeat); WinogradConv2d from the spatial weights
(``from_conv``, dense); then from Winograd-domain weights pruned to 50 / 80 / 90 % (smallest
magnitudes set to zero) and run through the sparse path: the n²·groups weight matrices are
packed into one block-diagonal CSR matrix and the channel mixing is a single
``torch.sparse.mm`` (input and output transforms stay dense GEMMs). Ratios are Winograd time
over F.conv2d time (below 1 means faster). Forward only, float32, no autograd.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from compress.winograd import WinogradConv2d, winograd_filter_transform

# (label, in, out, r, padding, H, m)
LAYERS = [
    ("ResNet-20 stage 1", 16, 16, 3, 1, 32, 4),
    ("ResNet-20 stage 2", 32, 32, 3, 1, 16, 4),
    ("ResNet-20 stage 3", 64, 64, 3, 1, 8, 4),
    ("ResNet-20 stage 1 F(2,3)", 16, 16, 3, 1, 32, 2),
    ("LeNet conv1", 1, 20, 5, 0, 28, 4),
    ("LeNet conv2", 20, 50, 5, 0, 12, 4),
]
SPARSITIES = (0.5, 0.8, 0.9)


def best_ms(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1e3 * best


def pruned(wd: torch.Tensor, sparsity: float) -> torch.Tensor:
    k = int(sparsity * wd.numel())
    threshold = wd.abs().flatten().kthvalue(k).values
    return torch.where(wd.abs() <= threshold, torch.zeros_like(wd), wd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(
        f"batch {args.batch}, {args.threads} thread(s), torch {torch.__version__}; "
        "times in ms, ratio = Winograd / conv2d"
    )
    head = f"{'layer':<26}{'F(m,r)':<8}{'conv2d':>8}{'dense':>8}{'ratio':>7}"
    head += "".join(f"{f'sp{int(100 * s)}':>8}{'ratio':>7}" for s in SPARSITIES)
    print(head)
    with torch.no_grad():
        for label, cin, cout, r, pad, size, m in LAYERS:
            conv = nn.Conv2d(cin, cout, r, padding=pad, bias=False)
            x = torch.randn(args.batch, cin, size, size)
            t_conv = best_ms(lambda: F.conv2d(x, conv.weight, padding=pad), args.repeat)  # noqa: B023
            dense = WinogradConv2d.from_conv(conv, m)
            t_dense = best_ms(lambda: dense(x), args.repeat)  # noqa: B023
            row = f"{label:<26}{f'F({m},{r})':<8}{t_conv:>8.2f}{t_dense:>8.2f}{t_dense / t_conv:>7.2f}"
            wd = winograd_filter_transform(conv.weight, m)
            for sparsity in SPARSITIES:
                layer = WinogradConv2d.from_winograd_weights(pruned(wd, sparsity), m=m, r=r, padding=pad, sparse=True)
                t_sparse = best_ms(lambda: layer(x), args.repeat)  # noqa: B023
                row += f"{t_sparse:>8.2f}{t_sparse / t_conv:>7.2f}"
            print(row)


if __name__ == "__main__":
    main()
