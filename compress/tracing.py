"""One forward pass for hooks to observe: eval mode, no gradients, mode and hooks restored after."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

__all__ = ["trace_forward"]


def trace_forward(model: nn.Module, example_input: torch.Tensor, handles: Iterable[RemovableHandle]) -> None:
    """Run ``example_input`` through ``model`` once in eval mode without gradients, for the hooks of
    ``handles`` to record what they need; the model's mode is restored and every handle removed, even
    when the forward pass raises.

    Example:
        >>> net, seen = nn.Linear(2, 3), []
        >>> handle = net.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
        >>> trace_forward(net, torch.zeros(1, 2), [handle]); seen, net.training
        ([(1, 3)], True)
    """
    handles = list(handles)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example_input)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
