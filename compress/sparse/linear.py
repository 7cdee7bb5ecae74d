"""A pruned ``nn.Linear`` packed for sparse matrix–vector products (torch CSR, MKL on CPU).

Only the stored non-zeros are multiplied: a batch-1 product costs one multiply-add per non-zero.

Example:
    >>> import torch
    >>> from torch import nn
    >>> dense = nn.Linear(8, 4)
    >>> with torch.no_grad():
    ...     dense.weight[:, ::2] = 0
    >>> sparse = SparseLinear.from_dense(dense)
    >>> sparse.nnz, torch.allclose(sparse(torch.ones(8)), dense(torch.ones(8)), atol=1e-6)
    (16, True)
"""

from __future__ import annotations

import torch
from torch import nn

from compress.sparse.csr import csr_pattern, csr_tensor


class SparseLinear(nn.Module):
    """Inference-only linear layer holding its weight in CSR form.

    Args:
        weight: dense ``(out, in)`` weight whose zeros are dropped.
        bias: optional ``(out,)`` bias.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        super().__init__()
        weight = weight.detach().to(torch.float32)
        crow, col = csr_pattern(weight != 0)
        self.out_features, self.in_features = weight.shape
        self.register_buffer("crow", crow)
        self.register_buffer("col", col)
        self.register_buffer("values", weight[weight != 0].contiguous())
        self.register_buffer("bias", None if bias is None else bias.detach().to(torch.float32).clone())
        self._matrix = csr_tensor(crow, col, self.values, (self.out_features, self.in_features))

    @classmethod
    def from_dense(cls, linear: nn.Linear) -> SparseLinear:
        """Pack a (pruned) ``nn.Linear``."""
        return cls(linear.weight, linear.bias)

    @property
    def nnz(self) -> int:
        """Number of stored non-zeros."""
        return int(self.values.numel())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` of shape ``(in,)`` or ``(batch, in)``."""
        if x.ndim == 1:
            if self.bias is None:
                return torch.mv(self._matrix, x)
            return torch.addmv(self.bias, self._matrix, x)
        out = (self._matrix @ x.reshape(-1, self.in_features).T).T
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, nnz={self.nnz}"
