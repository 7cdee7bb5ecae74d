"""BatchNorm during compression: frozen statistics, and folding into the preceding convolution.

Three modes (``finetune.batchnorm`` in a recipe):

* ``"train"``: BatchNorm layers run in training mode during fine-tuning and codebook tuning (batch
  statistics, running statistics updated). Codebook tuning then re-estimates the running statistics
  for the quantized weights, and the float model's own statistics are lost.
* ``"frozen"``: BatchNorm layers use and keep their running statistics (eval mode) in every stage;
  their affine weight and bias are still trained.
* ``"fold"``: fine-tuning in training mode, as ``"train"``; then (after ``quantize.prune``, if any)
  the running statistics are re-estimated on :data:`RECALIBRATION_BATCHES` training batches and
  every BatchNorm that directly follows a convolution is folded into it, keeping the architecture
  (the state_dict keys and shapes do not change): the convolution's weight (and bias) is scaled per
  output channel by ``γ / sqrt(σ² + ε)``, and the BatchNorm becomes ``running_mean = 0``,
  ``running_var = 1``, ``weight = sqrt(1 + ε)`` and ``bias = β - γ μ / sqrt(σ² + ε)``: an identity
  plus a shift. The quantizer sees the weights the deployed network effectively multiplies by, codebook
  tuning keeps the folded BatchNorm frozen, and the file carries, per BatchNorm, one shift vector and
  three constant vectors that code to a few bytes, instead of four float32 vectors.

Why this order (measured on ResNet-20, ``examples/study/LOG.md``): folded before fine-tuning, the
regularizers' one global threshold pruned the small-γ convolutions before each residual sum whole
(99.6-100 % zero, 18 % accuracy); with statistics frozen while the regularizers shrink most weights,
activations fade layer after layer and the network collapsed (distillation loss 0.03 -> 5.6); in
training mode the batch statistics follow the shrinking weights.

A pair is folded only when the network's output does not change (checked on an example input, in
eval mode): a convolution whose output also feeds another layer than its BatchNorm is left alone.

Example:
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    >>> _ = net[1].running_var.fill_(4.0)
    >>> fold_batchnorm(net, torch.randn(1, 1, 5, 5))
    [('0', '1')]
    >>> float(net[1].running_var[0])
    1.0
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import torch
from torch import nn

from compress.errors import RecipeError, check_choice
from compress.tracing import trace_forward

__all__ = ["BATCHNORM_MODES", "BATCHNORM_TYPES", "RECALIBRATION_BATCHES", "check_batchnorm_mode",
           "conv_batchnorm_pairs", "fold_batchnorm", "freeze_batchnorm", "recalibrate_batchnorm"]

log = logging.getLogger(__name__)

BATCHNORM_MODES = ("train", "frozen", "fold")
"""What happens to BatchNorm layers during compression (see the module docstring)."""

RECALIBRATION_BATCHES = 40
"""Training batches whose statistics replace the running ones before folding (``"fold"`` mode)."""

BATCHNORM_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
"""The BatchNorm layers this module folds, freezes and re-estimates."""
_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_TOLERANCE = 1e-4  # largest change of any output, relative to the output's peak, that a fold may make


def check_batchnorm_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`BATCHNORM_MODES`, else a :class:`RecipeError`.

    Example:
        >>> check_batchnorm_mode("fold")
        'fold'
    """
    return check_choice("batchnorm", mode, BATCHNORM_MODES)


def freeze_batchnorm(model: nn.Module) -> int:
    """Put every BatchNorm layer of ``model`` in eval mode (running statistics used, not updated).

    Call it after ``model.train()``, which puts them back in training mode. Returns how many.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).train()
        >>> freeze_batchnorm(net), net[1].training, net[0].training
        (1, False, True)
    """
    count = 0
    for module in model.modules():
        if isinstance(module, BATCHNORM_TYPES):
            module.eval()
            count += 1
    return count


def recalibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> int:
    """Replace every BatchNorm's running statistics by their average over ``batches`` (inputs only).

    The statistics are reset and accumulated with equal weight per batch (``momentum = None``), in
    training mode without gradients; the model's mode and momenta are restored. Returns how many
    BatchNorm layers were re-estimated.

    Example:
        >>> net = nn.Sequential(nn.Identity(), nn.BatchNorm1d(2))
        >>> recalibrate_batchnorm(net, [torch.full((8, 2), 5.0), torch.full((8, 2), 3.0)]), net[1].running_mean.tolist()
        (1, [4.0, 4.0])
    """
    norms = [m for m in model.modules() if isinstance(m, BATCHNORM_TYPES) and m.track_running_stats]
    momenta = [m.momentum for m in norms]
    was_training = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    try:
        with torch.no_grad():
            for inputs in batches:
                model(inputs)
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        model.train(was_training)
    return len(norms)


def conv_batchnorm_pairs(model: nn.Module, example_input: torch.Tensor) -> list[tuple[str, str]]:
    """``(conv name, BatchNorm name)`` for every BatchNorm whose input is a convolution's output.

    Found by running ``example_input`` through the model once (eval mode, no gradients), so it works
    for any architecture, not only ``nn.Sequential`` chains.

    Example:
        >>> conv_batchnorm_pairs(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), torch.randn(1, 1, 4, 4))
        [('0', '1')]
    """
    produced: dict[int, str] = {}
    pairs: list[tuple[str, str]] = []
    handles = []
    names = {module: name for name, module in model.named_modules()}

    def after_conv(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        produced[id(output)] = names[module]

    def before_norm(module: nn.Module, inputs: tuple) -> None:
        conv = produced.get(id(inputs[0]))
        if conv is not None and module.track_running_stats and module.running_var is not None:
            pairs.append((conv, names[module]))

    for module in model.modules():
        if isinstance(module, _CONVS):
            handles.append(module.register_forward_hook(after_conv))
        elif isinstance(module, BATCHNORM_TYPES):
            handles.append(module.register_forward_pre_hook(before_norm))
    trace_forward(model, example_input, handles)
    unique = {norm: conv for conv, norm in pairs}
    return [(conv, norm) for norm, conv in unique.items()]


def fold_batchnorm(model: nn.Module, example_input: torch.Tensor) -> list[tuple[str, str]]:
    """Fold every BatchNorm that follows a convolution into it, in place, keeping the architecture.

    Args:
        model: the network (any mode; restored afterwards).
        example_input: one batch of inputs, used to find the pairs and to check each fold.

    Returns:
        The folded ``(conv name, BatchNorm name)`` pairs. A pair whose fold would change the network's
        output (the convolution's output is used elsewhere too) is restored and left out, with a warning.

    Raises:
        RecipeError: a BatchNorm statistic is not finite or a variance is negative.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
        >>> len(fold_batchnorm(net, torch.randn(1, 1, 4, 4)))
        1
    """
    was_training = model.training
    model.eval()
    modules = dict(model.named_modules())
    folded: list[tuple[str, str]] = []
    try:
        with torch.no_grad():
            reference = model(example_input)
            scale = float(reference.abs().max()) or 1.0
            for conv_name, norm_name in conv_batchnorm_pairs(model, example_input):
                conv, norm = modules[conv_name], modules[norm_name]
                saved = _snapshot(conv, norm)
                _fold_pair(conv, norm, norm_name)
                change = float((model(example_input) - reference).abs().max())
                if not change <= _TOLERANCE * scale:
                    _restore(conv, norm, saved)
                    log.warning("not folding %s into %s: the network's output changed by %.3g (its output feeds "
                                "another layer too)", norm_name, conv_name, change)
                    continue
                folded.append((conv_name, norm_name))
    finally:
        model.train(was_training)
    log.info("folded %d BatchNorm layers into their convolutions", len(folded))
    return folded


def _fold_pair(conv: nn.Module, norm: nn.Module, norm_name: str) -> None:
    mean, var = norm.running_mean.double(), norm.running_var.double()
    gamma = norm.weight.double() if norm.weight is not None else torch.ones_like(mean)
    beta = norm.bias.double() if norm.bias is not None else torch.zeros_like(mean)
    if not (torch.isfinite(mean).all() and torch.isfinite(var).all() and bool((var >= 0).all())):
        raise RecipeError(f"BatchNorm {norm_name} has non-finite or negative running statistics; cannot fold it")
    if norm.bias is None and conv.bias is None:
        raise RecipeError(f"BatchNorm {norm_name} has no bias and its convolution none either; cannot fold the shift")
    factor = gamma / torch.sqrt(var + norm.eps)
    shape = (-1,) + (1,) * (conv.weight.dim() - 1)
    conv.weight.copy_((conv.weight.double() * factor.reshape(shape)).to(conv.weight.dtype))
    shift = beta - factor * mean
    if conv.bias is not None:
        shift = shift + factor * conv.bias.double()
        conv.bias.zero_()
    norm.running_mean.zero_()
    norm.running_var.fill_(1.0)
    if norm.weight is not None:
        norm.weight.fill_(math.sqrt(1.0 + norm.eps))
    else:
        # without an affine weight the identity needs var + eps == 1
        norm.running_var.fill_(1.0 - norm.eps)
    if norm.bias is not None:
        norm.bias.copy_(shift.to(norm.bias.dtype))
    else:
        conv.bias.copy_(shift.to(conv.bias.dtype))


def _snapshot(*modules: nn.Module) -> list[dict[str, torch.Tensor]]:
    return [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in modules]


def _restore(conv: nn.Module, norm: nn.Module, saved: list[dict[str, torch.Tensor]]) -> None:
    conv.load_state_dict(saved[0])
    norm.load_state_dict(saved[1])
