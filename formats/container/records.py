"""Tensor records of the header (spec: "Tensor record"): typed objects, wire maps, validation."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from formats.container.fields import FieldReader
from formats.container.limits import Limits
from formats.dither import stream_for_name
from formats.errors import HeaderError, LimitError, UnknownIdError
from formats.ids import NUMPY_DTYPES, CodecId, DType, PrngId, TensorKind
from formats.quantize import MAX_SYMBOLS, uniform_codebook
from formats.tensors import Dither

DIGEST_BYTES = 8


def digest64(data: bytes) -> bytes:
    """First 8 bytes of SHA-256 of ``data`` (the record's ``sha256_64``)."""
    return hashlib.sha256(data).digest()[:DIGEST_BYTES]


def symbol_dtype_for(codebook_size: int) -> DType:
    """Width of stored symbols: UINT8 for at most 256 codebook entries, else UINT16."""
    return DType.UINT8 if codebook_size <= 256 else DType.UINT16


@dataclass(frozen=True, eq=False)
class TensorRecord:
    """Everything the header says about one tensor.

    Attributes:
        name: unique tensor name.
        shape: decoded shape.
        dtype: dtype of decoded values (FLOAT32 for quantized tensors).
        kind: RAW (payload = elements), QUANTIZED (payload = codebook symbols) or SPARSE
            (payload = non-zero bitmap + byte planes of the non-zeros).
        codec: codec id of the payload.
        offset: payload start, relative to the payload section (not stored: the sum of
            the lengths of the records before this one).
        length: payload bytes.
        crc32: CRC-32 of the payload bytes; None for a RAW/RAW record read from a 2.0 file, whose
            ``sha256_64`` covers its payload bytes (they are its decoded bytes).
        sha256_64: first 8 bytes of SHA-256 of the decoded tensor bytes (little-endian, C order).
        attrs: free per-tensor attributes (e.g. ``{"winograd": {"m": 4, "r": 3}}``).
        symbol_dtype: UINT8 or UINT16, derived from the codebook size (quantized only).
        codebook: read-only float32 codebook (quantized only).
        zero_symbol: symbol of pruned weights (quantized only).
        step: quantization step Δ, a float32 value (quantized only).
        dither: dither descriptor (quantized only).
        nnz: number of non-zero elements (sparse only).
    """

    name: str
    shape: tuple[int, ...]
    dtype: DType
    kind: TensorKind
    codec: int
    offset: int
    length: int
    crc32: int | None
    sha256_64: bytes
    attrs: dict[str, Any] = field(default_factory=dict)
    symbol_dtype: DType | None = None
    codebook: np.ndarray | None = None
    zero_symbol: int | None = None
    step: float | None = None
    dither: Dither | None = None
    nnz: int | None = None

    @property
    def num_elements(self) -> int:
        """Number of elements (1 for a 0-d tensor)."""
        return math.prod(self.shape)  # Python integers: exact, and 1 for a 0-d tensor

    @property
    def stored_itemsize(self) -> int:
        """Symbol width the codec sees: the element width (RAW), the symbol width (QUANTIZED), 1 (SPARSE)."""
        if self.kind == TensorKind.QUANTIZED:
            return NUMPY_DTYPES[self.symbol_dtype].itemsize
        if self.kind == TensorKind.SPARSE:
            return 1
        return NUMPY_DTYPES[self.dtype].itemsize

    @property
    def stored_size(self) -> int:
        """Bytes the codec must produce for this payload (S)."""
        if self.kind == TensorKind.SPARSE:
            return (self.num_elements + 7) // 8 + (self.nnz or 0) * NUMPY_DTYPES[self.dtype].itemsize
        return self.num_elements * self.stored_itemsize

    @property
    def decoded_size(self) -> int:
        """Bytes of the decoded tensor (what the SHA-256 covers)."""
        return self.num_elements * NUMPY_DTYPES[self.dtype].itemsize

    def to_wire(self) -> dict[str, Any]:
        """The record as a msgpack map (not yet canonicalized), default-valued fields omitted.

        Omitted: empty ``attrs``; a uniform codebook (replaced by ``codebook_size``); a
        dither ``stream`` equal to :func:`formats.dither.stream_for_name` of the name.
        """
        out: dict[str, Any] = {
            "name": self.name,
            "shape": list(self.shape),
            "dtype": int(self.dtype),
            "kind": int(self.kind),
            "codec": int(self.codec),
            "length": self.length,
            "sha256_64": self.sha256_64,
        }
        if self.crc32 is not None:
            out["crc32"] = self.crc32
        if self.attrs:
            out["attrs"] = self.attrs
        if self.kind == TensorKind.QUANTIZED:
            out.update(self._quantized_wire())
        elif self.kind == TensorKind.SPARSE:
            out["nnz"] = self.nnz
        return out

    def _quantized_wire(self) -> dict[str, Any]:
        if self.codebook is None or self.dither is None or self.step is None or self.zero_symbol is None:
            raise ValueError(f"quantized record {self.name!r} lacks its codebook, step or dither")
        codebook = self.codebook.astype("<f4").tobytes()
        uniform = uniform_codebook(self.codebook.size, self.zero_symbol, self.step).astype("<f4").tobytes()
        dither: dict[str, Any] = {"prng": int(self.dither.prng), "seed": self.dither.seed}
        if self.dither.stream != stream_for_name(self.name):
            dither["stream"] = self.dither.stream
        out: dict[str, Any] = {"zero_symbol": self.zero_symbol, "step": float(self.step), "dither": dither}
        if codebook == uniform:
            out["codebook_size"] = int(self.codebook.size)
        else:
            out["codebook"] = codebook
        return out


def _wire_id(enum: type, value: int, what: str, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(f"{int(m)}={m.name}" for m in enum)
        raise UnknownIdError(
            f"{where}: unknown {what} id {value} (known: {known}); needs a newer reader"
        ) from None


def parse_record(data: Any, index: int, limits: Limits, *, lenient: bool, digest_only: bool = False) -> TensorRecord:
    """Validate one wire record; raise the specific :class:`FormatError` subclass on any defect.

    ``digest_only`` (version 2.0): a record of codec RAW and kind RAW has no ``crc32``; its ``sha256_64``
    covers its payload bytes, which are its decoded bytes.
    """
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
    length = f.uint("length")
    crc32: int | None = None
    if not digest_only or codec != CodecId.RAW or kind != TensorKind.RAW:
        crc32 = f.uint("crc32", 0xFFFFFFFF)
    digest = f.binary("sha256_64")
    if len(digest) != DIGEST_BYTES:
        raise HeaderError(f"{where}: 'sha256_64' must be {DIGEST_BYTES} bytes, got {len(digest)}")
    attrs = f.mapping("attrs") if f.has("attrs") else {}
    extra: dict[str, Any] = {}
    if kind == TensorKind.QUANTIZED:
        extra = _parse_quantized(f, dtype, name, where, lenient)
    elif kind == TensorKind.SPARSE:
        extra = {"nnz": f.uint("nnz", count)}
    f.finish()
    return TensorRecord(
        name, tuple(dims), dtype, kind, codec, 0, length, crc32, digest, attrs, **extra
    )


def _parse_quantized(f: FieldReader, dtype: DType, name: str, where: str, lenient: bool) -> dict[str, Any]:
    if dtype != DType.FLOAT32:
        raise HeaderError(f"{where}: a quantized tensor must have dtype FLOAT32, got {dtype.name}")
    step = f.real("step")
    if not (np.isfinite(step) and step > 0 and float(np.float32(step)) == step):
        raise HeaderError(f"{where}: step {step!r} must be a finite, positive float32 value")
    if f.has("codebook") == f.has("codebook_size"):
        raise HeaderError(f"{where}: a quantized record needs exactly one of 'codebook' and 'codebook_size'")
    if f.has("codebook"):
        blob = f.binary("codebook")
        if len(blob) % 4 or not 4 <= len(blob) <= 4 * MAX_SYMBOLS:
            raise HeaderError(
                f"{where}: codebook is {len(blob)} bytes; it must hold 1..{MAX_SYMBOLS} float32 values"
            )
        zero_symbol = f.uint("zero_symbol", len(blob) // 4 - 1)
        codebook = np.frombuffer(blob, dtype="<f4").astype(np.float32)
    else:
        size = f.uint("codebook_size", MAX_SYMBOLS)
        if size == 0:
            raise HeaderError(f"{where}: codebook_size must be 1..{MAX_SYMBOLS}, got 0")
        zero_symbol = f.uint("zero_symbol", size - 1)
        codebook = uniform_codebook(size, zero_symbol, step)
    codebook.setflags(write=False)
    if not np.isfinite(codebook).all():
        raise HeaderError(f"{where}: codebook holds NaN or infinity")
    if codebook[zero_symbol] != 0.0:
        raise HeaderError(
            f"{where}: codebook[zero_symbol={zero_symbol}] is {codebook[zero_symbol]}, must be 0"
        )
    g = FieldReader(f.mapping("dither"), f"{where} dither", lenient=lenient)
    prng = _wire_id(PrngId, g.uint("prng", 255), "dither prng", where)
    stream = g.uint("stream") if g.has("stream") else stream_for_name(name)
    dither = Dither(prng, g.uint("seed"), stream)
    g.finish()
    return {
        "symbol_dtype": symbol_dtype_for(codebook.size),
        "codebook": codebook,
        "zero_symbol": zero_symbol,
        "step": step,
        "dither": dither,
    }
