"""Mode-Adaptive Neural Network (MANN, Zhang et al. 2018): a gating network blends 8 experts' weights.

The gating network (3 layers, ELU, softmax) reads a few input features and outputs blending
coefficients ``ω`` (one per expert). Each of the 3 layers of the motion prediction network then uses
the blended parameters ``W = Σ ω_i W_i``, ``b = Σ ω_i b_i`` (hidden width 512, ELU, dropout on each
layer's input). Defaults follow the dog setup of the MANN paper: 480 inputs, 363 outputs, a 19-feature
gating input with 32 hidden units, 8 experts — 5,563,136 parameters, i.e. the 178 Mbit of float32
that the pruning study (Maiorca et al. 2022, Table 1) starts from.

Expert parameters are stored as one stack per layer, ``weight`` of shape ``(experts, out, in)`` and
``bias`` of shape ``(experts, out)``, so global pruning ranks every expert's weights together (the
study's setup), and :class:`compress.prune.SharedPattern` (dim 0) gives all experts one pattern.

Example:
    >>> import torch
    >>> model = MANN(MANNConfig(input_dim=12, output_dim=5, hidden=16, gating_input_dim=3, gating_hidden=8))
    >>> model(torch.randn(2, 12)).shape
    torch.Size([2, 5])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from compress.errors import CompressError


@dataclass(frozen=True)
class MANNConfig:
    """Sizes of a MANN.

    Attributes:
        input_dim: motion network input features (dog setup: 480).
        output_dim: predicted features (dog setup: 363).
        hidden: motion network hidden width (512).
        experts: number of experts blended (8).
        gating_input_dim: features the gating network reads (19).
        gating_hidden: gating network hidden width (32).
        dropout: drop probability on every layer's input (MANN keeps 70 %).
        gating_indices: positions of ``x`` fed to the gating network; default the last
            ``gating_input_dim`` features.
    """

    input_dim: int = 480
    output_dim: int = 363
    hidden: int = 512
    experts: int = 8
    gating_input_dim: int = 19
    gating_hidden: int = 32
    dropout: float = 0.3
    gating_indices: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        sizes = (self.input_dim, self.output_dim, self.hidden, self.experts, self.gating_input_dim,
                 self.gating_hidden)
        if min(sizes) < 1:
            raise CompressError(f"MANN sizes must be positive, got {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise CompressError(f"dropout must be a probability in [0, 1), got {self.dropout}")
        indices = self.resolved_gating_indices
        if len(indices) != self.gating_input_dim or not all(0 <= i < self.input_dim for i in indices):
            raise CompressError(
                f"gating_indices must be {self.gating_input_dim} positions in [0, {self.input_dim}), got {indices}"
            )

    @property
    def resolved_gating_indices(self) -> tuple[int, ...]:
        """The input positions the gating network reads."""
        if self.gating_indices is not None:
            return tuple(self.gating_indices)
        return tuple(range(self.input_dim - self.gating_input_dim, self.input_dim))


class ExpertLinear(nn.Module):
    """A linear layer whose parameters are a per-sample blend of ``experts`` weight sets.

    Args:
        experts: number of weight sets.
        in_features: input width.
        out_features: output width.

    Example:
        >>> layer = ExpertLinear(4, 3, 2)
        >>> omega = torch.softmax(torch.randn(5, 4), dim=1)
        >>> layer(torch.randn(5, 3), omega).shape
        torch.Size([5, 2])
    """

    def __init__(self, experts: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(experts, out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(experts, out_features))
        bound = math.sqrt(6.0 / (in_features + out_features))
        nn.init.uniform_(self.weight, -bound, bound)

    @property
    def experts(self) -> int:
        """Number of experts."""
        return self.weight.shape[0]

    def blended_weight(self, omega: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(Σ ω_i W_i, Σ ω_i b_i)`` for one coefficient vector ``omega`` of shape ``(experts,)``."""
        weight = torch.tensordot(omega, self.weight, dims=1)
        return weight, omega @ self.bias

    def forward(self, x: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
        """Apply the blended layer: ``x`` is ``(batch, in)``, ``omega`` is ``(batch, experts)``."""
        per_expert = torch.einsum("bi,eoi->beo", x, self.weight)
        return torch.einsum("be,beo->bo", omega, per_expert) + omega @ self.bias

    def extra_repr(self) -> str:
        e, o, i = self.weight.shape
        return f"experts={e}, in_features={i}, out_features={o}"


class GatingNetwork(nn.Module):
    """Three dense layers with ELU, ending in a softmax over the experts."""

    def __init__(self, config: MANNConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Linear(config.gating_input_dim, config.gating_hidden),
            nn.Linear(config.gating_hidden, config.gating_hidden),
            nn.Linear(config.gating_hidden, config.experts),
        ])
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        """Return the blending coefficients ``ω``, shape ``(batch, experts)``, rows summing to 1."""
        for i, layer in enumerate(self.layers):
            g = layer(self.dropout(g))
            if i < len(self.layers) - 1:
                g = F.elu(g)
        return torch.softmax(g, dim=-1)


class MANN(nn.Module):
    """The gating network plus the 3-layer, ``experts``-way motion prediction network.

    Args:
        config: sizes; defaults to the MANN paper's dog setup.

    Example:
        >>> sum(p.numel() for p in MANN().parameters())
        5563136
    """

    def __init__(self, config: MANNConfig | None = None) -> None:
        super().__init__()
        self.config = config or MANNConfig()
        c = self.config
        self.gating = GatingNetwork(c)
        self.layers = nn.ModuleList([
            ExpertLinear(c.experts, c.input_dim, c.hidden),
            ExpertLinear(c.experts, c.hidden, c.hidden),
            ExpertLinear(c.experts, c.hidden, c.output_dim),
        ])
        self.dropout = nn.Dropout(c.dropout)
        self.register_buffer("gating_indices", torch.tensor(c.resolved_gating_indices, dtype=torch.long),
                             persistent=False)

    def blending(self, x: torch.Tensor) -> torch.Tensor:
        """Return the gating network's ``ω`` for inputs ``x`` of shape ``(batch, input_dim)``."""
        return self.gating(x.index_select(-1, self.gating_indices))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict the next frame's features from ``x`` of shape ``(batch, input_dim)``."""
        omega = self.blending(x)
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(self.dropout(h), omega)
            if i < len(self.layers) - 1:
                h = F.elu(h)
        return h
