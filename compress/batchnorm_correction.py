"""Correct BatchNorm running statistics for the error that quantizing the weights adds.

Quantization noise shifts and rescales what reaches each BatchNorm: its stored running mean and
variance, computed on the float network during training, no longer normalise the quantized
network's activations. :func:`correct_batchnorm` measures, on the same calibration inputs, each
BatchNorm's input mean ``μ`` and variance ``v`` per channel in the float network (``f``) and in
the quantized one (``q``), and moves the stored statistics ``(m, r)`` so that the quantized
network normalises as the float one does::

    a  = sqrt((v_q + ε) / (v_f + ε))
    m' = μ_q + a · (m - μ_f)
    r' = a² · (r + ε) - ε           (at least 0)

BatchNorms are corrected in the order they run, each after the ones before it, in one forward
pass of the quantized network over all calibration inputs. Only the statistics the file stores
anyway change: the weights, and so the file's size, stay as they are. Unlike re-estimating the
statistics from scratch, this keeps what the training statistics knew and corrects only by the
difference the quantization makes, so a few hundred images suffice.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from compress.entry_points import load_weights
from compress.pipeline.batchnorm import BATCHNORM_TYPES

log = logging.getLogger(__name__)


def correct_batchnorm(model: nn.Module, original: Mapping[str, torch.Tensor | np.ndarray],
                      quantized: Mapping[str, torch.Tensor | np.ndarray], inputs: torch.Tensor
                      ) -> dict[str, torch.Tensor]:
    """Corrected ``running_mean`` / ``running_var`` of every BatchNorm of the network ``quantized``.

    Args:
        model: the architecture (not modified; copies get the weights).
        original: the float state_dict.
        quantized: the state_dict of the quantized network (e.g. the decoded weights and the rest).
        inputs: calibration inputs, one batch (e.g. 512 training images); the corrected statistics
            are a function of these inputs, so the same inputs give the same statistics.

    Returns:
        ``{"<bn>.running_mean": tensor, "<bn>.running_var": tensor, ...}`` (float32), for every
        BatchNorm that tracks running statistics; empty when there is none.

    Example:
        >>> net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)).eval()
        >>> state = net.state_dict()
        >>> half = {**state, "0.weight": state["0.weight"] * 0.5, "0.bias": state["0.bias"] * 0.5}
        >>> fixed = correct_batchnorm(net, state, half, torch.randn(64, 4))
        >>> sorted(fixed), [round(float(v), 4) for v in fixed["1.running_var"] / (state["1.running_var"] + 1e-5)]
        (['1.running_mean', '1.running_var'], [0.25, 0.25, 0.25])
    """
    reference = load_weights(copy.deepcopy(model), original, "the original weights").eval()
    target = load_weights(copy.deepcopy(model), quantized, "the quantized weights").eval()
    norms = {name: m for name, m in target.named_modules()
             if isinstance(m, BATCHNORM_TYPES) and m.track_running_stats and m.running_mean is not None}
    if not norms:
        return {}
    measured = _input_statistics(reference, set(norms), inputs)
    corrected: dict[str, torch.Tensor] = {}

    def correct(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        name = names[module]
        mean_q, var_q = _channel_statistics(args[0])
        mean_f, var_f = measured[name]
        eps = float(module.eps)
        scale = torch.sqrt((var_q + eps) / (var_f + eps))
        running_mean = module.running_mean.double()
        running_var = module.running_var.double()
        new_mean = mean_q + scale * (running_mean - mean_f)
        new_var = torch.clamp(scale**2 * (running_var + eps) - eps, min=0.0)
        module.running_mean.copy_(new_mean.to(module.running_mean.dtype))
        module.running_var.copy_(new_var.to(module.running_var.dtype))
        corrected[f"{name}.running_mean"] = module.running_mean.detach().clone()
        corrected[f"{name}.running_var"] = module.running_var.detach().clone()

    names = {module: name for name, module in norms.items()}
    handles = [module.register_forward_pre_hook(correct) for module in norms.values()]
    try:
        with torch.no_grad():
            target(inputs)
    finally:
        for handle in handles:
            handle.remove()
    missed = sorted(set(norms) - {k.rsplit(".", 1)[0] for k in corrected})
    if missed:
        log.warning("BatchNorm layers the calibration inputs never reached, left as they were: %s",
                    ", ".join(missed[:5]))
    return corrected


def _input_statistics(model: nn.Module, wanted: set[str], inputs: torch.Tensor
                      ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = []
    for name, module in model.named_modules():
        if name in wanted:
            def record(_module: nn.Module, args: tuple[torch.Tensor, ...], name: str = name) -> None:
                stats[name] = _channel_statistics(args[0])
            handles.append(module.register_forward_pre_hook(record))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return stats


def _channel_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (biased) variance per channel (axis 1) in float64."""
    flat = x.detach().double().transpose(0, 1).reshape(x.shape[1], -1)
    mean = flat.mean(dim=1)
    var = ((flat - mean[:, None]) ** 2).mean(dim=1)
    return mean, var
