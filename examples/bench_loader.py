"""Deploy-time loader throughput: decode + dequantize, in MB/s of float32 output, per codec.

Compresses real checkpoints (post-training, dithered 5-bit quantization) once per codec, then times
``formats.load`` on the resulting file (the batched path: ``Reader.read_many`` decodes every rANS and
rANS-ZS payload of the file in one loop) and, for comparison, a per-tensor ``Reader.read`` loop (best of
``--repeats``, wall clock), in this one process. numpy's element-wise work is single-threaded, so the
figures are per core.

    python examples/bench_loader.py [--data ../shared/data] [--repeats 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import formats
from compress.checkpoints import load_state_dict
from compress.post_training import PostTrainingConfig, compress_state_dict

CHECKPOINTS = {
    "LeNet-5": "mnist-lenet-dhl0917/LeNet_MNIST_params.pkl",
    "ResNet-56": "cifar10-resnet-akamaster/resnet56-4bfd9763.th",
}
CODECS = ("raw", "zstd", "rans", "rans-zs", "auto")


def _synthetic(n: int) -> dict[str, torch.Tensor]:
    """One large 80%-sparse-after-quantization layer, to see the steady-state rate."""
    generator = torch.Generator().manual_seed(0)
    return {"big.weight": torch.randn(n // 1024, 1024, generator=generator) * 0.02}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--bits", type=int, default=5)
    args = parser.parse_args()

    models = {name: load_state_dict(args.data / rel) for name, rel in CHECKPOINTS.items()}
    models["synthetic 4M"] = _synthetic(4 * 1024 * 1024)
    print(f"{'model':<14} {'codec':<8} {'file bytes':>11} {'float32 MB':>10} {'load s':>8} {'MB/s':>8} "
          f"{'per-tensor MB/s':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for model, state in models.items():
            for codec in CODECS:
                path = Path(tmp) / f"{model.replace(' ', '_')}-{codec}.dsz"
                compress_state_dict(state, path, PostTrainingConfig(bits=args.bits, codec=codec))
                best = _best(args.repeats, lambda p=path: formats.load(p))
                one = _best(args.repeats, lambda p=path: _per_tensor(p))
                tensors = formats.load(path)
                out_mb = sum(np.asarray(t).nbytes for t in tensors.values()) / 1e6
                print(f"{model:<14} {codec:<8} {path.stat().st_size:>11,} {out_mb:>10.2f} {best:>8.4f} "
                      f"{out_mb / best:>8.1f} {out_mb / one:>15.1f}")


def _best(repeats: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _per_tensor(path: Path) -> dict[str, np.ndarray]:
    with formats.open_dsz(path) as reader:
        return {name: reader.read(name, widen_bfloat16=True) for name in reader.names}


if __name__ == "__main__":
    main()
