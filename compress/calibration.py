"""Correct BatchNorm running statistics and biases for the error that quantizing the weights adds.

Quantization noise shifts and rescales activations: the stored BatchNorm statistics, computed on
the float network in training, no longer normalise the quantized network's activations, and the
outputs of layers without BatchNorm drift by a systematic offset. :func:`correct_for_quantization`
runs the float and the quantized network on the same calibration inputs and corrects, in the order
the layers run, each one after those before it (one forward pass of the quantized network):

* every BatchNorm: from its input mean ``μ`` and variance ``v`` per channel, float (``f``) and
  quantized (``q``), its stored statistics ``(m, r)`` move so that it normalises the quantized
  network as it did the float one::

      a  = sqrt((v_q + ε) / (v_f + ε))
      m' = μ_q + a · (m - μ_f)
      r' = a² · (r + ε) - ε           (at least 0)

* every convolution or linear layer with a bias: the bias loses the mean shift of its output per
  output channel, ``b' = b - (E[y_q] - E[y_f])`` (bias correction).

Only tensors the file stores anyway change: the weights, and so the file's size, stay as they are.
Unlike re-estimating statistics from scratch, this keeps what training measured and corrects only by
the difference quantization makes, so a few hundred inputs suffice.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from compress.entry_points import load_weights
from compress.pipeline.batchnorm import BATCHNORM_TYPES

log = logging.getLogger(__name__)

_BIASED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def correct_for_quantization(model: nn.Module, original: Mapping[str, torch.Tensor | np.ndarray],
                             quantized: Mapping[str, torch.Tensor | np.ndarray], inputs: torch.Tensor
                             ) -> dict[str, torch.Tensor]:
    """Corrected BatchNorm statistics and biases of the network ``quantized``.

    Args:
        model: the architecture (not modified; copies get the weights).
        original: the float state_dict.
        quantized: the state_dict of the quantized network (e.g. the decoded weights and the rest).
        inputs: calibration inputs, one batch (e.g. 512 training images); the result is a function
            of these inputs, so the same inputs give the same tensors.

    Returns:
        ``{"<bn>.running_mean": ..., "<bn>.running_var": ..., "<layer>.bias": ...}`` for every
        BatchNorm that tracks running statistics and every conv / linear layer with a bias that the
        inputs reach; empty when there is none.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).eval()
        >>> state = net.state_dict()
        >>> half = {**state, "0.weight": state["0.weight"] * 0.5, "0.bias": state["0.bias"] * 0.5}
        >>> fixed = correct_for_quantization(net, state, half, torch.randn(64, 4))
        >>> sorted(fixed), [round(float(v), 4) for v in fixed["1.running_var"] / (state["1.running_var"] + 1e-5)]
        (['0.bias', '1.running_mean', '1.running_var'], [0.25, 0.25, 0.25])
    """
    reference = load_weights(copy.deepcopy(model), original, "the original weights").eval()
    target = load_weights(copy.deepcopy(model), quantized, "the quantized weights").eval()
    norms = {name for name, m in target.named_modules()
             if isinstance(m, BATCHNORM_TYPES) and m.track_running_stats and m.running_mean is not None}
    biased = {name for name, m in target.named_modules() if isinstance(m, _BIASED) and m.bias is not None}
    if not norms and not biased:
        return {}
    measured = _reference_statistics(reference, norms, biased, inputs)
    corrected: dict[str, torch.Tensor] = {}
    names = {module: name for name, module in target.named_modules()}

    def correct_norm(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        name = names[module]
        mean_q, var_q = _channel_statistics(args[0], _channel_axis(module, args[0]))
        mean_f, var_f = measured[name]
        eps = float(module.eps)
        scale = torch.sqrt((var_q + eps) / (var_f + eps))
        new_mean = mean_q + scale * (module.running_mean.double() - mean_f)
        new_var = torch.clamp(scale**2 * (module.running_var.double() + eps) - eps, min=0.0)
        module.running_mean.copy_(new_mean.to(module.running_mean.dtype))
        module.running_var.copy_(new_var.to(module.running_var.dtype))
        corrected[f"{name}.running_mean"] = module.running_mean.detach().clone()
        corrected[f"{name}.running_var"] = module.running_var.detach().clone()

    def correct_bias(module: nn.Module, _args: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor:
        name = names[module]
        axis = _channel_axis(module, output)
        shift = _channel_statistics(output, axis)[0] - measured[name][0]
        module.bias.data -= shift.to(module.bias.dtype)
        corrected[f"{name}.bias"] = module.bias.detach().clone()
        return output - _per_channel(shift.to(output.dtype), output, axis)

    _run_hooked(target, inputs, {n: m.register_forward_pre_hook(correct_norm) for n, m in target.named_modules()
                                 if n in norms} | {n: m.register_forward_hook(correct_bias)
                                                   for n, m in target.named_modules() if n in biased})
    reached = {key.rsplit(".", 1)[0] for key in corrected}
    missed = sorted((norms | biased) - reached)
    if missed:
        log.warning("layers the calibration inputs never reached, left as they were: %s", ", ".join(missed[:5]))
    return corrected


def _reference_statistics(model: nn.Module, norms: set[str], biased: set[str], inputs: torch.Tensor
                          ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per channel: BatchNorm input mean/variance, conv/linear output mean (and variance), float network."""
    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = {}
    for name, module in model.named_modules():
        if name in norms:
            def before(module: nn.Module, args: tuple[torch.Tensor, ...], name: str = name) -> None:
                stats[name] = _channel_statistics(args[0], _channel_axis(module, args[0]))
            handles[name] = module.register_forward_pre_hook(before)
        elif name in biased:
            def after(module: nn.Module, _args: tuple[torch.Tensor, ...], output: torch.Tensor,
                      name: str = name) -> None:
                stats[name] = _channel_statistics(output, _channel_axis(module, output))
            handles[name] = module.register_forward_hook(after)
    _run_hooked(model, inputs, handles)
    return stats


def _run_hooked(model: nn.Module, inputs: torch.Tensor, handles: Mapping[str, RemovableHandle]) -> None:
    """One forward pass without gradients, then the hooks ``handles`` are removed (also on error)."""
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles.values():
            handle.remove()


def _channel_axis(module: nn.Module, x: torch.Tensor) -> int:
    """Where the channels are: the last axis of a linear layer's output, else axis 1 (conv, BatchNorm)."""
    return x.dim() - 1 if isinstance(module, nn.Linear) or x.dim() == 1 else 1


def _channel_statistics(x: torch.Tensor, axis: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (biased) variance per channel (``axis``), returned in float64.

    Computed in the activations' own precision (torch's reductions sum pairwise, so float32 keeps ~7 digits
    over millions of values) without a float64 copy of the activations, which cost more than the forward pass.
    """
    dims = [d for d in range(x.dim()) if d != axis]
    var, mean = torch.var_mean(x.detach(), dim=dims, correction=0)
    return mean.double(), var.double()


def _per_channel(values: torch.Tensor, like: torch.Tensor, axis: int) -> torch.Tensor:
    """``values`` (one per channel) shaped to broadcast against ``like`` along ``axis``."""
    shape = [1] * like.dim()
    shape[axis] = -1
    return values.reshape(shape)
