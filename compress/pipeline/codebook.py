"""Stage 4b: codebook fine-tuning of dithered-quantized weights (the paper's section 4).

Each quantized weight decodes as ``codebook[s_i] - U_i`` (0 for the zero symbol). The shared values
``codebook[k]`` are trained with the cost ``C = E + e^ζ_WD R_WD - α ζ_WD`` (R_WD on the decoded weights,
ζ_WD learnable): autograd gives ``Σ_{i: s_i = k} ∂C/∂w_i`` for each shared value, which is divided by the
symbol's count to give the AVERAGE gradient of its weights, then fed to Adam. The zero symbol gets no
gradient and its value stays exactly 0, so the pruned set never changes; this is checked after every step
(:class:`~compress.pipeline.errors.PipelineInvariantError` otherwise). Symbols, step and dither never change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from compress.pipeline.batches import cycle_batches
from compress.pipeline.batchnorm import freeze_batchnorm
from compress.pipeline.coefficients import LearnableCoefficients
from compress.pipeline.config import CodebookConfig
from compress.pipeline.errors import PipelineInvariantError
from compress.pipeline.losses import network_loss
from compress.pipeline.regularizers import winograd_regularizer
from compress.pipeline.targets import SparsityTargets
from formats.dither import dither_values
from formats.tensors import QuantizedTensor

__all__ = ["CodebookResult", "CodebookStep", "TorchQuantized", "tune_codebooks"]

log = logging.getLogger(__name__)


class TorchQuantized(nn.Module):
    """A :class:`QuantizedTensor` on the torch side, with its codebook as a trainable parameter.

    Example:
        >>> from formats.quantize import quantize_dithered
        >>> tq = TorchQuantized(quantize_dithered(np.array([0.0, 0.5, -0.5]), 0.25, seed=0, name="w"))
        >>> float(tq.decoded().detach()[0])
        0.0
    """

    def __init__(self, q: QuantizedTensor) -> None:
        super().__init__()
        self.source = q
        flat = np.asarray(q.symbols).reshape(-1).astype(np.int64)
        self.register_buffer("symbols", torch.from_numpy(flat))
        self.register_buffer("dither", torch.from_numpy(dither_values(q.dither, q.step, flat.size).copy()))
        self.register_buffer("keep", self.symbols != q.zero_symbol)
        counts = torch.bincount(self.symbols, minlength=q.codebook.size).to(torch.float32)
        self.register_buffer("counts", counts)
        self.zero_symbol = int(q.zero_symbol)
        self.codebook = nn.Parameter(torch.from_numpy(np.asarray(q.codebook, dtype=np.float32).copy()))
        self._initial_keep = self.keep.clone()

    def decoded(self) -> torch.Tensor:
        """Decoded weights ``codebook[s] - U`` (float32 subtraction; exactly 0 where pruned), shaped."""
        values = torch.where(self.keep, self.codebook[self.symbols] - self.dither, torch.zeros_like(self.dither))
        return values.reshape(self.source.shape)

    def average_gradient_(self) -> None:
        """Turn the summed gradient of each shared value into its weights' average; zero symbol gets 0."""
        if self.codebook.grad is not None:
            self.codebook.grad.div_(self.counts.clamp(min=1.0))
            self.codebook.grad[self.zero_symbol] = 0.0

    def check_invariants(self) -> None:
        """Raise :class:`PipelineInvariantError` if the pruned set or the zero value changed."""
        with torch.no_grad():
            self.codebook[self.zero_symbol] = 0.0  # Adam with zero gradient moves nothing; make it exact anyway.
            now_kept = self.symbols != self.zero_symbol
            if not torch.equal(self.keep, self._initial_keep) or not torch.equal(now_kept, self._initial_keep):
                raise PipelineInvariantError("the set of pruned weights changed during codebook fine-tuning")
            if bool((self.decoded().reshape(-1)[~self.keep] != 0).any()):
                raise PipelineInvariantError("a pruned weight decodes to a non-zero value")

    def to_quantized(self) -> QuantizedTensor:
        """The :class:`QuantizedTensor` with the tuned codebook (float32, ``codebook[zero] == 0``)."""
        codebook = self.codebook.detach().cpu().numpy().astype(np.float32).copy()
        codebook[self.zero_symbol] = np.float32(0.0)
        return dataclasses.replace(self.source, codebook=codebook)


@dataclass(frozen=True)
class CodebookStep:
    """One logged codebook fine-tuning step."""

    step: int
    loss: float
    r_wd: float | None
    theta_wd: float | None
    zeta_wd: float | None


@dataclass
class CodebookResult:
    """Outcome of :func:`tune_codebooks`: the quantized tensors with tuned codebooks and the history."""

    tensors: dict[str, QuantizedTensor]
    history: list[CodebookStep] = field(default_factory=list)
    zeta_wd: float | None = None


def tune_codebooks(
    model: nn.Module,
    quantized: Mapping[str, QuantizedTensor],
    train_loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    config: CodebookConfig,
    *,
    targets: SparsityTargets,
    loss: str = "cross_entropy",
    teacher: nn.Module | None = None,
    distill_weight: float = 0.0,
    temperature: float = 2.0,
    zeta_init: float = 0.0,
    log_every: int = 50,
    progress: Callable[[CodebookStep], None] | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> CodebookResult:
    """Fine-tune the shared values of ``quantized`` (every other model parameter stays frozen).

    Args:
        model: the network the tensors belong to (its parameters named as in ``quantized``).
        quantized: name -> quantized weight (from :func:`compress.pipeline.quantization.quantize_weights`).
        train_loader: re-iterable ``(inputs, targets)`` batches, cycled for ``config.steps`` steps.
        config: steps, learning rates, α, s_WD.
        targets: the Winograd targets for R_WD (from :func:`compress.pipeline.targets.collect_targets`).
        loss: task loss (``"cross_entropy"`` or ``"mse"``).
        teacher: optional teacher for distillation (``distill_weight`` > 0).
        distill_weight: as in :class:`compress.pipeline.config.FinetuneConfig`.
        temperature: distillation temperature.
        zeta_init: starting ζ_WD (e.g. the value fine-tuning ended with).
        log_every: history period in steps.
        progress: called with each logged :class:`CodebookStep`.
        loss_fn: the caller's own network loss ``(outputs, labels) -> scalar`` instead of ``loss`` and
            distillation (a closure may hold its own teacher).

    Returns:
        A :class:`CodebookResult`. The model's own parameters are not modified (with
        ``config.batchnorm == "train"`` its BatchNorm running statistics are: they are re-estimated
        for the quantized weights); use
        :func:`compress.pipeline.deploy_eval.load_decoded` to put the decoded weights in a model.

    Example:
        >>> from formats.quantize import quantize_dithered
        >>> from compress.pipeline.targets import collect_targets
        >>> net = nn.Linear(2, 2)
        >>> q = {"weight": quantize_dithered(net.weight.detach().numpy(), 0.1, seed=0, name="weight")}
        >>> data = [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))]
        >>> cfg = CodebookConfig(step=0.1, steps=2, wd_regularizer=False)
        >>> res = tune_codebooks(net, q, data, cfg, targets=collect_targets(net))
        >>> float(res.tensors["weight"].codebook[res.tensors["weight"].zero_symbol])
        0.0
    """
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    modules = {name: TorchQuantized(q).to(device) for name, q in quantized.items()}
    use_wd = config.wd_regularizer and bool(targets.winograd)
    coefficients = LearnableCoefficients(("wd",), zeta_init, config.zeta_max).to(device) if use_wd else None
    groups = [{"params": [m.codebook for m in modules.values()], "lr": config.lr}]
    if coefficients is not None:
        groups.append({"params": list(coefficients.parameters()), "lr": config.zeta_lr})
    optimizer = torch.optim.Adam(groups)
    frozen = {name: p.detach() for name, p in model.named_parameters()}
    if teacher is not None:
        teacher.eval()
    was_training = model.training
    model.train()
    if config.batchnorm != "train":  # "frozen", or "fold": a folded BatchNorm must stay the identity + shift
        freeze_batchnorm(model)
    result = CodebookResult(tensors={})
    batches = cycle_batches(train_loader)
    try:
        for step in range(1, config.steps + 1):
            inputs, labels = next(batches)
            inputs, labels = inputs.to(device), labels.to(device)
            decoded = {name: m.decoded() for name, m in modules.items()}
            outputs = functional_call(model, {**frozen, **decoded}, (inputs,))
            if loss_fn is not None:
                e = loss_fn(outputs, labels)
            else:
                teacher_outputs = None
                if teacher is not None and distill_weight > 0:
                    with torch.no_grad():
                        teacher_outputs = teacher(inputs)
                e = network_loss(
                    outputs, labels, loss=loss, teacher_outputs=teacher_outputs,
                    distill_weight=distill_weight, temperature=temperature,
                )
            reg = None
            cost = e
            if coefficients is not None:
                reg = winograd_regularizer({**frozen, **decoded}, targets, config.s_wd)
                cost = e + coefficients.cost({"wd": reg.value}, config.alpha)
            optimizer.zero_grad(set_to_none=True)
            cost.backward()
            for m in modules.values():
                m.average_gradient_()
            optimizer.step()
            for m in modules.values():
                m.check_invariants()
            if step % log_every == 0 or step == config.steps:
                record = CodebookStep(
                    step, float(e.detach()),
                    None if reg is None else float(reg.value.detach()),
                    None if reg is None else reg.threshold,
                    None if coefficients is None else coefficients.values()["wd"],
                )
                result.history.append(record)
                if progress is not None:
                    progress(record)
    finally:
        model.train(was_training)
    result.tensors = {name: m.to_quantized() for name, m in modules.items()}
    result.zeta_wd = None if coefficients is None else coefficients.values()["wd"]
    return result

