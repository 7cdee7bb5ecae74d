"""Train a MANN (dense or one-cycle pruned) on normalised motion features, resumable epoch by epoch.

The setup of the MANN papers: AdamW with warm restarts (:class:`compress.mann.schedule.WarmRestarts`:
first cycle 10 epochs, doubling; learning rate 1e-4 and weight decay 2.5e-3, both scaled by the cosine,
the decay normalised per step), batches of 32 shuffled rows, MSE on the normalised outputs, dropout
keeping 70 % of every layer's input. Each step runs :func:`compress.mann.fast.blended_forward` (all
experts in one matrix product per layer). With ``sparsity > 0`` a :class:`compress.mann.pruning.MannSparsifier`
follows the one-cycle schedule from 0 to ``sparsity`` over the whole run and the final count in scope
is checked.

Resuming: with a ``directory``, a checkpoint (:mod:`compress.mann.checkpoint`) is written after every
epoch; :func:`train_mann` called again with the same config and directory loads it and goes on from the
next epoch, drawing the same batches and dropout masks as an uninterrupted run (batch order is seeded
per epoch, the torch RNG state is saved). A run already at its epoch budget returns at once.

Example:
    >>> import torch
    >>> from compress.mann.data import TrainingData
    >>> from compress.mocap import fit_normalization
    >>> x, y = torch.randn(64, 8), torch.randn(64, 4)
    >>> norm = fit_normalization(x.numpy(), y.numpy())
    >>> data = TrainingData(x, y, x[:8], y[:8], norm, (0, 1))
    >>> config = TrainConfig(epochs=2, hidden=8, gating_hidden=4, experts=2, sparsity=0.5)
    >>> result = train_mann(data, config)
    >>> len(result.history), result.final_sparsity.exact
    (2, True)
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from compress.errors import CheckpointError, CompressError
from compress.mann.checkpoint import load_checkpoint, model_config_to_dict, save_checkpoint
from compress.mann.data import TrainingData
from compress.mann.fast import blended_forward
from compress.mann.pruning import PRUNE_SCOPES, MannSparsifier, ScopeSparsity, check_sparsity, make_sparsifier
from compress.mann.schedule import WarmRestarts
from compress.zoo.mann import MANN, MANNConfig

__all__ = ["CHECKPOINT_NAME", "EpochRecord", "TrainConfig", "TrainResult", "evaluate_mse", "train_mann"]

logger = logging.getLogger(__name__)

#: File name of the checkpoint inside a run directory.
CHECKPOINT_NAME = "checkpoint.pt"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (two runs with equal configs and data give equal weights).

    Attributes:
        epochs: epoch budget (passes over the training rows kept).
        batch_size: rows per step (32); the last partial batch of an epoch is dropped.
        lr: base learning rate (1e-4).
        weight_decay: decoupled weight decay before normalisation (2.5e-3).
        restart_period: first warm-restart cycle in epochs (10).
        restart_mult: growth of the cycle length (2).
        hidden: motion network width (512).
        experts: number of experts (8).
        gating_hidden: gating network width (32).
        dropout: drop probability (0.3, i.e. keep 0.7).
        sparsity: final sparsity in scope (0 for a dense run).
        scope: pruning scope, a key of :data:`compress.mann.pruning.PRUNE_SCOPES`.
        prune_updates: how many times the masks are recomputed over the run (they follow the one-cycle
            schedule every ``total_steps // prune_updates`` steps and at the last step).
        seed: initial weights, batch order and dropout.
        fraction: data fraction the data were built with (recorded only; see :class:`TrainingData`).
    """

    epochs: int = 150
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 2.5e-3
    restart_period: float = 10.0
    restart_mult: float = 2.0
    hidden: int = 512
    experts: int = 8
    gating_hidden: int = 32
    dropout: float = 0.3
    sparsity: float = 0.0
    scope: str = "experts"
    prune_updates: int = 100
    seed: int = 0
    fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.prune_updates < 1:
            raise CompressError(f"epochs, batch_size and prune_updates must be >= 1, got {self}")
        if not 0.0 <= self.sparsity < 1.0:
            raise CompressError(f"sparsity must be a fraction in [0, 1), got {self.sparsity}")
        if self.scope not in PRUNE_SCOPES:
            raise CompressError(f"unknown pruning scope {self.scope!r}; known: {', '.join(PRUNE_SCOPES)}")
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise CompressError(f"lr must be > 0 and weight_decay >= 0, got {self.lr} and {self.weight_decay}")

    def model_config(self, data: TrainingData) -> MANNConfig:
        """The MANN sizes for ``data``: its widths and gating columns, this config's widths and dropout."""
        return MANNConfig(input_dim=data.train_x.shape[1], output_dim=data.train_y.shape[1], hidden=self.hidden,
                          experts=self.experts, gating_input_dim=len(data.gating_indices),
                          gating_hidden=self.gating_hidden, dropout=self.dropout,
                          gating_indices=tuple(data.gating_indices))

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch did.

    Attributes:
        epoch: 1-based epoch number.
        train_mse: mean training loss over the epoch's batches (dropout on).
        val_mse: MSE on the normalised validation outputs (dropout off).
        sparsity: the sparsifier's target at the end of the epoch (0 for a dense run).
        lr: learning rate of the epoch's last step.
        seconds: wall time of the epoch, evaluation included.
    """

    epoch: int
    train_mse: float
    val_mse: float
    sparsity: float
    lr: float
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """A finished (or resumed-and-finished) run.

    Attributes:
        model: the trained model, in eval mode.
        history: one record per epoch, resumed epochs included.
        steps_per_epoch: optimizer steps per epoch.
        final_sparsity: zeros counted in scope after the last epoch.
        resumed_from: epochs already done when this call started.
    """

    model: MANN
    history: tuple[EpochRecord, ...]
    steps_per_epoch: int
    final_sparsity: ScopeSparsity
    resumed_from: int = 0


def evaluate_mse(model: MANN, x: torch.Tensor, y: torch.Tensor, batch: int = 4096) -> float:
    """Mean squared error of ``model`` on ``(x, y)`` over all elements, dropout off, without gradients.

    Example:
        >>> from compress.zoo.mann import MANNConfig
        >>> model = MANN(MANNConfig(input_dim=4, output_dim=2, hidden=4, gating_input_dim=1, gating_hidden=2))
        >>> evaluate_mse(model, torch.zeros(3, 4), model.eval()(torch.zeros(3, 4)).detach())
        0.0
    """
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            prediction, _ = blended_forward(model, x[start : start + batch])
            total += float(F.mse_loss(prediction, y[start : start + batch], reduction="sum"))
    model.train(was_training)
    return total / max(y.numel(), 1)


def train_mann(data: TrainingData, config: TrainConfig, directory: str | Path | None = None,
               on_epoch: Callable[[EpochRecord], None] | None = None) -> TrainResult:
    """Train (or resume training) a MANN on ``data`` for ``config.epochs`` epochs.

    Args:
        data: normalised tensors (:class:`TrainingData`).
        config: the run's settings.
        directory: where the per-epoch checkpoint lives; a checkpoint there with another config is an error.
        on_epoch: called after every epoch with its record (progress output).

    Returns:
        The :class:`TrainResult`.

    Denormal floats are flushed to zero while it runs (``torch.set_flush_denormal``), and not after it.

    Raises:
        CompressError: fewer training rows than one batch.
        CheckpointError: the directory's checkpoint belongs to another config or model.
    """
    # The Adam moments of pruned weights (gradient masked to 0) decay into denormal floats, which made
    # the pruned step ~1.5-2x slower on CPU; flushing them to zero changes nothing measurable. The flag is
    # process-wide: it is cleared again on the way out (torch has no getter to restore a caller's setting).
    torch.set_flush_denormal(True)
    try:
        return _train(data, config, directory, on_epoch)
    finally:
        torch.set_flush_denormal(False)


def _train(data: TrainingData, config: TrainConfig, directory: str | Path | None,
           on_epoch: Callable[[EpochRecord], None] | None) -> TrainResult:
    """:func:`train_mann`'s loop."""
    steps_per_epoch = len(data.train_x) // config.batch_size
    if steps_per_epoch < 1:
        raise CompressError(f"{len(data.train_x)} training rows make no batch of {config.batch_size}")
    total_steps = config.epochs * steps_per_epoch
    torch.manual_seed(config.seed)
    model_config = config.model_config(data)
    model = MANN(model_config)
    schedule = WarmRestarts(config.restart_period, config.restart_mult)
    decay = schedule.decay_per_step(config.weight_decay, steps_per_epoch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=decay / config.lr, fused=True)
    sparsifier: MannSparsifier | None = None
    if config.sparsity > 0:
        sparsifier = make_sparsifier(model, config.sparsity, total_steps, config.scope,
                                     every=max(1, total_steps // config.prune_updates))
    history: list[EpochRecord] = []
    step = 0
    path = Path(directory) / CHECKPOINT_NAME if directory is not None else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if path is not None and path.is_file():
        state = load_checkpoint(path)
        _check_same_run(path, state, config, model_config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if sparsifier is not None:
            sparsifier.load_state_dict(state["sparsifier"])
        torch.set_rng_state(state["rng"])
        step = int(state["step"])
        history = [EpochRecord(**record) for record in state["history"]]
        logger.info("%s: resuming after epoch %d of %d", path, len(history), config.epochs)
    resumed_from = len(history)

    model.train()
    for epoch in range(resumed_from, config.epochs):
        start = time.perf_counter()
        order = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(
            config.seed * 1_000_003 + epoch))
        loss_sum = 0.0
        lr = config.lr
        for batch in range(steps_per_epoch):
            rows = order[batch * config.batch_size : (batch + 1) * config.batch_size]
            lr = config.lr * schedule.multiplier(step / steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            prediction, _ = blended_forward(model, data.train_x[rows])
            loss = F.mse_loss(prediction, data.train_y[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if sparsifier is not None:
                sparsifier.step()
            loss_sum += float(loss.detach())
            step += 1
        val = evaluate_mse(model, data.val_x, data.val_y)
        record = EpochRecord(epoch + 1, loss_sum / steps_per_epoch, val,
                             sparsifier.sparsity if sparsifier is not None else 0.0, lr,
                             time.perf_counter() - start)
        history.append(record)
        if path is not None:
            save_checkpoint(path, {
                "train_config": config.to_dict(), "model_config": model_config_to_dict(model_config),
                "epoch": epoch + 1, "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "sparsifier": sparsifier.state_dict() if sparsifier is not None else None,
                "scheduler": {**dataclasses.asdict(schedule), "step": step, "steps_per_epoch": steps_per_epoch},
                "rng": torch.get_rng_state(), "history": [dataclasses.asdict(r) for r in history],
            })
        logger.info("epoch %d/%d: train %.4f val %.4f sparsity %.3f lr %.2e (%.1f s)", record.epoch,
                    config.epochs, record.train_mse, record.val_mse, record.sparsity, record.lr, record.seconds)
        if on_epoch is not None:
            on_epoch(record)
    if sparsifier is not None:
        sparsifier.remove()
    final = check_sparsity(model, config.sparsity, config.scope)
    if not final.exact:
        logger.warning("final sparsity in scope %s: %d zeros of %d, expected %d", config.scope, final.zeros,
                       final.total, final.expected)
    return TrainResult(model.eval(), tuple(history), steps_per_epoch, final, resumed_from)


def _check_same_run(path: Path, state: Mapping[str, Any], config: TrainConfig, model_config: MANNConfig) -> None:
    """Refuse a checkpoint written by a run with other settings (a dense run may change its epoch budget)."""
    saved = dict(state.get("train_config") or {})
    ours = config.to_dict()
    free = {"epochs"} if config.sparsity == 0 else set()
    differing = sorted(k for k in set(saved) | set(ours) if k not in free and saved.get(k) != ours.get(k))
    if differing or state.get("model_config") != model_config_to_dict(model_config):
        what = ", ".join(f"{k} {saved.get(k)!r} -> {ours.get(k)!r}" for k in differing) or "model sizes"
        raise CheckpointError(f"{path}: checkpoint of another run ({what}); use another directory or delete it")
    if int(state["epoch"]) > config.epochs:
        raise CheckpointError(f"{path}: checkpoint is at epoch {state['epoch']}, past the budget of {config.epochs}")
