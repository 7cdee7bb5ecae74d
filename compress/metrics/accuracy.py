"""Top-1 accuracy of a classifier over a data loader."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from compress.errors import CompressError

__all__ = ["evaluate"]


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]], device: torch.device | str | None = None
) -> float:
    """Fraction of samples whose arg-max logit equals the label (model run in eval mode, mode restored).

    Args:
        model: a classifier returning logits ``(N, classes)``.
        loader: iterable of ``(inputs, labels)`` batches, e.g. a :class:`~torch.utils.data.DataLoader`.
        device: where to run (default: where the model's first parameter lives).

    Returns:
        Accuracy in ``[0, 1]``.

    Example:
        >>> from torch.utils.data import DataLoader, TensorDataset
        >>> data = TensorDataset(torch.eye(3), torch.tensor([0, 1, 2]))
        >>> evaluate(nn.Identity(), DataLoader(data, batch_size=2))
        1.0
    """
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    correct = total = 0
    try:
        for inputs, labels in loader:
            logits = model(inputs.to(device))
            correct += int((logits.argmax(dim=1).cpu() == labels).sum())
            total += int(labels.numel())
    finally:
        model.train(was_training)
    if total == 0:
        raise CompressError("evaluate() got an empty loader; nothing to score")
    return correct / total
