"""Wire identifiers of the ``.dsz`` format, fixed by ``spec/FORMAT.md``.

Every number here is part of the file format: never renumber, never derive from
registry order. Values not listed are reserved; a reader MUST reject them with
:class:`formats.errors.UnknownIdError`.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class CodecId(IntEnum):
    """Entropy / general-purpose coder applied to one tensor payload (spec: "Codec ids")."""

    RAW = 0
    ZSTD = 1
    BROTLI = 2
    BZIP2 = 3
    LZMA = 4
    LZW = 5
    RANS = 6
    RANS_ZS = 7
    """Zero-split rANS: flag bits and residual symbols as two codec-6 streams (spec/CODECS.md 5)."""
    RANS_CTX = 8
    """Context rANS: group counts, pattern ranks, magnitudes and sign tokens on shared lanes (spec/CODECS.md 6)."""
    # 9..127 reserved for future standard codecs; 128..255 reserved for private use.


class DType(IntEnum):
    """Element type of a decoded tensor or of a stored symbol stream (spec: "Dtype ids")."""

    FLOAT32 = 1
    FLOAT16 = 2
    BFLOAT16 = 3
    FLOAT64 = 4
    INT8 = 5
    UINT8 = 6
    INT16 = 7
    UINT16 = 8
    INT32 = 9
    UINT32 = 10
    INT64 = 11
    UINT64 = 12
    BOOL = 13
    # 0 and 14..255 reserved.


class TensorKind(IntEnum):
    """How a tensor payload is turned into values (spec: "Tensor kinds")."""

    RAW = 0
    """The payload holds the tensor's elements, little-endian, C order."""
    QUANTIZED = 1
    """The payload holds codebook symbols; values come from the codebook, minus the dither."""
    SPARSE = 2
    """The payload holds the non-zero bitmap, then the non-zero elements as byte planes (lossless)."""
    # 3..255 reserved.


class PrngId(IntEnum):
    """Generator of the quantization dither (spec: "Dither")."""

    NONE = 0
    """No dither: decoded value is the codebook value."""
    SPLITMIX64 = 1
    """Counter-based SplitMix64 over (seed, stream, element index)."""
    # 2..255 reserved.


#: numpy dtype of each :class:`DType` (little-endian). bfloat16 is stored as its raw
#: 16-bit pattern; numpy has no bfloat16, so it is exposed as ``uint16`` bits and
#: widened to float32 by :func:`formats.bfloat16_to_float32`
#: (defined in :mod:`formats.container.dtypes`).
NUMPY_DTYPES: dict[DType, np.dtype] = {
    DType.FLOAT32: np.dtype("<f4"),
    DType.FLOAT16: np.dtype("<f2"),
    DType.BFLOAT16: np.dtype("<u2"),
    DType.FLOAT64: np.dtype("<f8"),
    DType.INT8: np.dtype("i1"),
    DType.UINT8: np.dtype("u1"),
    DType.INT16: np.dtype("<i2"),
    DType.UINT16: np.dtype("<u2"),
    DType.INT32: np.dtype("<i4"),
    DType.UINT32: np.dtype("<u4"),
    DType.INT64: np.dtype("<i8"),
    DType.UINT64: np.dtype("<u8"),
    DType.BOOL: np.dtype("?"),
}
