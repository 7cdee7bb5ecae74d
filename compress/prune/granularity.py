"""What one pruning decision removes: a single weight, a row, a kernel, a block, or an N:M group.

Granularities are frozen value objects, never strings. Each one maps a weight tensor to a
``(groups, group_size)`` matrix (:meth:`to_groups`) and maps a per-group keep/prune vector back to an
element mask of the tensor's shape (:meth:`expand`). They follow PyTorch's layouts: dimension 0 is the
output (a linear layer's row, a convolution's filter), dimension 1 the input, the rest the kernel.

:class:`NM` is the odd one: it does not prune whole groups but keeps the ``n`` largest of every ``m``
consecutive weights along the input dimension, so it fixes the sparsity at ``1 - n/m``.

Example:
    >>> import torch
    >>> Rows().to_groups(torch.zeros(4, 3, 3, 3)).shape
    torch.Size([4, 27])
    >>> Blocks(2, 2).to_groups(torch.zeros(4, 6)).shape
    torch.Size([6, 4])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from compress.errors import RecipeError


def _need_ndim(tensor: torch.Tensor, ndim: int, what: str) -> None:
    if tensor.ndim < ndim:
        raise RecipeError(
            f"{what} granularity needs a tensor with at least {ndim} dimensions, got shape "
            f"{tuple(tensor.shape)}; use Unstructured() for this tensor or exclude it"
        )


@dataclass(frozen=True)
class Unstructured:
    """Every weight is its own group (the MANN study's granularity).

    Example:
        >>> Unstructured().to_groups(torch.zeros(2, 3)).shape
        torch.Size([6, 1])
    """

    version: ClassVar[int] = 1

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(numel, 1)`` view of ``tensor``."""
        return tensor.reshape(-1, 1)

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Return the element mask for one keep flag per weight."""
        return keep.reshape(shape)


@dataclass(frozen=True)
class Rows:
    """One group per slice along dimension 0: a linear layer's output row, a convolution's filter.

    Example:
        >>> Rows().to_groups(torch.zeros(8, 4)).shape
        torch.Size([8, 4])
    """

    version: ClassVar[int] = 1

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(shape[0], rest)`` view of ``tensor``."""
        _need_ndim(tensor, 2, "Rows")
        return tensor.reshape(tensor.shape[0], -1)

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Broadcast one keep flag per row to the tensor's shape."""
        return keep.reshape((shape[0],) + (1,) * (len(shape) - 1)).expand(shape).contiguous()


@dataclass(frozen=True)
class Columns:
    """One group per slice along dimension 1: a linear layer's input column, a convolution's input channel.

    Example:
        >>> Columns().to_groups(torch.zeros(8, 4)).shape
        torch.Size([4, 8])
    """

    version: ClassVar[int] = 1

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(shape[1], rest)`` matrix of ``tensor``'s input slices."""
        _need_ndim(tensor, 2, "Columns")
        return tensor.movedim(1, 0).reshape(tensor.shape[1], -1)

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Broadcast one keep flag per column to the tensor's shape."""
        view = (1, shape[1]) + (1,) * (len(shape) - 2)
        return keep.reshape(view).expand(shape).contiguous()


@dataclass(frozen=True)
class Kernels:
    """One group per spatial kernel ``w[o, i]`` of a convolution (a k×k kernel for 2-D convs).

    Example:
        >>> Kernels().to_groups(torch.zeros(4, 2, 3, 3)).shape
        torch.Size([8, 9])
    """

    version: ClassVar[int] = 1

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(out * in, kernel_size)`` view of a convolution weight."""
        _need_ndim(tensor, 3, "Kernels")
        return tensor.reshape(tensor.shape[0] * tensor.shape[1], -1)

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Broadcast one keep flag per kernel to the tensor's shape."""
        view = (shape[0], shape[1]) + (1,) * (len(shape) - 2)
        return keep.reshape(view).expand(shape).contiguous()


@dataclass(frozen=True)
class Blocks:
    """One group per ``bh × bw`` tile of dimensions (0, 1); a convolution's kernel dims ride along.

    Attributes:
        bh: block height (along outputs), must divide ``shape[0]``.
        bw: block width (along inputs), must divide ``shape[1]``.

    Example:
        >>> Blocks(4, 1).to_groups(torch.zeros(8, 3)).shape
        torch.Size([6, 4])
    """

    bh: int
    bw: int
    version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if self.bh < 1 or self.bw < 1:
            raise RecipeError(f"block size must be positive, got {self.bh}x{self.bw}")

    def _check(self, shape: torch.Size) -> None:
        if len(shape) < 2 or shape[0] % self.bh or shape[1] % self.bw:
            raise RecipeError(
                f"block size {self.bh}x{self.bw} does not tile a tensor of shape {tuple(shape)}; "
                "pick a block size that divides dimensions 0 and 1, or exclude the tensor"
            )

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(blocks, bh * bw * kernel_size)`` matrix of ``tensor``'s tiles."""
        self._check(tensor.shape)
        o, i = tensor.shape[0], tensor.shape[1]
        tiled = tensor.reshape(o // self.bh, self.bh, i // self.bw, self.bw, -1)
        return tiled.permute(0, 2, 1, 3, 4).reshape((o // self.bh) * (i // self.bw), -1)

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Broadcast one keep flag per block to the tensor's shape."""
        self._check(shape)
        grid = keep.reshape(shape[0] // self.bh, shape[1] // self.bw)
        full = grid.repeat_interleave(self.bh, 0).repeat_interleave(self.bw, 1)
        view = (shape[0], shape[1]) + (1,) * (len(shape) - 2)
        return full.reshape(view).expand(shape).contiguous()


@dataclass(frozen=True)
class SharedPattern:
    """One group per position across dimension ``dim``: every slice along ``dim`` shares one pattern.

    For a Mixture-of-Experts weight stack of shape ``(experts, out, in)`` with ``dim=0`` all experts keep
    the same positions, so a sparse runtime blends the experts over one set of stored non-zeros.

    Example:
        >>> SharedPattern(0).to_groups(torch.zeros(8, 4, 5)).shape
        torch.Size([20, 8])
    """

    dim: int = 0
    version: ClassVar[int] = 1

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(numel / shape[dim], shape[dim])`` matrix of ``tensor``'s positions."""
        _need_ndim(tensor, max(2, self.dim + 1), "SharedPattern")
        return tensor.movedim(self.dim, -1).reshape(-1, tensor.shape[self.dim])

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Broadcast one keep flag per position along ``dim``."""
        moved = list(shape)
        size = moved.pop(self.dim)
        grid = keep.reshape(moved + [1]).expand(moved + [size])
        return grid.movedim(-1, self.dim).contiguous()


@dataclass(frozen=True)
class NM:
    """Keep the ``n`` largest of every ``m`` consecutive weights along the input dimension (1).

    Attributes:
        n: weights kept per group.
        m: group length; must divide ``shape[1]``.

    Example:
        >>> NM(2, 4).sparsity
        0.5
    """

    n: int
    m: int
    version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if not 0 < self.n <= self.m:
            raise RecipeError(f"N:M needs 0 < n <= m, got {self.n}:{self.m}")

    @property
    def sparsity(self) -> float:
        """The sparsity this pattern fixes: ``1 - n/m``."""
        return 1.0 - self.n / self.m

    def to_groups(self, tensor: torch.Tensor) -> torch.Tensor:
        """Return the ``(groups, m)`` matrix of runs of ``m`` inputs."""
        _need_ndim(tensor, 2, "N:M")
        if tensor.shape[1] % self.m:
            raise RecipeError(
                f"N:M {self.n}:{self.m} needs dimension 1 divisible by {self.m}, got shape "
                f"{tuple(tensor.shape)}; exclude this tensor"
            )
        return tensor.movedim(1, -1).reshape(-1, self.m)

    def expand(self, keep: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Turn the ``(groups, m)`` keep matrix back into the tensor's shape."""
        moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
        return keep.reshape(moved).movedim(-1, 1).contiguous()


Granularity = Unstructured | Rows | Columns | Kernels | Blocks | SharedPattern | NM
"""Every granularity the pruner accepts."""

GRANULARITIES: dict[str, type] = {
    cls.__name__: cls for cls in (Unstructured, Rows, Columns, Kernels, Blocks, SharedPattern, NM)
}
"""Allowlist used when a recipe is read back."""


def parse_granularity(text: str) -> Granularity:
    """Parse the CLI spelling of a granularity.

    Args:
        text: ``unstructured``, ``rows`` (``filters``), ``columns`` (``channels``), ``kernels``,
            ``blocks:BHxBW``, ``nm:N:M`` or ``shared[:DIM]``.

    Returns:
        The granularity value object.

    Raises:
        RecipeError: unknown or malformed spelling.

    Example:
        >>> parse_granularity("blocks:4x1")
        Blocks(bh=4, bw=1)
    """
    name, _, arg = text.strip().lower().partition(":")
    try:
        if name == "unstructured" and not arg:
            return Unstructured()
        if name in ("rows", "filters") and not arg:
            return Rows()
        if name in ("columns", "channels") and not arg:
            return Columns()
        if name == "kernels" and not arg:
            return Kernels()
        if name == "blocks":
            bh, bw = arg.split("x")
            return Blocks(int(bh), int(bw))
        if name == "nm":
            n, m = arg.split(":")
            return NM(int(n), int(m))
        if name == "shared":
            return SharedPattern(int(arg) if arg else 0)
    except RecipeError:
        raise
    except ValueError:
        pass
    raise RecipeError(
        f"unknown granularity {text!r}; use unstructured, rows, columns, kernels, blocks:BHxBW, nm:N:M "
        "or shared[:DIM]"
    )
