"""Batch-1 latency: dense vs sparse 512×512 layers and the 8-expert MANN blend at several sparsities.

Run:  python examples/bench_sparse_moe.py [--repeats 300]

Everything runs in one process on one CPU thread (``torch.set_num_threads(1)``), under
``torch.inference_mode()``. Each figure is the median over ``--repeats`` timed calls after a warm-up.
Weights are random (magnitude pruning of random weights gives a random pattern, like a trained net's).

* Single layer: ``F.linear`` on the dense pruned weight vs :class:`compress.sparse.SparseLinear` (CSR).
* MANN (dog setup: 480 → 512 → 512 → 363, 8 experts, gating 19 → 32 → 32 → 8), one frame:
  - dense/stacked: the model's own forward (8 expert products, then the ω mix);
  - dense/blend:   ``W = Σ ω_i W_i`` per layer, then one matrix–vector product (MANN's formulation);
  - sparse/shared: experts pruned with one shared pattern (``SharedPattern(0)``, global L1), blend over
    the stored non-zeros then one CSR product (:class:`compress.sparse.SparseMANN`);
  - sparse/indep.: experts pruned independently (global unstructured L1, the study's setup); their
    union pattern is dense (``union dens.``), so the runtime (mode "auto") multiplies each expert's own
    CSR rows and mixes the 8 outputs instead of blending the values.
  The speed-up is the faster dense variant divided by the sparse one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from torch.nn import functional as F

from compress.prune import PruneConfig, SelectOptions, SharedPattern, Unstructured, prune_
from compress.sparse import SparseLinear, SparseMANN
from compress.zoo.mann import MANN

SPARSITIES = (0.5, 0.7, 0.8, 0.9, 0.95)


def median_us(fns: dict[str, Callable[[], object]], repeats: int, rounds: int = 10) -> dict[str, float]:
    """Median microseconds per call of each function, timed in interleaved rounds (fair under load)."""
    for fn in fns.values():
        for _ in range(max(20, repeats // 10)):
            fn()
    times: dict[str, list[int]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(max(1, repeats // rounds)):
                start = time.perf_counter_ns()
                fn()
                times[name].append(time.perf_counter_ns() - start)
    return {name: statistics.median(samples) / 1e3 for name, samples in times.items()}


def dense_blend_frame(model: MANN, x: torch.Tensor) -> torch.Tensor:
    omega = model.gating(x.index_select(0, model.gating_indices))
    h = x
    for i, layer in enumerate(model.layers):
        weight = torch.tensordot(omega, layer.weight, dims=1)
        h = torch.addmv(omega @ layer.bias, weight, h)
        if i < 2:
            h = F.elu(h)
    return h


def bench_linear(repeats: int) -> None:
    print("\n512x512 linear layer, batch 1 (median us)")
    print(f"{'sparsity':>8}  {'dense':>8}  {'sparse':>8}  {'speed-up':>8}")
    g = torch.Generator().manual_seed(0)
    for sparsity in SPARSITIES:
        layer = torch.nn.Linear(512, 512)
        with torch.no_grad():
            layer.weight.copy_(torch.randn(512, 512, generator=g) * 0.05)
        prune_(layer, PruneConfig(sparsity))
        sparse = SparseLinear.from_dense(layer)
        x = torch.randn(512, generator=g)
        weight, bias = layer.weight.detach(), layer.bias.detach()
        torch.testing.assert_close(sparse(x), F.linear(x, weight, bias), atol=1e-4, rtol=1e-4)
        t = median_us({"dense": lambda: F.linear(x, weight, bias), "sparse": lambda: sparse(x)},  # noqa: B023
                      repeats)
        t_dense, t_sparse = t["dense"], t["sparse"]
        print(f"{sparsity:8.2f}  {t_dense:8.1f}  {t_sparse:8.1f}  {t_dense / t_sparse:7.2f}x")


def pruned_mann(sparsity: float, shared: bool) -> MANN:
    torch.manual_seed(0)
    model = MANN().eval()
    granularity = SharedPattern(0) if shared else Unstructured()
    prune_(model, PruneConfig(sparsity, granularity=granularity, select=SelectOptions(exclude=("gating.*",))))
    return model


def bench_mann(repeats: int) -> None:
    print("\nMANN, 8 experts, hidden 512, one frame (median us)")
    header = (f"{'sparsity':>8}  {'dense/stacked':>13}  {'dense/blend':>11}  {'sparse/shared':>13}  "
              f"{'speed-up':>8}  {'sparse/indep.':>13}  {'union dens.':>11}  {'speed-up':>8}")
    print(header)
    x = torch.randn(480, generator=torch.Generator().manual_seed(1))
    for sparsity in SPARSITIES:
        fns: dict[str, Callable[[], object]] = {}
        density = {}
        for shared in (True, False):
            model = pruned_mann(sparsity, shared)
            runtime = SparseMANN.from_model(model)
            reference = model(x[None])[0]
            torch.testing.assert_close(runtime(x), reference, atol=1e-4, rtol=1e-4)
            torch.testing.assert_close(dense_blend_frame(model, x), reference, atol=1e-4, rtol=1e-4)
            if shared:
                fns["stacked"] = lambda model=model: model(x[None])
                fns["blend"] = lambda model=model: dense_blend_frame(model, x)
            fns["shared" if shared else "indep"] = lambda runtime=runtime: runtime(x)
            density["shared" if shared else "indep"] = runtime.density
        row = median_us(fns, repeats)
        row["density_indep"] = density["indep"]
        dense = min(row["stacked"], row["blend"])
        print(f"{sparsity:8.2f}  {row['stacked']:13.1f}  {row['blend']:11.1f}  {row['shared']:13.1f}  "
              f"{dense / row['shared']:7.2f}x  {row['indep']:13.1f}  {row['density_indep']:11.3f}  "
              f"{dense / row['indep']:7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, torch.get_num_threads() = {torch.get_num_threads()}, "
          f"MKL {torch.backends.mkl.is_available()}, repeats {args.repeats}")
    with torch.inference_mode():
        bench_linear(args.repeats)
        bench_mann(args.repeats)


if __name__ == "__main__":
    main()
