"""Stage 4a: dithered uniform quantization (eq. 6) of the fine-tuned spatial weights.

Uses :func:`formats.quantize.quantize_dithered` so the training side and the file agree bit for bit.
One Δ for every quantized weight (the paper's setting: ``config.step``, or derived from ``config.bits``
over all weights together), or one Δ per tensor (``config.per_layer``); ``config.tensor_bits`` gives
chosen tensors their own Δ from their own peak and bit budget. Weights rounded to level 0 are pruned
for good: their symbol is the zero symbol and codebook fine-tuning never revives them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from compress.errors import RecipeError
from compress.pipeline.config import CodebookConfig
from compress.pipeline.thresholds import concat_magnitudes, percentile_threshold
from formats.quantize import quantize_dithered, step_for_bits
from formats.tensors import QuantizedTensor

__all__ = ["prune_smallest", "quantize_weights", "quantization_steps"]


def quantization_steps(weights: dict[str, np.ndarray], config: CodebookConfig) -> dict[str, float]:
    """Δ per tensor name under ``config``.

    Tensors with a ``tensor_bits`` override get ``step_for_bits(own weights, override)``; the shared Δ
    of the others (``step``, or ``bits`` over their common peak) ignores the overridden tensors.

    Example:
        >>> quantization_steps({"a": np.array([1.0]), "b": np.array([-3.0])}, CodebookConfig(bits=3))
        {'a': 1.2000000476837158, 'b': 1.2000000476837158}
        >>> quantization_steps({"a": np.array([1.0]), "b": np.array([-3.0])},
        ...                    CodebookConfig(bits=3, tensor_bits=(("a", 2),)))
        {'a': 2.0, 'b': 1.2000000476837158}
    """
    own = {name: config.bits_for(name) for name in weights}
    steps = {name: step_for_bits(weights[name], bits) for name, bits in own.items() if bits is not None}
    rest = {name: w for name, w in weights.items() if own[name] is None}
    if config.step is not None:
        steps.update({name: float(np.float32(config.step)) for name in rest})
    elif config.per_layer:
        steps.update({name: step_for_bits(w, int(config.bits or 0)) for name, w in rest.items()})
    elif rest:
        peak = max(float(np.max(np.abs(w), initial=0.0)) for w in rest.values())
        shared = step_for_bits(np.array([peak]), int(config.bits or 0))
        steps.update({name: shared for name in rest})
    return {name: steps[name] for name in weights}


def prune_smallest(model: nn.Module, names: Sequence[str], fraction: float) -> float:
    """Set to zero, in place, the ``fraction`` of the named weights smallest in magnitude (one global θ).

    Exactly ``floor(fraction · N)`` weights are at or below θ when magnitudes are distinct (ties at θ are
    all pruned). Returns θ (``-inf`` when nothing is pruned).

    Example:
        >>> net = nn.Linear(4, 1)
        >>> _ = net.weight.data.copy_(torch.tensor([[0.1, -0.4, 0.3, -0.2]]))
        >>> prune_smallest(net, ["weight"], 0.5), net.weight.tolist()
        (0.20000000298023224, [[0.0, -0.4000000059604645, 0.30000001192092896, 0.0]])
    """
    if fraction <= 0:
        return float("-inf")
    params = dict(model.named_parameters())
    tensors = [params[n] for n in names]
    threshold = percentile_threshold(concat_magnitudes(tensors), fraction)
    with torch.no_grad():
        for t in tensors:
            t.masked_fill_(t.abs() <= threshold, 0.0)
    return threshold


def quantize_weights(model: nn.Module, names: Sequence[str], config: CodebookConfig) -> dict[str, QuantizedTensor]:
    """Quantize the named parameters of ``model`` with dither (eq. 6).

    Args:
        model: the fine-tuned network.
        names: parameter names to quantize (usually all conv/linear weights).
        config: step or bit budget, per-layer flag, dither seed.

    Returns:
        name -> :class:`QuantizedTensor` (dither stream derived from the name).

    Example:
        >>> q = quantize_weights(nn.Linear(3, 2), ["weight"], CodebookConfig(step=0.1))
        >>> q["weight"].shape
        (2, 3)
    """
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise RecipeError(f"cannot quantize {missing[:3]}: not parameters of the model")
    weights = {n: params[n].detach().cpu().float().numpy() for n in names}
    steps = quantization_steps(weights, config)
    return {n: quantize_dithered(w, steps[n], seed=config.seed, name=n) for n, w in weights.items()}
