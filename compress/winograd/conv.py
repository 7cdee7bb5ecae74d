"""Winograd convolution layer (stride 1, dilation 1, any zero padding, groups, bias).

The input is padded so the output covers whole ``m x m`` tiles, cut into overlapping
``n x n`` tiles with ``Tensor.unfold`` (a strided view), transformed with one GEMM
(``kron(BT, BT)``), multiplied with the Winograd-domain filters as one batched matmul
over the ``n²`` tile positions and the groups, transformed back with one GEMM
(``kron(AT, AT)``) and cropped. There is no Python loop over tiles.

Two sources of weights:

* ``from_conv(conv, m)`` keeps the spatial weight as the parameter (shared with ``conv``)
  and transforms it on every forward pass, so training through the layer updates the
  spatial weights;
* ``from_winograd_weights(wd, m=...)`` stores Winograd-domain weights directly (what a
  Winograd runtime deploys after pruning in that domain). With ``sparse=True`` the
  ``n²·groups`` weight matrices are packed into one block-diagonal CSR matrix and the
  channel mixing is a single ``torch.sparse.mm`` (inference only).
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from compress.errors import CompressError
from compress.winograd.transform import kron_matrix_t, winograd_filter_transform
from formats.winograd import MAX_TILE

__all__ = ["WinogradConv2d"]

Padding = int | tuple[int, int] | tuple[int, int, int, int] | Literal["valid", "same"]


class WinogradConv2d(nn.Module):
    """2-D convolution (cross-correlation, like ``nn.Conv2d``) computed with Winograd F(m, r).

    Attributes:
        m: output tile size; ``r``: filter size; ``n = m + r - 1``: tile size.
        padding: ``(left, right, top, bottom)`` zero padding.
        weight: spatial weight ``(out, in/groups, r, r)`` (domain ``"spatial"``), or ``None``.
        winograd_weight: Winograd weight ``(out, in/groups, n, n)`` (domain ``"winograd"``), or ``None``.

    Example:
        >>> conv = nn.Conv2d(4, 8, 3, padding=1)
        >>> wconv = WinogradConv2d.from_conv(conv, m=4)
        >>> x = torch.randn(2, 4, 10, 10)
        >>> bool(torch.allclose(wconv(x), conv(x), atol=1e-4))
        True
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        m: int,
        *,
        padding: Padding = 0,
        groups: int = 1,
        bias: bool = True,
        domain: Literal["spatial", "winograd"] = "spatial",
        sparse: bool = False,
    ) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise CompressError(
                f"channels ({in_channels}, {out_channels}) must be divisible by groups={groups}"
            )
        if m < 1 or kernel_size < 1 or m + kernel_size - 1 > MAX_TILE:
            raise CompressError(
                f"F(m={m}, r={kernel_size}) is unsupported: need m, r >= 1 and m + r - 1 <= {MAX_TILE}"
            )
        if domain not in ("spatial", "winograd"):
            raise CompressError(f"domain must be 'spatial' or 'winograd', got {domain!r}")
        if sparse and domain != "winograd":
            raise CompressError("sparse=True needs domain='winograd' (sparsity lives in the Winograd domain)")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.r, self.m, self.n = kernel_size, m, m + kernel_size - 1
        self.padding = _normalise_padding(padding, kernel_size)
        self.domain, self.sparse = domain, sparse
        k = 1.0 / math.sqrt(in_channels // groups * kernel_size * kernel_size)
        size = kernel_size if domain == "spatial" else self.n
        w = torch.empty(out_channels, in_channels // groups, size, size).uniform_(-k, k)
        self.weight: nn.Parameter | None = nn.Parameter(w) if domain == "spatial" else None
        self.winograd_weight: nn.Parameter | None = nn.Parameter(w) if domain == "winograd" else None
        b = torch.empty(out_channels).uniform_(-k, k)
        self.bias: nn.Parameter | None = nn.Parameter(b) if bias else None
        self._csr_cache: tuple[tuple, torch.Tensor] | None = None

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, m: int) -> WinogradConv2d:
        """A Winograd layer computing the same function as ``conv``, sharing its weight and bias parameters.

        Args:
            conv: square-kernel ``nn.Conv2d`` with stride 1, dilation 1 and zero padding.
            m: output tile size.

        Returns:
            The layer (domain ``"spatial"``).

        Example:
            >>> WinogradConv2d.from_conv(nn.Conv2d(3, 16, 3, padding=1), 4).n
            6
        """
        reason = winograd_incompatibility(conv)
        if reason:
            raise CompressError(f"cannot run {conv} with Winograd: {reason}")
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size[0],
            m,
            padding=_conv_padding(conv),
            groups=conv.groups,
            bias=False,
        )
        layer.weight = conv.weight
        layer.bias = conv.bias
        return layer

    @classmethod
    def from_winograd_weights(
        cls,
        winograd_weight: torch.Tensor,
        *,
        m: int,
        r: int,
        padding: Padding = 0,
        groups: int = 1,
        bias: torch.Tensor | None = None,
        sparse: bool = False,
    ) -> WinogradConv2d:
        """A layer whose weights are given in the Winograd domain (e.g. after pruning there).

        Args:
            winograd_weight: ``(out, in/groups, n, n)`` with ``n = m + r - 1``.
            m: output tile size.
            r: spatial filter size the weights stand for.
            padding: as in ``nn.Conv2d`` (int, pair, ``(l, r, t, b)``, "valid" or "same").
            groups: channel groups.
            bias: optional ``(out,)`` bias.
            sparse: run the channel mixing as one sparse CSR matmul (inference only).

        Returns:
            The layer (domain ``"winograd"``).

        Example:
            >>> wd = torch.zeros(8, 4, 6, 6)
            >>> WinogradConv2d.from_winograd_weights(wd, m=4, r=3, padding=1, sparse=True).sparse
            True
        """
        n = m + r - 1
        if winograd_weight.dim() != 4 or tuple(winograd_weight.shape[-2:]) != (n, n):
            raise CompressError(
                f"Winograd weight shape {tuple(winograd_weight.shape)} does not fit F({m}, {r}): "
                f"expected (out, in/groups, {n}, {n})"
            )
        out_channels, in_per_group = winograd_weight.shape[:2]
        layer = cls(
            in_per_group * groups,
            out_channels,
            r,
            m,
            padding=padding,
            groups=groups,
            bias=bias is not None,
            domain="winograd",
            sparse=sparse,
        )
        layer.winograd_weight = nn.Parameter(winograd_weight.detach().clone(), requires_grad=not sparse)
        if bias is not None:
            layer.bias = nn.Parameter(bias.detach().clone().reshape(out_channels), requires_grad=not sparse)
        return layer

    def winograd_weights(self) -> torch.Tensor:
        """The Winograd-domain filters ``(out, in/groups, n, n)`` this layer multiplies with.

        Example:
            >>> WinogradConv2d(2, 2, 3, 2).winograd_weights().shape
            torch.Size([2, 2, 4, 4])
        """
        if self.winograd_weight is not None:
            return self.winograd_weight
        return winograd_filter_transform(self.weight, self.m)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.r}, m={self.m}, "
            f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}, "
            f"domain={self.domain}, sparse={self.sparse}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise CompressError(f"expected input (N, {self.in_channels}, H, W), got {tuple(x.shape)}")
        m, r, n, g = self.m, self.r, self.n, self.groups
        left, right, top, bottom = self.padding
        batch, channels, height, width = x.shape
        h_out, w_out = height + top + bottom - r + 1, width + left + right - r + 1
        if h_out < 1 or w_out < 1:
            raise CompressError(f"input {height}x{width} is smaller than the {r}x{r} filter after padding")
        th, tw = -(-h_out // m), -(-w_out // m)
        xp = F.pad(x, (left, right + tw * m - w_out, top, bottom + th * m - h_out))
        tiles = xp.unfold(2, n, m).unfold(3, n, m)  # (N, C, th, tw, n, n), a strided view
        # One copy puts channels first; the transform GEMM then writes (n², C, N·T) directly, i.e.
        # (n², g, C/g, P): one matmul batch per tile position and group, P = N·th·tw tiles.
        tiles = tiles.permute(1, 0, 2, 3, 4, 5).reshape(channels * batch * th * tw, n * n)
        v = torch.mm(kron_matrix_t(m, r, "input", tiles).t(), tiles.t())
        k, p = self.out_channels, batch * th * tw
        wd = self.winograd_weights().to(v.dtype)
        if self.sparse:
            prod = torch.sparse.mm(self._block_csr(wd), v.view(n * n * channels, p))
        else:
            u = wd.reshape(g, k // g, channels // g, n * n).permute(3, 0, 1, 2)  # (n², g, K/g, C/g)
            prod = u @ v.view(n * n, g, channels // g, p)  # (n², g, K/g, P)
        y = torch.mm(kron_matrix_t(m, r, "output", v).t(), prod.reshape(n * n, k * p))  # (m², K·P)
        y = y.view(m, m, k, batch, th, tw).permute(3, 2, 4, 0, 5, 1).reshape(batch, k, th * m, tw * m)
        y = y[:, :, :h_out, :w_out]
        if self.bias is not None:
            y = y + self.bias.to(y.dtype).view(1, -1, 1, 1)
        return y

    def _block_csr(self, wd: torch.Tensor) -> torch.Tensor:
        key = (wd.data_ptr(), wd._version, wd.dtype, wd.device)
        if self._csr_cache is not None and self._csr_cache[0] == key:
            return self._csr_cache[1]
        g, nn2 = self.groups, self.n**2
        kg, cg = self.out_channels // g, self.in_channels // g
        with torch.no_grad():
            # Block b = (tile position, group) holds the (K/g, C/g) matrix; place it on the diagonal.
            blocks = wd.detach().reshape(g, kg, cg, nn2).permute(3, 0, 1, 2).reshape(nn2 * g, kg, cg)
            b, i, j = blocks.nonzero(as_tuple=True)
            indices = torch.stack([b * kg + i, b * cg + j])
            size = (nn2 * g * kg, nn2 * g * cg)
            coo = torch.sparse_coo_tensor(indices, blocks[b, i, j], size, check_invariants=True)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                csr = coo.coalesce().to_sparse_csr()
        self._csr_cache = (key, csr)
        return csr


def winograd_incompatibility(conv: nn.Module) -> str | None:
    """Why ``conv`` cannot run as a :class:`WinogradConv2d`, or ``None`` when it can.

    Example:
        >>> winograd_incompatibility(nn.Conv2d(3, 3, 3, stride=2))
        'stride (2, 2) != 1'
    """
    if not isinstance(conv, nn.Conv2d):
        return f"{type(conv).__name__} is not an nn.Conv2d"
    if conv.kernel_size[0] != conv.kernel_size[1]:
        return f"kernel {conv.kernel_size} is not square"
    if tuple(conv.stride) != (1, 1):
        return f"stride {tuple(conv.stride)} != 1"
    if tuple(conv.dilation) != (1, 1):
        return f"dilation {tuple(conv.dilation)} != 1"
    if conv.padding_mode != "zeros":
        return f"padding_mode {conv.padding_mode!r} is not 'zeros'"
    return None


def _conv_padding(conv: nn.Conv2d) -> Padding:
    if isinstance(conv.padding, str):
        return conv.padding  # type: ignore[return-value]
    return (int(conv.padding[0]), int(conv.padding[1]))


def _normalise_padding(padding: Padding, r: int) -> tuple[int, int, int, int]:
    if padding == "valid":
        return (0, 0, 0, 0)
    if padding == "same":
        lo = (r - 1) // 2
        return (lo, r - 1 - lo, lo, r - 1 - lo)
    if isinstance(padding, int):
        pads: tuple[int, ...] = (padding,) * 4
    elif isinstance(padding, tuple) and len(padding) == 2:
        pads = (padding[1], padding[1], padding[0], padding[0])
    elif isinstance(padding, tuple) and len(padding) == 4:
        pads = padding
    else:
        raise CompressError(
            f"padding {padding!r} must be an int, (h, w), (left, right, top, bottom), 'valid' or 'same'"
        )
    if any(not isinstance(p, int) or p < 0 for p in pads):
        raise CompressError(f"padding {padding!r} must be non-negative integers")
    return pads  # type: ignore[return-value]
