"""Stored bytes of a SPARSE tensor (spec: "Sparse tensors"): non-zero bitmap, then byte planes.

For a tensor of ``N`` elements of ``w`` bytes with ``nnz`` non-zeros (elements whose
bits are not all zero)::

    bitmap   ceil(N / 8) bytes   bit i (C order) = element i is non-zero; 8 per byte, MSB
                                 first (numpy.packbits order); padding bits are 0
    plane 0  nnz bytes           most significant byte of each non-zero, in C order
    ...
    plane w-1 nnz bytes          least significant byte of each non-zero

Splitting the values into planes keeps the sign/exponent bytes of floats together,
apart from their noisy low mantissa bytes, which helps every codec.
"""

from __future__ import annotations

import numpy as np

from formats.errors import CodecError


def pack_sparse(array: np.ndarray) -> tuple[bytes, int]:
    """Stored bytes and ``nnz`` of an array already in its little-endian wire dtype.

    Example:
        >>> pack_sparse(np.array([0, 258, 0], "<i2"))
        (b'@\\x01\\x02', 1)
    """
    flat = np.ascontiguousarray(array).reshape(-1)
    width = flat.dtype.itemsize
    nonzero = flat.view(f"u{width}") != 0
    planes = flat[nonzero].view(np.uint8).reshape(-1, width)[:, ::-1].T
    return np.packbits(nonzero).tobytes() + np.ascontiguousarray(planes).tobytes(), int(planes.shape[1])


def unpack_sparse(data: bytes, shape: tuple[int, ...], dtype: np.dtype, nnz: int, name: str) -> np.ndarray:
    """Dense array of a SPARSE payload's stored bytes (``len(data)`` is already the declared size).

    Raises:
        CodecError: padding bits set, a bitmap popcount other than ``nnz``, or a "non-zero"
            element whose bytes are all zero.
    """
    count = int(np.prod(shape, dtype=object)) if shape else 1
    width = dtype.itemsize
    map_bytes = (count + 7) // 8
    bits = np.unpackbits(np.frombuffer(data, np.uint8, map_bytes))
    if bits[count:].any():
        raise CodecError(f"tensor {name!r}: sparse bitmap has padding bits set after element {count}")
    nonzero = bits[:count].view(bool)
    found = int(np.count_nonzero(nonzero))
    if found != nnz:
        raise CodecError(f"tensor {name!r}: sparse bitmap marks {found} non-zeros, the record says nnz={nnz}")
    planes = np.frombuffer(data, np.uint8, nnz * width, map_bytes).reshape(width, nnz)
    if nnz and not planes.any(axis=0).all():
        raise CodecError(f"tensor {name!r}: an element marked non-zero has all-zero bytes")
    out = np.zeros(count, dtype)
    out[nonzero] = np.ascontiguousarray(planes[::-1].T).view(dtype).reshape(-1)
    return out.reshape(shape)
