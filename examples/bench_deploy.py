"""Forward time of a model deployed with ``compress.deploy`` in the spatial and the Winograd domain.

Writes a zoo ResNet-20 (random weights: the time does not depend on their values) to ``.dsz`` files whose
3x3 stride-1 convs are marked F(2, 3) and F(4, 3) and whose stored trained Winograd sparsity is 70 %,
deploys each in one call, and times a forward pass of a batch (median and best of ``--repeat``, the models
interleaved so machine load hits them alike), float32, no autograd. Winograd layers run dense
(``sparse=False``, the default) and with their channel mixing as one CSR matmul (``sparse=True``).

    python examples/bench_deploy.py [--batch 128] [--threads 1] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

import formats
from compress import deploy
from compress.deploy_attrs import winograd_attrs
from compress.zoo import get_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = get_model("resnet20").eval()
    tensors = {k: v.numpy() for k, v in net.state_dict().items()}
    recipe = {"report": {"sparsity": {"s_wd_deployed": 0.7}}}
    models = {}
    with tempfile.TemporaryDirectory() as folder:
        for m in (2, 4):
            path = Path(folder) / f"resnet20-f{m}.dsz"
            formats.save(path, tensors, attrs=winograd_attrs(net, {3: m}), metadata={"model": "resnet20"},
                         recipe=recipe, codec="raw")
            models.setdefault("spatial", deploy(path))
            models[f"Winograd F({m},3), dense"] = deploy(path, domain="winograd")
            models[f"Winograd F({m},3), CSR"] = deploy(path, domain="winograd", sparse=True)
    x = torch.randn(args.batch, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.no_grad():
        for model in models.values():
            model(x)
        for _ in range(args.repeat):
            for name, model in models.items():
                start = time.perf_counter()
                model(x)
                times[name].append(time.perf_counter() - start)
    base = statistics.median(times["spatial"])
    print(f"ResNet-20 forward, batch {args.batch}, {args.threads} thread(s), median / best of {args.repeat}:")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<26} {1e3 * median:7.0f} ms / {1e3 * min(values):7.0f} ms  {median / base:5.2f}x spatial")


if __name__ == "__main__":
    main()
