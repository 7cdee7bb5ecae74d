"""A MANN forward pass that is cheap to train on a CPU: every expert's output in one matrix product, then a blend.

:class:`compress.zoo.mann.MANN` blends the experts' *weights* per sample, ``W = Σ ω_i W_i``, and applies
``W``. Blending the experts' *outputs* is the same function, because a layer is linear in its weights:
``(Σ ω_i W_i) x + Σ ω_i b_i = Σ ω_i (W_i x + b_i)``. The outputs of all experts come from one
matrix product of the batch with the ``(experts · out, in)`` stack (a view of the stored weights, no
copy), so a batch of 32 costs three large products forward and the same backward, with no per-sample
weight matrices.

Example:
    >>> import torch
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> model = MANN(MANNConfig(input_dim=6, output_dim=4, hidden=8, gating_input_dim=2, gating_hidden=4)).eval()
    >>> x = torch.randn(3, 6)
    >>> bool(torch.allclose(blended_forward(model, x)[0], model(x), atol=1e-6))
    True
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from compress.zoo.mann import MANN, ExpertLinear

__all__ = ["blend_outputs", "blended_forward"]


def blend_outputs(layer: ExpertLinear, x: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """``Σ_i ω_i (W_i x + b_i)`` for a batch: ``x`` is ``(batch, in)``, ``omega`` ``(batch, experts)``.

    Example:
        >>> layer = ExpertLinear(2, 3, 1)
        >>> omega = torch.tensor([[1.0, 0.0]])
        >>> x = torch.ones(1, 3)
        >>> bool(torch.allclose(blend_outputs(layer, x, omega), x @ layer.weight[0].T + layer.bias[0]))
        True
    """
    experts, out, inputs = layer.weight.shape
    every = F.linear(x, layer.weight.reshape(experts * out, inputs)).view(-1, experts, out)
    return torch.bmm(omega.unsqueeze(1), every).squeeze(1) + omega @ layer.bias


def blended_forward(model: MANN, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's prediction for ``x`` (``(batch, input_dim)``) and the gating coefficients ``ω``.

    Same function as ``model(x)`` (dropout included when the model is in training mode), computed by
    blending outputs instead of weights.

    Returns:
        ``(prediction (batch, output_dim), omega (batch, experts))``.

    Example:
        >>> from compress.zoo.mann import MANNConfig
        >>> model = MANN(MANNConfig(input_dim=5, output_dim=2, hidden=4, gating_input_dim=2, gating_hidden=3))
        >>> [tuple(t.shape) for t in blended_forward(model, torch.zeros(7, 5))]
        [(7, 2), (7, 8)]
    """
    omega = model.blending(x)
    h = x
    last = len(model.layers) - 1
    for i, layer in enumerate(model.layers):
        h = blend_outputs(layer, model.dropout(h), omega)
        if i < last:
            h = F.elu(h)
    return h, omega
