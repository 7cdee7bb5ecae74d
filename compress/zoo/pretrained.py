"""Pretrained weights of the zoo models that live under ``../shared/data`` (never in the repo)."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from compress.checkpoints import load_state_dict
from compress.errors import CheckpointError
from compress.zoo import get_model

__all__ = ["PRETRAINED_FILES", "load_pretrained"]

PRETRAINED_FILES: dict[str, str] = {
    "lenet5": "mnist-lenet-dhl0917/LeNet_MNIST_params.pkl",
    "resnet20": "cifar10-resnet-akamaster/resnet20-12fca82f.th",
    "resnet32": "cifar10-resnet-akamaster/resnet32-d509ac18.th",
    "resnet44": "cifar10-resnet-akamaster/resnet44-014dd654.th",
    "resnet56": "cifar10-resnet-akamaster/resnet56-4bfd9763.th",
}
"""Checkpoint path relative to the shared data folder, per zoo name."""


def load_pretrained(name: str, data_root: str | Path) -> nn.Module:
    """Build zoo model ``name`` and load its pretrained weights strictly; returned in eval mode.

    Args:
        name: a key of :data:`PRETRAINED_FILES`.
        data_root: the shared data folder (``../shared/data``).

    Returns:
        The model with the pretrained weights.

    Raises:
        CheckpointError: no pretrained file is known for ``name``, it is missing, or its tensors
            do not match the model's.

    Example:
        >>> model = load_pretrained("resnet20", "../shared/data")  # doctest: +SKIP
    """
    if name not in PRETRAINED_FILES:
        raise CheckpointError(f"no pretrained weights for {name!r}; known: {', '.join(PRETRAINED_FILES)}")
    model = get_model(name)
    state = load_state_dict(Path(data_root) / PRETRAINED_FILES[name])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{PRETRAINED_FILES[name]} does not fit model {name!r}: {exc}") from None
    return model.eval()
