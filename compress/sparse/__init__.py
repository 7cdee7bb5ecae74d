"""Sparse inference runtime: CSR-packed linear layers and a Mixture-of-Experts blend over non-zeros.

Example:
    >>> import torch
    >>> from compress.sparse import SparseLinear
    >>> SparseLinear(torch.eye(3)).nnz
    3
"""

from compress.sparse.csr import csr_pattern, csr_tensor
from compress.sparse.linear import SparseLinear
from compress.sparse.mann import SparseMANN
from compress.sparse.moe import SparseExpertLinear

__all__ = ["SparseExpertLinear", "SparseLinear", "SparseMANN", "csr_pattern", "csr_tensor"]
