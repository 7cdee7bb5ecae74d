"""Sparse Mixture-of-Experts blend: ``W = Σ ω_i W_i`` computed over stored non-zeros only.

The experts of one layer share one CSR pattern: the union of their non-zeros (with a shared pruning
pattern, :class:`compress.prune.SharedPattern`, the union is each expert's own pattern; with patterns
pruned independently it is denser). The values are stored as an ``(experts, nnz)`` matrix ``V``, so for
one frame the blend is a dense vector–matrix product ``ω V`` over ``nnz`` columns, followed by one sparse
matrix–vector product. Cost per frame: ``(experts + 1) · nnz`` multiply-adds instead of the dense
``(experts + 1) · out · in``.

The other order is the same sum by linearity: multiply the stacked experts ``[W_1; …; W_E]`` (each
with its own pattern) by ``x`` and mix the ``E`` outputs, ``Σ ω_i (W_i x)``, at ``Σ nnz_i`` sparse
multiply-adds. Batches (a different ``ω`` per sample) always take this path. For one frame the layer
picks the cheaper one when built (``mode="auto"``): a sparse product costs about ``SPARSE_COST`` times
a dense-blend multiply-add per element here (MKL CSR vs a streamed vector–matrix product), so the blend
wins while ``(E + SPARSE_COST) · nnz_union <= SPARSE_COST · Σ nnz_i`` — always with a shared pattern,
rarely with patterns pruned independently (their union is ``1 - (1 - d)^E`` dense).

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

SPARSE_COST = 5.0
"""Cost of one CSR multiply-add relative to one element of the dense ω-blend (measured, MKL, 1 thread)."""


class SparseExpertLinear(nn.Module):
    """Inference-only expert-blended linear layer over one shared sparse pattern.

    The one-frame path blends into a buffer owned by the layer: call it from one thread at a time.

    Args:
        weight: ``(experts, out, in)`` expert weights; positions zero in every expert are dropped.
        bias: ``(experts, out)`` expert biases.
        mode: one-frame path: ``"blend"`` (blend the values, then one product), ``"experts"`` (one product
            per expert's own pattern, then mix the outputs) or ``"auto"`` (the cheaper by the cost model).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, mode: str = "auto") -> None:
        if mode not in ("auto", "blend", "experts"):
            raise ValueError(f"mode must be 'auto', 'blend' or 'experts', got {mode!r}")
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
        # the stacked (experts * out, in) matrix, each expert with its own pattern
        stacked = weight.reshape(experts * out_features, in_features)
        stack_crow, stack_col = csr_pattern(stacked != 0)
        self._stacked = csr_tensor(stack_crow, stack_col, stacked[stacked != 0].contiguous(),
                                   (experts * out_features, in_features))
        self.expert_nnz = int(stack_col.numel())
        if mode == "auto":
            blend_cost = (experts + SPARSE_COST) * nnz
            mode = "blend" if blend_cost <= SPARSE_COST * (self.expert_nnz + experts * out_features) else "experts"
        self.mode = mode
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
            if self.mode == "experts":
                per_expert = torch.mv(self._stacked, x).view(self.experts, self.out_features)
                return torch.addmv(omega @ self.bias, per_expert.T, omega)
            torch.mm(omega.unsqueeze(0), self._mix, out=self._blend.unsqueeze(0))
            return torch.addmv(self._blend[self.nnz:], self._matrix, x)
        per_expert = (self._stacked @ x.T).reshape(self.experts, self.out_features, -1)
        return torch.einsum("be,eob->bo", omega, per_expert) + omega @ self.bias

    def extra_repr(self) -> str:
        return (f"experts={self.experts}, in_features={self.in_features}, out_features={self.out_features}, "
                f"nnz_union={self.nnz}, nnz_experts={self.expert_nnz}, mode={self.mode}")
