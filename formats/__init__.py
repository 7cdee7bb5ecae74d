"""dualsparse deploy-time side: the ``.dsz`` container, codecs and loader (numpy only, never torch).

Example:
    >>> import numpy as np, formats
    >>> q = formats.quantize_dithered(np.array([0.4, -0.05, 1.3]), 0.25, seed=7, name="w")
    >>> blob = formats.dumps({"w": q})
    >>> formats.loads(blob)["w"].dtype
    dtype('float32')
"""

from formats.container import (
    DEFAULT_LIMITS,
    Limits,
    Producer,
    Reader,
    TensorRecord,
    Writer,
    dumps,
    loads,
    open_dsz,
    save,
)
from formats.container.dtypes import bfloat16_to_float32
from formats.container.rewrite import strip, with_header
from formats.dither import dither_values, stream_for_name
from formats.errors import FormatError
from formats.ids import CodecId, DType, PrngId, TensorKind
from formats.loader import load, stored_winograd_sparsity, winograd_tiles
from formats.quantize import dequantize, quantize_dithered, step_for_bits, step_for_percentile
from formats.tensors import Dither, QuantizedTensor, SparseTensor

__all__ = [
    "DEFAULT_LIMITS",
    "CodecId",
    "DType",
    "Dither",
    "FormatError",
    "Limits",
    "PrngId",
    "Producer",
    "QuantizedTensor",
    "Reader",
    "SparseTensor",
    "TensorKind",
    "TensorRecord",
    "Writer",
    "bfloat16_to_float32",
    "dequantize",
    "dither_values",
    "dumps",
    "load",
    "loads",
    "open_dsz",
    "quantize_dithered",
    "save",
    "step_for_bits",
    "step_for_percentile",
    "stored_winograd_sparsity",
    "stream_for_name",
    "strip",
    "winograd_tiles",
    "with_header",
]
