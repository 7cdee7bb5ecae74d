"""Per-epoch training checkpoints of a MANN: one file with everything a stopped run needs to go on.

The file (``torch.save``, read back with ``weights_only=True``, so no unpickling of arbitrary objects)
holds plain data and tensors only:

* ``version``, ``train_config`` (:class:`compress.mann.train.TrainConfig` as a dict), ``model_config``
  (:class:`compress.zoo.mann.MANNConfig` as a dict);
* ``epoch`` (epochs completed) and ``step`` (optimizer steps taken);
* ``model``, ``optimizer`` and ``sparsifier`` state dicts (``sparsifier`` is None for a dense run), the
  warm-restart schedule's state (its fields and the step), and the torch RNG state (dropout);
* ``history``: one dict per epoch (losses, sparsity, learning rate, seconds).

Writes go through :func:`compress.atomic.atomic_output`, so a run killed mid-write keeps its previous
checkpoint.

Example:
    >>> import os, tempfile
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> config = MANNConfig(input_dim=6, output_dim=4, hidden=8, gating_input_dim=2, gating_hidden=4)
    >>> path = os.path.join(tempfile.mkdtemp(), "checkpoint.pt")
    >>> save_checkpoint(path, {"model": MANN(config).state_dict(), "model_config": model_config_to_dict(config)})
    >>> load_model(path).config.hidden
    8
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from compress.atomic import atomic_output
from compress.errors import CheckpointError
from compress.zoo.mann import MANN, MANNConfig

__all__ = ["CHECKPOINT_VERSION", "load_checkpoint", "load_model", "model_config_from_dict", "model_config_to_dict",
           "save_checkpoint"]

#: Version written into every checkpoint.
CHECKPOINT_VERSION = 1


def model_config_to_dict(config: MANNConfig) -> dict[str, Any]:
    """A :class:`MANNConfig` as plain data (``gating_indices`` as a list or None).

    Example:
        >>> model_config_to_dict(MANNConfig())["hidden"]
        512
    """
    data = dataclasses.asdict(config)
    if data["gating_indices"] is not None:
        data["gating_indices"] = [int(i) for i in data["gating_indices"]]
    return data


def model_config_from_dict(data: Mapping[str, Any]) -> MANNConfig:
    """The inverse of :func:`model_config_to_dict`.

    Example:
        >>> model_config_from_dict(model_config_to_dict(MANNConfig(hidden=64))).hidden
        64
    """
    fields = dict(data)
    if fields.get("gating_indices") is not None:
        fields["gating_indices"] = tuple(int(i) for i in fields["gating_indices"])
    try:
        return MANNConfig(**fields)
    except TypeError as exc:
        raise CheckpointError(f"bad MANN config in checkpoint: {exc}") from None


def save_checkpoint(path: str | Path, state: Mapping[str, Any]) -> None:
    """Write ``state`` (plain data and tensors) to ``path`` atomically, adding ``version``.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "c.pt")
        >>> save_checkpoint(path, {"epoch": 3})
        >>> load_checkpoint(path)["epoch"]
        3
    """
    with atomic_output(path) as tmp:
        torch.save({**state, "version": CHECKPOINT_VERSION}, tmp)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``); errors name the file.

    Example:
        >>> load_checkpoint("/nonexistent/checkpoint.pt")
        Traceback (most recent call last):
        ...
        compress.errors.CheckpointError: checkpoint /nonexistent/checkpoint.pt does not exist
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file ends in one clear error
        raise CheckpointError(f"{path}: not a readable MANN checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: not a MANN checkpoint of version {CHECKPOINT_VERSION}")
    return state


def load_model(path: str | Path) -> MANN:
    """The trained model of a checkpoint, in eval mode.

    Raises:
        CheckpointError: unreadable file, or weights that do not fit the stored config.
    """
    state = load_checkpoint(path)
    if "model" not in state or "model_config" not in state:
        raise CheckpointError(f"{path}: checkpoint has no model")
    model = MANN(model_config_from_dict(state["model_config"]))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the stored MANN config: {exc}") from None
    return model.eval()
