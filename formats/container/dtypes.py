"""numpy <-> wire dtype mapping, bfloat16 bits, little-endian element bytes."""

from __future__ import annotations

import numpy as np

from formats.ids import NUMPY_DTYPES, DType

# numpy dtype (native order, by kind+itemsize) -> wire dtype. uint16 maps to UINT16;
# bfloat16 needs an explicit DType.BFLOAT16 (or an ml_dtypes bfloat16 array).
_FROM_NUMPY: dict[str, DType] = {
    "f4": DType.FLOAT32,
    "f2": DType.FLOAT16,
    "f8": DType.FLOAT64,
    "i1": DType.INT8,
    "u1": DType.UINT8,
    "i2": DType.INT16,
    "u2": DType.UINT16,
    "i4": DType.INT32,
    "u4": DType.UINT32,
    "i8": DType.INT64,
    "u8": DType.UINT64,
    "b1": DType.BOOL,
}


def wire_dtype(array: np.ndarray, override: DType | int | None = None) -> DType:
    """Wire dtype of ``array``; ``override`` (e.g. ``DType.BFLOAT16`` for uint16 bits) wins.

    Raises:
        ValueError: the numpy dtype has no wire id, or the override does not match its width.
    """
    if array.dtype.name == "bfloat16":  # ml_dtypes arrays, if the caller has them
        found = DType.BFLOAT16
    else:
        found = _FROM_NUMPY.get(f"{array.dtype.kind}{array.dtype.itemsize}")
    if override is not None:
        wanted = DType(int(override))
        bits16 = array.dtype.kind in "ui" and array.dtype.itemsize == 2
        if wanted != found and not (wanted == DType.BFLOAT16 and bits16):
            raise ValueError(
                f"cannot store a {array.dtype} array as {wanted.name}; bfloat16 is given as uint16 bits"
            )
        return wanted
    if found is None:
        supported = ", ".join(sorted(_FROM_NUMPY))
        raise ValueError(f"numpy dtype {array.dtype} cannot be stored; supported: {supported} (and bfloat16)")
    return found


def element_bytes(array: np.ndarray, dtype: DType) -> bytes:
    """Little-endian, C-order bytes of ``array`` stored as ``dtype``."""
    target = NUMPY_DTYPES[dtype]
    if dtype == DType.BFLOAT16 and array.dtype.kind != "u":
        array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")).view(np.uint16)
    return np.ascontiguousarray(array, dtype=target).tobytes()


def bfloat16_to_float32(bits: np.ndarray) -> np.ndarray:
    """Widen bfloat16 bit patterns (uint16) to float32 exactly.

    Example:
        >>> float(bfloat16_to_float32(np.array([0x3F80], np.uint16))[0])
        1.0
    """
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << np.uint32(16)).view(np.float32)
