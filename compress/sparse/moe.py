"""Sparse Mixture-of-Experts blend: ``W = Σ ω_i W_i`` computed over stored non-zeros only.

The experts of one layer share one CSR pattern: the union of their non-zeros (with a shared pruning
pattern, :class:`compress.prune.SharedPattern`, the union is each expert's own pattern; with patterns
pruned independently it is denser). The values are stored as an ``(experts, nnz)`` matrix ``V``, so for
one frame the blend is a dense vector–matrix product ``ω V`` over ``nnz`` columns, followed by one sparse
matrix–vector product. Cost per frame: ``(experts + 1) · nnz`` multiply-adds instead of the dense
``(experts + 1) · out · in``.

For a batch (a different ``ω`` per sample) the layer instead multiplies the stacked experts
``[W_1; …; W_E]`` (sharing the same pattern) with the batch and mixes the ``E`` outputs per sample,
which is the same sum by linearity.

Example:
    >>> import torch
    >>> w = torch.randn(4, 6, 5) * (torch.rand(6, 5) > 0.7)
    >>> layer = SparseExpertLinear(w, torch.randn(4, 6))
    >>> omega = torch.softmax(torch.randn(4), 0)
    >>> dense = torch.tensordot(omega, w, dims=1) @ torch.ones(5) + omega @ layer.bias
    >>> torch.allclose(layer(torch.ones(5), omega), dense, atol=1e-5)
    True
"""

from __future__ import annotations

import torch
from torch import nn

from compress.sparse.csr import csr_pattern, csr_tensor


class SparseExpertLinear(nn.Module):
    """Inference-only expert-blended linear layer over one shared sparse pattern.

    The one-frame path blends into a buffer owned by the layer: call it from one thread at a time.

    Args:
        weight: ``(experts, out, in)`` expert weights; positions zero in every expert are dropped.
        bias: ``(experts, out)`` expert biases.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        weight = weight.detach().to(torch.float32)
        experts, out_features, in_features = weight.shape
        keep = (weight != 0).any(dim=0)
        crow, col = csr_pattern(keep)
        self.experts, self.out_features, self.in_features = experts, out_features, in_features
        self.register_buffer("crow", crow)
        self.register_buffer("col", col)
        self.register_buffer("values", weight[:, keep].contiguous())  # (experts, nnz), row-major order
        self.register_buffer("bias", bias.detach().to(torch.float32).contiguous())
        nnz = self.values.shape[1]
        # the stacked (experts * out, in) matrix for batched inputs: the same pattern repeated per expert
        stack_crow = (crow[:-1].unsqueeze(0) + torch.arange(experts, dtype=torch.int32).unsqueeze(1) * nnz)
        stack_crow = torch.cat([stack_crow.reshape(-1), torch.tensor([experts * nnz], dtype=torch.int32)])
        self._stacked = csr_tensor(stack_crow, col.repeat(experts), self.values.reshape(-1),
                                   (experts * out_features, in_features))
        # one-frame fast path: [V | B] is blended by a single product into a reused buffer that the CSR
        # matrix views, so a frame costs two kernel calls and no allocation of the pattern
        self._mix = torch.cat([self.values, self.bias], dim=1).contiguous()
        self._blend = torch.empty(nnz + out_features)
        self._matrix = csr_tensor(crow, col, self._blend[:nnz], (out_features, in_features))

    @classmethod
    def from_expert_linear(cls, layer: nn.Module) -> SparseExpertLinear:
        """Pack a :class:`compress.zoo.mann.ExpertLinear` (anything with ``weight`` and ``bias`` stacks)."""
        return cls(layer.weight, layer.bias)

    @property
    def nnz(self) -> int:
        """Stored positions per expert (size of the shared pattern)."""
        return int(self.values.shape[1])

    @property
    def density(self) -> float:
        """Fraction of the ``out × in`` positions stored."""
        return self.nnz / (self.out_features * self.in_features)

    def blended_weight(self, omega: torch.Tensor) -> torch.Tensor:
        """Return ``Σ ω_i W_i`` as a CSR tensor, touching only stored positions."""
        return csr_tensor(self.crow, self.col, omega @ self.values, (self.out_features, self.in_features))

    def forward(self, x: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
        """Apply the blended layer.

        Args:
            x: ``(in,)`` for one frame, or ``(batch, in)``.
            omega: ``(experts,)`` or ``(batch, experts)`` blending coefficients.
        """
        if x.ndim == 1:
            if omega.requires_grad and torch.is_grad_enabled():
                return torch.addmv(omega @ self.bias, self.blended_weight(omega), x)
            torch.mm(omega.unsqueeze(0), self._mix, out=self._blend.unsqueeze(0))
            return torch.addmv(self._blend[self.nnz:], self._matrix, x)
        per_expert = (self._stacked @ x.T).reshape(self.experts, self.out_features, -1)
        return torch.einsum("be,eob->bo", omega, per_expert) + omega @ self.bias

    def extra_repr(self) -> str:
        return (f"experts={self.experts}, in_features={self.in_features}, out_features={self.out_features}, "
                f"nnz={self.nnz}")
