"""One tensor <-> its payload bytes and record (spec: "Tensor payloads", "Integrity")."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from formats import codecs
from formats.container import wire
from formats.container.codec_choice import encode_payload
from formats.container.dtypes import element_bytes, wire_dtype
from formats.container.limits import Limits
from formats.container.records import TensorRecord, digest64, symbol_dtype_for
from formats.container.sparse import pack_sparse, unpack_sparse
from formats.errors import ChecksumError, CodecError, FormatError, LimitError
from formats.ids import NUMPY_DTYPES, DType, PrngId, TensorKind
from formats.quantize import MAX_SYMBOLS, dequantize
from formats.tensors import Dither, QuantizedTensor, SparseTensor

Tensor = np.ndarray | QuantizedTensor | SparseTensor


def crc32(data: bytes) -> int:
    """CRC-32 (zlib, ISO-HDLC polynomial) of ``data``."""
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_tensor(
    name: str,
    tensor: Tensor,
    *,
    codec: str | int,
    attrs: Mapping[str, Any] | None,
    dtype: DType | int | None,
    limits: Limits,
) -> tuple[TensorRecord, bytes]:
    """Validate a tensor and build its record (offset 0) and payload.

    An ndarray is stored as kind RAW, a :class:`QuantizedTensor` as QUANTIZED, a
    :class:`SparseTensor` as SPARSE (``dtype`` overrides the wire dtype of RAW and SPARSE).

    Raises:
        ValueError: unsupported dtype or malformed quantized tensor.
        LimitError: the tensor exceeds a reader limit.
    """
    attrs_wire = wire.canonical(
        dict(attrs or {}), depth=4, max_depth=limits.max_depth, what=f"{name!r} attrs"
    )
    if isinstance(tensor, QuantizedTensor):
        return _encode_quantized(name, tensor, codec, attrs_wire, limits)
    kind = TensorKind.SPARSE if isinstance(tensor, SparseTensor) else TensorKind.RAW
    array = np.asarray(tensor.array if isinstance(tensor, SparseTensor) else tensor)
    stored = wire_dtype(array, dtype)
    _check_shape(name, array.shape, limits)
    data = element_bytes(array, stored)
    nnz = None
    stored_bytes, itemsize = data, NUMPY_DTYPES[stored].itemsize
    if kind == TensorKind.SPARSE:
        stored_bytes, nnz = pack_sparse(np.frombuffer(data, NUMPY_DTYPES[stored]))
        itemsize = 1
    codec_id, payload = encode_payload(stored_bytes, itemsize, codec, limits, decoded_size=len(data))
    record = TensorRecord(
        name, tuple(int(d) for d in array.shape), stored, kind, codec_id, 0, len(payload),
        crc32(payload), digest64(data), attrs_wire, nnz=nnz,
    )
    return record, payload


def _encode_quantized(
    name: str, q: QuantizedTensor, codec: str | int, attrs: dict[str, Any], limits: Limits
) -> tuple[TensorRecord, bytes]:
    q = normalize_quantized(q)
    _check_shape(name, q.shape, limits)
    symbol_dtype = symbol_dtype_for(q.codebook.size)
    data = q.symbols.astype(NUMPY_DTYPES[symbol_dtype]).tobytes()
    decoded = dequantize(q).astype("<f4").tobytes()
    codec_id, payload = encode_payload(
        data, NUMPY_DTYPES[symbol_dtype].itemsize, codec, limits, decoded_size=len(decoded)
    )
    record = TensorRecord(
        name, q.shape, DType.FLOAT32, TensorKind.QUANTIZED, codec_id, 0, len(payload), crc32(payload),
        digest64(decoded), attrs, symbol_dtype, q.codebook, q.zero_symbol, q.step, q.dither,
    )
    return record, payload


def normalize_quantized(q: QuantizedTensor) -> QuantizedTensor:
    """Check a :class:`QuantizedTensor` and return it with canonical dtypes.

    Symbols become uint8 for codebooks of at most 256 values, else uint16; the step is
    rounded to float32; the codebook becomes a read-only float32 vector.

    Raises:
        ValueError: bad symbols, codebook, zero symbol, step or dither.
    """
    codebook = np.array(q.codebook, dtype=np.float32).reshape(-1)
    if not 1 <= codebook.size <= MAX_SYMBOLS or not np.isfinite(codebook).all():
        raise ValueError(f"codebook must hold 1..{MAX_SYMBOLS} finite values, got {codebook.size}")
    zero = q.zero_symbol
    if isinstance(zero, bool) or not isinstance(zero, int | np.integer) or not 0 <= zero < codebook.size:
        raise ValueError(f"zero_symbol {zero!r} must index the codebook of {codebook.size} values")
    if codebook[zero] != 0.0:
        raise ValueError(f"codebook[zero_symbol] is {codebook[zero]}, must be 0.0")
    codebook[zero] = 0.0  # -0.0 -> +0.0
    codebook.setflags(write=False)
    symbols = np.asarray(q.symbols)
    if symbols.dtype.kind not in "ui":
        raise ValueError(f"symbols must be an integer array, got {symbols.dtype}")
    if symbols.size and (int(symbols.min()) < 0 or int(symbols.max()) >= codebook.size):
        raise ValueError(f"symbols must lie in [0, {codebook.size}), got {symbols.min()}..{symbols.max()}")
    symbols = symbols.astype(np.uint8 if codebook.size <= 256 else np.uint16, order="C")
    step = np.float32(q.step)
    if not (np.isfinite(step) and step > 0):
        raise ValueError(f"step {q.step!r} must be a finite float32 > 0")
    d = q.dither
    dither = Dither(PrngId(int(d.prng)), int(d.seed), int(d.stream))
    for what, value in (("seed", dither.seed), ("stream", dither.stream)):
        if not 0 <= value < 1 << 64:
            raise ValueError(f"dither {what} {value} must be in [0, 2**64)")
    return QuantizedTensor(symbols, codebook, int(zero), float(step), dither)


def _check_shape(name: str, shape: tuple[int, ...], limits: Limits) -> None:
    if not name or len(name.encode("utf-8")) > limits.max_name_bytes:
        raise LimitError(f"tensor name {name[:40]!r} must be 1..{limits.max_name_bytes} UTF-8 bytes")
    if len(shape) > limits.max_dims:
        raise LimitError(f"tensor {name!r} has {len(shape)} dims, above the limit of {limits.max_dims}")
    if int(np.prod(shape, dtype=object)) > limits.max_elements:
        raise LimitError(f"tensor {name!r} has more than {limits.max_elements} elements")


def decode_stored(record: TensorRecord, payload: bytes) -> np.ndarray:
    """Check the payload CRC and decode it to the stored array (elements, symbols, or for a
    SPARSE record the dense elements).

    Raises:
        ChecksumError: CRC mismatch.
        CodecError: the codec fails, returns the wrong size, or the values are invalid.
        UnknownIdError: this build has no implementation of the codec.
    """
    check_crc(record, payload)
    codec = codecs.get_codec(record.codec)
    try:
        data = codec.decode(bytes(payload), record.stored_size, record.stored_itemsize)
    except FormatError:
        raise
    except Exception as exc:  # third-party codec libraries raise their own types on corrupt input
        raise CodecError(f"tensor {record.name!r}: {codec.name} payload does not decode: {exc}") from None
    return stored_from_bytes(record, data)


def check_crc(record: TensorRecord, payload: bytes) -> None:
    """Raise :class:`ChecksumError` unless the payload's CRC-32 matches the record.

    A record without a CRC-32 (RAW/RAW in 2.0, spec 4.8) has its ``sha256_64`` checked here instead, on the
    payload bytes, which are its decoded bytes: damage is a :class:`ChecksumError` before any value check.
    """
    if record.crc32 is None:
        digest = digest64(payload)
        if digest != record.sha256_64:
            raise ChecksumError(
                f"tensor {record.name!r}: SHA-256 (first 8 bytes) of the payload (its decoded values) is "
                f"{digest.hex()}, header says {record.sha256_64.hex()}; the file is corrupt"
            )
        return
    if crc32(payload) != record.crc32:
        raise ChecksumError(
            f"tensor {record.name!r}: payload CRC-32 is {crc32(payload):#010x}, header says "
            f"{record.crc32:#010x}; the file is corrupt"
        )


def stored_from_bytes(record: TensorRecord, data: bytes) -> np.ndarray:
    """The stored array of a record from its decoded stored bytes, with the size and value checks.

    Raises:
        CodecError: wrong size, or values invalid for the record (symbol >= K, BOOL byte > 1, sparse defects).
    """
    if len(data) != record.stored_size:
        raise CodecError(
            f"tensor {record.name!r}: codec returned {len(data)} bytes, expected {record.stored_size}"
        )
    if record.kind == TensorKind.SPARSE:
        array = unpack_sparse(data, record.shape, NUMPY_DTYPES[record.dtype], record.nnz or 0, record.name)
    else:
        stored_dtype = record.symbol_dtype if record.kind == TensorKind.QUANTIZED else record.dtype
        array = np.frombuffer(data, dtype=NUMPY_DTYPES[stored_dtype]).reshape(record.shape)
    if record.dtype == DType.BOOL and array.size and int(array.view(np.uint8).max()) > 1:
        raise CodecError(f"tensor {record.name!r}: bool payload holds bytes other than 0 and 1")
    if record.kind == TensorKind.QUANTIZED and array.size:
        top = int(array.max())
        if top >= record.codebook.size:
            raise CodecError(
                f"tensor {record.name!r}: symbol {top} is out of range for a codebook of "
                f"{record.codebook.size}"
            )
    return array


def to_quantized(record: TensorRecord, symbols: np.ndarray) -> QuantizedTensor:
    """Wrap decoded symbols with the record's codebook and dither."""
    return QuantizedTensor(symbols, record.codebook, record.zero_symbol, record.step, record.dither)


def check_digest(record: TensorRecord, decoded: np.ndarray) -> None:
    """Raise :class:`ChecksumError` unless the first 8 bytes of SHA-256 of the decoded
    little-endian bytes match the record's ``sha256_64``. A RAW/RAW record read from 2.0 (no ``crc32``)
    passes: its decoded bytes are its payload bytes, whose ``sha256_64`` :func:`check_crc` checked."""
    if record.crc32 is None:
        return
    data = np.ascontiguousarray(decoded, dtype=NUMPY_DTYPES[record.dtype]).tobytes()
    digest = digest64(data)
    if digest != record.sha256_64:
        raise ChecksumError(
            f"tensor {record.name!r}: SHA-256 (first 8 bytes) of decoded values is {digest.hex()}, header "
            f"says {record.sha256_64.hex()}; the file is corrupt or the decoder is wrong"
        )
