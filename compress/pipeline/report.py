"""The stage report of a pipeline run: quality, sparsity, MACs and sizes, stored in the ``.dsz`` recipe.

Everything is measured on what a runtime gets from the file's bytes: the spatial model holds the
decoded (dither-cancelled) weights; the Winograd model holds ``formats.load(..., domain="winograd",
sparsity=s_wd)``, the decoded filters transformed and pruned with one global threshold. Values:

* ``quality``: the metric (top-1 ``accuracy``, or ``mse`` for regression tasks) of the original model
  (``dense``), of the fine-tuned model before quantization (``finetuned``), and of the spatial
  (``pruned_spatial``) and Winograd (``pruned_winograd``) deployments of the file;
* ``layers``: per weight tensor, its element count and its sparsity in each domain (Winograd only
  for filters marked for Winograd convolution);
* ``macs``: per image, spatial dense / sparse and Winograd dense / sparse
  (:func:`compress.metrics.count_macs`; transforms excluded);
* ``sizes`` in bytes after each stage: ``float32`` (the original), ``sparse`` (non-zero float32
  values + a 1-bit mask for the quantized weights), ``quantized`` (fixed-length symbols + codebook),
  ``coded`` (the ``.dsz`` file before this report was added to it), and ``bits_per_weight``
  (``8 * coded / parameters``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from compress.metrics.accuracy import evaluate
from compress.metrics.macs import count_macs
from compress.pipeline.deploy_eval import load_decoded, sparsity_by_tensor, winograd_deployed
from formats.tensors import QuantizedTensor

__all__ = ["build_report", "evaluate_metric", "format_report", "size_report"]


@torch.no_grad()
def evaluate_metric(model: nn.Module, data: Dataset, loss: str, batch_size: int = 1000) -> float:
    """Top-1 accuracy (``loss == "cross_entropy"``) or mean squared error (``"mse"``) on ``data``.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> evaluate_metric(nn.Identity(), TensorDataset(torch.eye(2), torch.tensor([0, 1])), "cross_entropy")
        1.0
    """
    loader = DataLoader(data, batch_size=batch_size)
    if loss == "cross_entropy":
        return evaluate(model, loader)
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for inputs, targets in loader:
            outputs = model(inputs)
            total += float(torch.nn.functional.mse_loss(outputs, targets, reduction="sum"))
            count += int(targets.numel())
    finally:
        model.train(was_training)
    return total / max(count, 1)


def size_report(state: Mapping[str, torch.Tensor], quantized: Mapping[str, QuantizedTensor], coded: int) -> dict:
    """Bytes after each stage (see the module docstring).

    Example:
        >>> size_report({"b": torch.zeros(3)}, {}, 20)["float32"]
        12
    """
    parameters = float32 = sparse = fixed = 0
    for name, tensor in state.items():
        count = tensor.numel()
        plain = 4 * count if tensor.is_floating_point() else tensor.numel() * tensor.element_size()
        float32 += plain
        parameters += count if tensor.is_floating_point() else 0
        q = quantized.get(name)
        if q is None:
            sparse += plain
            fixed += plain
            continue
        nnz = int(np.count_nonzero(q.symbols != q.zero_symbol))
        sparse += 4 * nnz + math.ceil(count / 8)
        bits = max(1, math.ceil(math.log2(max(int(q.codebook.size), 2))))
        fixed += math.ceil(count * bits / 8) + 4 * int(q.codebook.size)
    return {
        "parameters": parameters,
        "float32": float32,
        "sparse": sparse,
        "quantized": fixed,
        "coded": coded,
        "bits_per_weight": 8 * coded / max(parameters, 1),
        "ratio_vs_float32": float32 / max(coded, 1),
    }


def build_report(
    *,
    model: nn.Module,
    original: nn.Module,
    eval_data: Dataset | None,
    loss: str,
    blob: bytes,
    quantized: Mapping[str, QuantizedTensor],
    s_wd: float,
    m_for_r: Mapping[int, int],
    example_input: torch.Tensor,
    zeta: Mapping[str, float | None],
    finetuned: float | None = None,
    score: Callable[[nn.Module], float] | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """Measure the file ``blob`` against the original model (see the module docstring for the keys).

    Args:
        model: the fine-tuned network (architecture for the deployments; its non-quantized tensors).
        original: the network before fine-tuning.
        eval_data: evaluation examples.
        loss: the task loss (decides the metric).
        blob: the ``.dsz`` bytes.
        quantized: the tuned quantized weights written in ``blob``.
        s_wd: Winograd-domain deployment sparsity.
        m_for_r: Winograd tiles.
        example_input: one input with a batch axis for MAC counting.
        zeta: final ζ values to record (``None`` for an unregularized domain).
        finetuned: the float model's metric measured right after fine-tuning (default: measure
            ``model`` now; codebook tuning with ``batchnorm = "train"`` has changed its BatchNorm
            statistics by then, so the runner measures it before).
        score: the caller's own evaluation (model -> number) instead of ``eval_data`` and ``loss``.
        metric: the name of ``score``'s number in the report (default ``"accuracy"`` with ``score``).

    Returns:
        The report map (plain values; deterministic).
    """
    import formats

    spatial = formats.load(blob)
    winograd = formats.load(blob, domain="winograd", sparsity=s_wd)
    with formats.open_dsz(blob) as reader:
        marked = [r.name for r in reader.records if "winograd" in r.attrs]
    spatial_model = load_decoded(model, spatial)
    winograd_model = winograd_deployed(model, winograd, m_for_r)
    if score is None:
        if eval_data is None:
            raise ValueError("build_report needs eval_data or a score function")
        data = eval_data

        def score(net: nn.Module) -> float:
            return evaluate_metric(net, data, loss)

        metric = "accuracy" if loss == "cross_entropy" else "mse"
    quality = {
        "metric": metric or "accuracy",
        "dense": score(original),
        "finetuned": score(model) if finetuned is None else finetuned,
        "pruned_spatial": score(spatial_model),
        "pruned_winograd": score(winograd_model),
    }
    sp = sparsity_by_tensor(spatial, list(quantized))
    wd = sparsity_by_tensor(winograd, marked)
    layers = {
        name: {"elements": int(spatial[name].size), "spatial": sp[name], "winograd": wd.get(name)}
        for name in quantized
    }
    overrides = {name[: -len(".weight")]: torch.from_numpy(np.array(winograd[name])) for name in marked}
    dense = count_macs(original, example_input, m_for_r=m_for_r)
    pruned = count_macs(spatial_model, example_input, m_for_r=m_for_r, winograd_weights=overrides)
    macs = {
        "spatial_dense": dense.spatial_dense,
        "spatial_sparse": pruned.spatial_sparse,
        "winograd_dense": dense.winograd_dense,
        "winograd_sparse": pruned.winograd_sparse,
    }
    total_sp = sum(sp[n] * layers[n]["elements"] for n in sp) / max(sum(layers[n]["elements"] for n in sp), 1)
    total_wd = sum(wd[n] * winograd[n].size for n in wd) / max(sum(winograd[n].size for n in wd), 1)
    return {
        "quality": quality,
        "sparsity": {"spatial": total_sp, "winograd": total_wd if wd else None, "s_wd_deployed": s_wd},
        "layers": layers,
        "macs": macs,
        "sizes": size_report(model.state_dict(), quantized, len(blob)),
        "zeta": dict(zeta),
    }


def format_report(report: Mapping[str, Any]) -> list[str]:
    """Human-readable lines of a report (for the CLI).

    Example:
        >>> format_report({"quality": {"metric": "mse", "dense": 1.0, "finetuned": 1.0, "pruned_spatial": 1.0,
        ...   "pruned_winograd": 1.0}, "layers": {}, "sparsity": {"spatial": 0.0, "winograd": None},
        ...   "macs": {"spatial_dense": 1, "spatial_sparse": 1, "winograd_dense": 1, "winograd_sparse": 1},
        ...   "sizes": {"float32": 4, "sparse": 4, "quantized": 4, "coded": 2, "bits_per_weight": 16.0,
        ...   "parameters": 1, "ratio_vs_float32": 2.0}})[0]
        'mse: dense 1.0000 | fine-tuned 1.0000 | pruned spatial 1.0000 | pruned Winograd 1.0000'
    """
    q, s, m, z = report["quality"], report["sizes"], report["macs"], report["sparsity"]
    lines = [
        f"{q['metric']}: dense {q['dense']:.4f} | fine-tuned {q['finetuned']:.4f} | pruned spatial "
        f"{q['pruned_spatial']:.4f} | pruned Winograd {q['pruned_winograd']:.4f}"
    ]
    lines.append(f"{'layer':<28}{'elements':>10}{'spatial':>10}{'Winograd':>10}")
    for name, layer in report["layers"].items():
        wd = "-" if layer["winograd"] is None else f"{layer['winograd']:.1%}"
        lines.append(f"{name[:28]:<28}{layer['elements']:>10,}{layer['spatial']:>10.1%}{wd:>10}")
    wd_total = "-" if z["winograd"] is None else f"{z['winograd']:.1%}"
    lines.append(f"{'all weights':<38}{z['spatial']:>10.1%}{wd_total:>10}")
    lines.append(
        f"MACs/image: spatial {m['spatial_dense']:,} dense -> {m['spatial_sparse']:,} sparse; Winograd "
        f"{m['winograd_dense']:,} dense -> {m['winograd_sparse']:,} sparse "
        f"({m['spatial_dense'] / max(m['winograd_sparse'], 1):.2f}x fewer than dense spatial)"
    )
    lines.append(
        f"size: float32 {s['float32']:,} B -> sparse {s['sparse']:,} B -> quantized {s['quantized']:,} B -> "
        f"coded {s['coded']:,} B ({s['ratio_vs_float32']:.1f}x, {s['bits_per_weight']:.3f} bits/weight)"
    )
    return lines
