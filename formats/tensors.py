"""Value objects handed to the writer and returned by the reader.

A tensor in a ``.dsz`` file is a plain :class:`numpy.ndarray` (kind RAW), a
:class:`QuantizedTensor` (kind QUANTIZED): integer symbols into a small float32
codebook, plus the dither that the decoder cancels, or a :class:`SparseTensor`
(kind SPARSE): a mostly-zero array stored losslessly as a bitmap plus its non-zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.ids import PrngId


@dataclass(frozen=True)
class Dither:
    """Descriptor of the dither added before quantization (spec: "Dither").

    Attributes:
        prng: generator id; :attr:`PrngId.NONE` means no dither.
        seed: 64-bit unsigned seed shared by the whole file.
        stream: 64-bit unsigned stream id of this tensor (derivation fixed by the spec).

    Example:
        >>> Dither(PrngId.SPLITMIX64, seed=7, stream=3).prng.name
        'SPLITMIX64'
    """

    prng: PrngId
    seed: int
    stream: int


@dataclass(frozen=True)
class QuantizedTensor:
    """A tensor stored as codebook symbols.

    Decoded value of element ``i`` (spec: "Decoding a quantized tensor")::

        0                                     if symbols[i] == zero_symbol
        codebook[symbols[i]] - U_i            otherwise

    where ``U_i`` is the float32 dither of element ``i`` for step ``step``.

    Attributes:
        symbols: unsigned integer array (uint8 or uint16) with the tensor's shape.
        codebook: float32 array of shared values, one per symbol; ``codebook[zero_symbol] == 0``.
        zero_symbol: the symbol of pruned weights (quantized to level 0).
        step: quantization interval Δ (> 0), as float32.
        dither: how ``U_i`` is regenerated.

    Example:
        >>> q = QuantizedTensor(np.array([[0, 2]], np.uint8), np.array([-0.5, 0, 0.5], np.float32),
        ...                     zero_symbol=1, step=0.5, dither=Dither(PrngId.NONE, 0, 0))
        >>> q.shape
        (1, 2)
    """

    symbols: np.ndarray
    codebook: np.ndarray
    zero_symbol: int
    step: float
    dither: Dither

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the decoded tensor."""
        return tuple(int(d) for d in self.symbols.shape)


@dataclass(frozen=True)
class SparseTensor:
    """Ask the writer to store ``array`` as kind SPARSE (lossless, size grows with the non-zeros).

    The file holds the C-order bitmap of non-zero elements and the non-zero elements
    split into byte planes; a reader returns the dense array. "Non-zero" means any bit
    pattern other than all zero bits, so ``-0.0`` survives.

    Attributes:
        array: the dense values, of any dtype a RAW tensor may have.

    Example:
        >>> SparseTensor(np.array([0.0, -0.0, 2.5], np.float32)).nnz
        2
    """

    array: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the decoded tensor."""
        return tuple(int(d) for d in np.shape(self.array))

    @property
    def nnz(self) -> int:
        """Number of elements whose bits are not all zero."""
        array = np.ascontiguousarray(self.array)
        return int(np.count_nonzero(array.reshape(-1).view(f"u{array.dtype.itemsize}")))
