"""Sparse inference runtime for a pruned :class:`compress.zoo.mann.MANN`.

The small gating network stays dense; each of the motion network's 3 expert layers becomes a
:class:`compress.sparse.moe.SparseExpertLinear`, so a frame blends the experts over stored non-zeros only.

Example:
    >>> import torch
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> model = MANN(MANNConfig(input_dim=12, output_dim=5, hidden=16, gating_input_dim=3)).eval()
    >>> runtime = SparseMANN.from_model(model)
    >>> x = torch.randn(12)
    >>> torch.allclose(runtime(x), model(x[None])[0], atol=1e-5)
    True
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from compress.sparse.moe import SparseExpertLinear
from compress.zoo.mann import MANN


class SparseMANN(nn.Module):
    """Inference-only MANN whose expert layers are packed sparse.

    Args:
        gating: the (dense) gating network, used in eval mode.
        layers: the packed expert layers, in order.
        gating_indices: input positions fed to the gating network.
    """

    def __init__(self, gating: nn.Module, layers: list[SparseExpertLinear], gating_indices: torch.Tensor) -> None:
        super().__init__()
        self.gating = gating.eval().requires_grad_(False)
        self.layers = nn.ModuleList(layers)
        self.register_buffer("gating_indices", gating_indices.clone())

    @classmethod
    def from_model(cls, model: MANN) -> SparseMANN:
        """Pack a (pruned) MANN; the model itself is not modified."""
        layers = [SparseExpertLinear.from_expert_linear(layer) for layer in model.layers]
        return cls(copy.deepcopy(model.gating), layers, model.gating_indices)

    @property
    def density(self) -> float:
        """Stored fraction of the motion network's expert weights."""
        stored = sum(layer.nnz * layer.experts for layer in self.layers)
        total = sum(layer.experts * layer.out_features * layer.in_features for layer in self.layers)
        return stored / total

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict from ``x`` of shape ``(input_dim,)`` (one frame) or ``(batch, input_dim)``."""
        omega = self.gating(x.index_select(-1, self.gating_indices))
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h, omega)
            if i < len(self.layers) - 1:
                h = F.elu(h)
        return h
