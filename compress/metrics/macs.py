"""Multiply-accumulate counts per image: spatial and Winograd convolution, dense and sparse.

Conventions (spec/WINOGRAD.md, "Counting MACs"):

* only convolutions and fully connected layers count (no BatchNorm, pooling, LRN, activations);
* spatial conv: ``H_out·W_out·K·(C/groups)·kh·kw`` dense, ``H_out·W_out·nnz(weight)`` sparse;
  linear: ``in·out`` dense, ``nnz(weight)`` sparse (times any leading non-batch positions);
* a conv runs in the Winograd domain when it is stride 1, dilation 1, zero padded, square
  ``r x r`` with ``r`` in ``m_for_r`` (or already a :class:`WinogradConv2d`): element-wise products
  only, ``n²`` per tile per (input, output) channel pair within a group, with
  ``tiles = ceil(H_out/m)·ceil(W_out/m)``; sparse counts the non-zero Winograd-domain weights,
  ``tiles·nnz(G w Gᵀ)``. Every other layer keeps its spatial count in the Winograd column;
* transform costs are reported apart and are not in the Winograd totals: input transform
  ``tiles·C·2n³`` and output transform ``tiles·K·(m·n² + m²·n)`` (dense matrix products, an upper
  bound: real kernels skip the zero and ±1 entries); the filter transform is done once offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from compress.tracing import trace_forward
from compress.winograd.conv import WinogradConv2d, winograd_incompatibility
from compress.winograd.swap import DEFAULT_M_FOR_R
from compress.winograd.transform import winograd_filter_transform

__all__ = ["LayerMacs", "MacReport", "count_macs"]


@dataclass(frozen=True)
class LayerMacs:
    """MAC counts of one layer call, per image.

    Attributes:
        name: module name in the model (``#k`` appended for the k-th repeated call).
        kind: "conv", "linear" or "winograd" (a conv counted in the Winograd domain).
        output_shape: output shape of one image.
        spatial_dense, spatial_sparse: spatial-domain MACs with all / with the non-zero weights.
        winograd_dense, winograd_sparse: MACs when deployed with Winograd (spatial count for
            layers that stay spatial).
        tile: ``(m, r)`` of the Winograd algorithm, or ``None``.
        input_transform, output_transform: Winograd transform costs (0 for spatial layers).
    """

    name: str
    kind: str
    output_shape: tuple[int, ...]
    spatial_dense: int
    spatial_sparse: int
    winograd_dense: int
    winograd_sparse: int
    tile: tuple[int, int] | None = None
    input_transform: int = 0
    output_transform: int = 0


@dataclass(frozen=True)
class MacReport:
    """Per-layer counts and their totals.

    Example:
        >>> report = count_macs(nn.Conv2d(1, 1, 3), torch.zeros(1, 1, 6, 6))
        >>> report.spatial_dense, report.winograd_dense
        (144, 36)
    """

    layers: tuple[LayerMacs, ...]

    @property
    def spatial_dense(self) -> int:
        return sum(layer.spatial_dense for layer in self.layers)

    @property
    def spatial_sparse(self) -> int:
        return sum(layer.spatial_sparse for layer in self.layers)

    @property
    def winograd_dense(self) -> int:
        return sum(layer.winograd_dense for layer in self.layers)

    @property
    def winograd_sparse(self) -> int:
        return sum(layer.winograd_sparse for layer in self.layers)

    @property
    def transforms(self) -> int:
        return sum(layer.input_transform + layer.output_transform for layer in self.layers)

    def table(self) -> str:
        """A fixed-width text table (millions of MACs), one row per layer plus the total."""
        head = f"{'layer':<28}{'kind':<9}{'tile':<7}{'SD dense':>10}{'SD sparse':>10}{'WD dense':>10}"
        head += f"{'WD sparse':>10}{'transf.':>9}"
        rows = [head]
        for layer in self.layers:
            tile = f"F{layer.tile[0]},{layer.tile[1]}" if layer.tile else "-"
            rows.append(
                f"{layer.name:<28}{layer.kind:<9}{tile:<7}{_m(layer.spatial_dense)}{_m(layer.spatial_sparse)}"
                f"{_m(layer.winograd_dense)}{_m(layer.winograd_sparse)}"
                f"{(layer.input_transform + layer.output_transform) / 1e6:>9.1f}"
            )
        rows.append(
            f"{'total':<44}{_m(self.spatial_dense)}{_m(self.spatial_sparse)}{_m(self.winograd_dense)}"
            f"{_m(self.winograd_sparse)}{self.transforms / 1e6:>9.1f}"
        )
        return "\n".join(rows)


def count_macs(
    model: nn.Module,
    example_input: torch.Tensor,
    *,
    m_for_r: Mapping[int, int] | None = None,
    winograd_weights: Mapping[str, torch.Tensor] | None = None,
) -> MacReport:
    """Trace ``model`` on ``example_input`` with forward hooks and count MACs per image.

    Args:
        model: the network (run once in eval mode under ``torch.no_grad``; its mode is restored).
            A model and input on the ``meta`` device are traced without computing; their
            weights then count as dense.
        example_input: a batch (counts are divided by its size).
        m_for_r: Winograd output tile per filter size for plain convs; default ``{3: 4, 5: 4}``.
            Use ``{}`` to count only layers that are already :class:`WinogradConv2d`.
        winograd_weights: optional Winograd-domain weights by module name (e.g. after pruning
            there) used for the sparse Winograd count instead of ``G w Gᵀ``.

    Returns:
        A :class:`MacReport`.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 64, 10))
        >>> r = count_macs(net, torch.zeros(1, 3, 8, 8))
        >>> r.spatial_dense, r.winograd_dense
        (18944, 8576)
    """
    table = dict(DEFAULT_M_FOR_R if m_for_r is None else m_for_r)
    overrides = dict(winograd_weights or {})
    batch = int(example_input.shape[0])
    records: list[LayerMacs] = []
    seen: dict[str, int] = {}

    def hook(name: str):
        def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            calls = seen.get(name, 0)
            seen[name] = calls + 1
            label = name if calls == 0 else f"{name}#{calls}"
            records.append(_count(label, module, output, batch, table, overrides.get(name)))

        return record

    handles = [
        module.register_forward_hook(hook(name))
        for name, module in model.named_modules()
        if isinstance(module, nn.Conv2d | nn.Linear | WinogradConv2d)
    ]
    trace_forward(model, example_input, handles)
    return MacReport(tuple(records))


def _count(
    name: str,
    module: nn.Module,
    output: torch.Tensor,
    batch: int,
    table: Mapping[int, int],
    override: torch.Tensor | None,
) -> LayerMacs:
    out_shape = tuple(int(s) for s in output.shape[1:])
    if isinstance(module, nn.Linear):
        positions = output.numel() // (batch * module.out_features)
        dense = positions * module.in_features * module.out_features
        sparse = positions * _nnz(module.weight)
        return LayerMacs(name, "linear", out_shape, dense, sparse, dense, sparse)
    k, h_out, w_out = out_shape
    if isinstance(module, WinogradConv2d):
        c, groups, r, m = module.in_channels, module.groups, module.r, module.m
        weight = module.weight
        wd = module.winograd_weights() if override is None else override
    else:
        c, groups, (kh, kw) = module.in_channels, module.groups, module.kernel_size
        weight = module.weight
        r = kh
        eligible = winograd_incompatibility(module) is None and kh in table
        if not eligible:
            dense = h_out * w_out * k * (c // groups) * kh * kw
            sparse = h_out * w_out * _nnz(weight)
            return LayerMacs(name, "conv", out_shape, dense, sparse, dense, sparse)
        m = table[kh]
        wd = winograd_filter_transform(weight, m) if override is None else override
    n = m + r - 1
    spatial_dense = h_out * w_out * k * (c // groups) * r * r
    spatial_sparse = h_out * w_out * _nnz(weight) if weight is not None else spatial_dense
    tiles = math.ceil(h_out / m) * math.ceil(w_out / m)
    return LayerMacs(
        name,
        "winograd",
        out_shape,
        spatial_dense,
        spatial_sparse,
        tiles * n * n * k * (c // groups),
        tiles * _nnz(wd),
        tile=(m, r),
        input_transform=tiles * c * 2 * n**3,
        output_transform=tiles * k * (m * n * n + m * m * n),
    )


def _nnz(t: torch.Tensor) -> int:
    # Meta tensors (shape-only tracing of big models) have no values: count them as dense.
    return t.numel() if t.is_meta else int(torch.count_nonzero(t))


def _m(value: int) -> str:
    return f"{value / 1e6:>10.1f}"
