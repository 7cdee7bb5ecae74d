"""Tensor records of the header (spec: "Tensor record"): typed objects, wire maps, validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formats.container.fields import FieldReader
from formats.container.limits import Limits
from formats.errors import HeaderError, LimitError, UnknownIdError
from formats.ids import NUMPY_DTYPES, CodecId, DType, PrngId, TensorKind
from formats.tensors import Dither

SYMBOL_DTYPES = (DType.UINT8, DType.UINT16)


@dataclass(frozen=True, eq=False)
class TensorRecord:
    """Everything the header says about one tensor.

    Attributes:
        name: unique tensor name.
        shape: decoded shape.
        dtype: dtype of decoded values (FLOAT32 for quantized tensors).
        kind: RAW (payload = elements) or QUANTIZED (payload = codebook symbols).
        codec: codec id of the payload.
        offset: payload start, relative to the payload section.
        length: payload bytes.
        crc32: CRC-32 of the payload bytes.
        sha256: SHA-256 of the decoded tensor bytes (little-endian, C order).
        attrs: free per-tensor attributes (e.g. ``{"winograd": {"m": 4, "r": 3}}``).
        symbol_dtype: UINT8 or UINT16 (quantized only).
        codebook: read-only float32 codebook (quantized only).
        zero_symbol: symbol of pruned weights (quantized only).
        step: quantization step Δ, a float32 value (quantized only).
        dither: dither descriptor (quantized only).
    """

    name: str
    shape: tuple[int, ...]
    dtype: DType
    kind: TensorKind
    codec: int
    offset: int
    length: int
    crc32: int
    sha256: bytes
    attrs: dict[str, Any] = field(default_factory=dict)
    symbol_dtype: DType | None = None
    codebook: np.ndarray | None = None
    zero_symbol: int | None = None
    step: float | None = None
    dither: Dither | None = None

    @property
    def num_elements(self) -> int:
        """Number of elements (1 for a 0-d tensor)."""
        return int(np.prod(self.shape, dtype=object)) if self.shape else 1

    @property
    def stored_itemsize(self) -> int:
        """Bytes per element of the decoded payload (symbols for quantized tensors)."""
        return NUMPY_DTYPES[self.symbol_dtype if self.kind == TensorKind.QUANTIZED else self.dtype].itemsize

    @property
    def stored_size(self) -> int:
        """Bytes the codec must produce for this payload."""
        return self.num_elements * self.stored_itemsize

    @property
    def decoded_size(self) -> int:
        """Bytes of the decoded tensor (what the SHA-256 covers)."""
        return self.num_elements * NUMPY_DTYPES[self.dtype].itemsize

    def to_wire(self) -> dict[str, Any]:
        """The record as a msgpack map (not yet canonicalized)."""
        out: dict[str, Any] = {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": int(self.dtype),
            "kind": int(self.kind),
            "codec": int(self.codec),
            "offset": self.offset,
            "length": self.length,
            "crc32": self.crc32,
            "sha256": self.sha256,
            "attrs": self.attrs,
        }
        if self.kind == TensorKind.QUANTIZED:
            if self.codebook is None or self.dither is None or self.symbol_dtype is None:
                raise ValueError(f"quantized record {self.name!r} lacks its codebook, dither or symbol dtype")
            out.update(
                symbol_dtype=int(self.symbol_dtype),
                codebook=self.codebook.astype("<f4").tobytes(),
                zero_symbol=self.zero_symbol,
                step=float(self.step),
                dither={
                    "prng": int(self.dither.prng),
                    "seed": self.dither.seed,
                    "stream": self.dither.stream,
                },
            )
        return out


def _wire_id(enum: type, value: int, what: str, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(f"{int(m)}={m.name}" for m in enum)
        raise UnknownIdError(
            f"{where}: unknown {what} id {value} (known: {known}); needs a newer reader"
        ) from None


def parse_record(data: Any, index: int, limits: Limits, *, lenient: bool) -> TensorRecord:
    """Validate one wire record; raise the specific :class:`FormatError` subclass on any defect."""
    where = f"tensor record {index}"
    f = FieldReader(data, where, lenient=lenient)
    name = f.string("name")
    where = f"tensor {name!r}"
    if not name:
        raise HeaderError(f"{where}: tensor names must not be empty")
    if len(name.encode("utf-8")) > limits.max_name_bytes:
        raise LimitError(f"tensor name of {len(name.encode('utf-8'))} bytes exceeds {limits.max_name_bytes}")
    dims = f.array("shape")
    if len(dims) > limits.max_dims:
        raise LimitError(f"{where} has {len(dims)} dimensions, above the limit of {limits.max_dims}")
    count = 1
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int) or d < 0:
            raise HeaderError(f"{where}: shape {dims!r} must hold non-negative integers")
        count *= d
        if count > limits.max_elements:  # checked at every step: the product never grows unbounded
            raise LimitError(f"{where}: shape {dims!r} has more than {limits.max_elements} elements")
    dtype = _wire_id(DType, f.uint("dtype", 255), "dtype", where)
    kind = _wire_id(TensorKind, f.uint("kind", 255), "tensor kind", where)
    codec = int(_wire_id(CodecId, f.uint("codec", 255), "codec", where))
    offset, length = f.uint("offset"), f.uint("length")
    crc32 = f.uint("crc32", 0xFFFFFFFF)
    sha256 = f.binary("sha256")
    if len(sha256) != 32:
        raise HeaderError(f"{where}: 'sha256' must be 32 bytes, got {len(sha256)}")
    attrs = f.mapping("attrs")
    quantized: dict[str, Any] = {}
    if kind == TensorKind.QUANTIZED:
        quantized = _parse_quantized(f, dtype, where, lenient)
    f.finish()
    return TensorRecord(
        name, tuple(dims), dtype, kind, codec, offset, length, crc32, sha256, attrs, **quantized
    )


def _parse_quantized(f: FieldReader, dtype: DType, where: str, lenient: bool) -> dict[str, Any]:
    if dtype != DType.FLOAT32:
        raise HeaderError(f"{where}: a quantized tensor must have dtype FLOAT32, got {dtype.name}")
    symbol_dtype = _wire_id(DType, f.uint("symbol_dtype", 255), "symbol dtype", where)
    if symbol_dtype not in SYMBOL_DTYPES:
        raise HeaderError(f"{where}: symbol_dtype must be UINT8 or UINT16, got {symbol_dtype.name}")
    blob = f.binary("codebook")
    max_symbols = 1 << (8 * NUMPY_DTYPES[symbol_dtype].itemsize)
    if len(blob) % 4 or not 4 <= len(blob) <= 4 * max_symbols:
        raise HeaderError(
            f"{where}: codebook is {len(blob)} bytes; it must hold 1..{max_symbols} float32 values"
        )
    codebook = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    codebook.setflags(write=False)
    if not np.isfinite(codebook).all():
        raise HeaderError(f"{where}: codebook holds NaN or infinity")
    zero_symbol = f.uint("zero_symbol", codebook.size - 1)
    if codebook[zero_symbol] != 0.0:
        raise HeaderError(
            f"{where}: codebook[zero_symbol={zero_symbol}] is {codebook[zero_symbol]}, must be 0"
        )
    step = f.real("step")
    if not (np.isfinite(step) and step > 0 and float(np.float32(step)) == step):
        raise HeaderError(f"{where}: step {step!r} must be a finite, positive float32 value")
    g = FieldReader(f.mapping("dither"), f"{where} dither", lenient=lenient)
    prng = _wire_id(PrngId, g.uint("prng", 255), "dither prng", where)
    dither = Dither(prng, g.uint("seed"), g.uint("stream"))
    g.finish()
    return {
        "symbol_dtype": symbol_dtype,
        "codebook": codebook,
        "zero_symbol": zero_symbol,
        "step": step,
        "dither": dither,
    }
