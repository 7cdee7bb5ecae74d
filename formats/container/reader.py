"""Random-access ``.dsz`` reader: :func:`open_dsz`, :class:`Reader`, :func:`loads`.

Opening validates the whole layout before any tensor is allocated (spec: "Reader
duties", in this order): magic, version, preamble fields and sizes, exact file length,
header CRC, bounded inflate of the stored header, bounded msgpack scan, header schema,
ids, limits, duplicate names, payload ranges, and the reader's cap on the total decoded size
tied to the file's size (spec 10.3). Reading one tensor touches only its own
payload: CRC, codec decode to the declared size, value checks, dequantization or sparse
expansion, truncated SHA-256 of the decoded bytes. :meth:`Reader.read_many` (used by
:func:`loads` and :func:`formats.load`) runs the same checks but decodes all rANS payloads
of the file in one vectorised batch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from formats.codecs.batch import decode_batch
from formats.container.dtypes import bfloat16_to_float32
from formats.container.header import Header, Producer, parse_header
from formats.container.header_codec import inflate_header
from formats.container.layout import check_decoded_total, check_layout
from formats.container.limits import DEFAULT_LIMITS, Limits
from formats.container.payload import check_crc, check_digest, decode_stored, stored_from_bytes, to_quantized
from formats.container.preamble import PREAMBLE_SIZE, check_header_crc, parse_preamble
from formats.container.records import TensorRecord
from formats.errors import FormatError, TensorNotFoundError, TruncatedError
from formats.ids import CodecId, DType, TensorKind
from formats.quantize import dequantize
from formats.tensors import QuantizedTensor

Source = bytes | bytearray | memoryview | str | os.PathLike[str]

VERIFY_BATCH_BYTES = 1 << 25
"""Decoded bytes :meth:`Reader.verify` holds at once (32 MiB, or one tensor if larger)."""

READ_BATCH_BYTES = 1 << 18
"""Decoded bytes of the batched-codec tensors that :meth:`Reader.read_many` decodes together."""

#: Codecs whose payloads :meth:`Reader.read_many` decodes in one batch.
BATCHED_CODECS = frozenset({CodecId.RANS, CodecId.RANS_ZS, CodecId.RANS_CTX})


class Reader:
    """An open ``.dsz`` file. Use :func:`open_dsz` to create one.

    Attributes:
        version: ``(major, minor)`` of the file.
        producer: name and version of the writer.
        metadata: free string metadata.
        recipe: the recipe map, or None.
    """

    def __init__(self, source: Source, limits: Limits = DEFAULT_LIMITS) -> None:
        self._file: BinaryIO | None = None
        self._buffer: memoryview | None = None
        self._lock = threading.Lock()
        if isinstance(source, bytes | bytearray | memoryview):
            self._buffer = memoryview(source).cast("B")
            size = len(self._buffer)
        else:
            self._file = open(os.fspath(source), "rb")  # noqa: SIM115 (closed by close())
            size = os.fstat(self._file.fileno()).st_size
        try:
            self._open(size, limits)
        except BaseException:
            self.close()
            raise

    def _open(self, size: int, limits: Limits) -> None:
        first = self._read_at(0, min(PREAMBLE_SIZE, size))
        preamble = parse_preamble(first, size, limits)
        stored_header = self._read_at(PREAMBLE_SIZE, preamble.header_length)
        check_header_crc(first, stored_header, preamble)
        header_bytes = inflate_header(stored_header, preamble.header_raw_length)
        header = parse_header(header_bytes, preamble.minor, limits, preamble.major)
        check_layout(header.records, preamble.payload_length, limits)
        check_decoded_total(header.records, size, limits)
        self.version = (preamble.major, preamble.minor)
        self._header: Header = header
        self._payload_start = PREAMBLE_SIZE + preamble.header_length
        self._by_name = {r.name: r for r in header.records}

    @property
    def names(self) -> tuple[str, ...]:
        """Tensor names in file order."""
        return tuple(r.name for r in self._header.records)

    @property
    def records(self) -> tuple[TensorRecord, ...]:
        """Tensor records in file order."""
        return self._header.records

    @property
    def producer(self) -> Producer:
        return self._header.producer

    @property
    def metadata(self) -> dict[str, str]:
        return dict(self._header.metadata)

    @property
    def recipe(self) -> dict[str, Any] | None:
        return self._header.recipe

    def record(self, name: str) -> TensorRecord:
        """The record of ``name``; :class:`TensorNotFoundError` if absent."""
        try:
            return self._by_name[name]
        except KeyError:
            shown = ", ".join(repr(n) for n in self.names[:8])
            more = ", ..." if len(self.names) > 8 else ""
            raise TensorNotFoundError(f"no tensor named {name!r} in this file (has {shown}{more})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def read_payload(self, name: str) -> bytes:
        """The stored (encoded) payload bytes of one tensor, unchecked."""
        record = self.record(name)
        return self._read_at(self._payload_start + record.offset, record.length)

    def read(self, name: str, *, widen_bfloat16: bool = False) -> np.ndarray:
        """Decode one tensor (random access) and check its CRC and digest.

        Args:
            name: tensor name.
            widen_bfloat16: return bfloat16 tensors as float32 instead of their uint16 bits.

        Returns:
            A writable array: the stored elements for raw tensors, the dense elements for
            sparse ones, float32 values with the dither cancelled for quantized ones.

        Raises:
            TensorNotFoundError, ChecksumError, CodecError, UnknownIdError.
        """
        record = self.record(name)
        return _finish(record, decode_stored(record, self.read_payload(name)), widen_bfloat16)

    def read_many(
        self, names: Iterable[str] | None = None, *, widen_bfloat16: bool = False
    ) -> dict[str, np.ndarray]:
        """Decode several tensors (default: all, in file order); rANS payloads decode in one batch.

        Every rANS (codec 6), rANS-ZS (codec 7) and rANS-CTX (codec 8) payload among ``names`` is CRC-checked, then
        they decode together through :func:`formats.codecs.batch.decode_batch` (one vectorised loop, much
        faster than one tensor at a time), in file order, in groups of at most :data:`READ_BATCH_BYTES` decoded
        bytes (one larger tensor is a group of its own): the vectorised decoders hold ~100 bytes of
        temporaries per decoded symbol, so the groups bound the decode's memory whatever the file's size
        (ResNet-56 at 6 bits: 28 MB traced peak instead of 89 MB, same time); each group's payloads are read,
        and its values finished, before the next group, so only the output accumulates; the other tensors
        decode one by one. The values and checks
        are those of :meth:`read`; if anything fails, the tensors are read one by one in order, so the
        error raised is the one :meth:`read` gives for the first bad tensor.

        Args:
            names: tensor names (duplicates are read once); None for every tensor.
            widen_bfloat16: as in :meth:`read`.

        Returns:
            name -> array, in the order of ``names``.

        Raises:
            TensorNotFoundError, ChecksumError, CodecError, UnknownIdError.

        Example:
            >>> import numpy as np
            >>> from formats.container.writer import dumps
            >>> blob = dumps({"a": np.arange(300, dtype=np.uint8) % 3, "b": np.ones(2)}, codec="rans-zs")
            >>> with open_dsz(blob) as r:
            ...     sorted(r.read_many()), r.read_many(["b"])["b"].tolist()
            (['a', 'b'], [1.0, 1.0])
        """
        wanted = list(dict.fromkeys(self.names if names is None else names))
        records = [self.record(name) for name in wanted]
        batch = [r for r in records if r.codec in BATCHED_CODECS]
        done: dict[str, np.ndarray] = {}
        try:
            for group in _groups([r.stored_size for r in batch], READ_BATCH_BYTES):
                members = [batch[i] for i in group]
                payloads = [self.read_payload(r.name) for r in members]
                for record, payload in zip(members, payloads, strict=True):
                    check_crc(record, payload)
                requests = [(int(r.codec), p, r.stored_size, r.stored_itemsize)
                            for r, p in zip(members, payloads, strict=True)]
                del payloads
                decoded = decode_batch(requests, [f"tensor {r.name!r}" for r in members])
                del requests
                # values now, so a group's stored symbols and bytes are dropped before the next one decodes
                for record in members:
                    done[record.name] = _finish(record, stored_from_bytes(record, decoded.pop(0)), widen_bfloat16)
        except FormatError:
            # same error as read(): the first failing tensor, in order
            return {name: self.read(name, widen_bfloat16=widen_bfloat16) for name in wanted}
        return {name: done[name] if name in done else self.read(name, widen_bfloat16=widen_bfloat16)
                for name in wanted}

    def read_quantized(self, name: str) -> QuantizedTensor:
        """The symbols, codebook and dither of a quantized tensor (all checks included).

        Raises:
            TypeError: the tensor is not quantized (kind RAW or SPARSE).
        """
        record = self.record(name)
        if record.kind != TensorKind.QUANTIZED:
            raise TypeError(f"tensor {name!r} is stored {record.kind.name.lower()}, not quantized; use read()")
        stored = decode_stored(record, self.read_payload(name))
        q = to_quantized(record, stored.copy())
        check_digest(record, dequantize(q))
        return q

    def verify(self, *, batch_bytes: int = VERIFY_BATCH_BYTES) -> None:
        """Decode every tensor and run every check; raise the first :class:`FormatError` found.

        Tensors decode in file order, in batches of at most ``batch_bytes`` decoded bytes (one tensor
        larger than that is a batch of its own), each dropped before the next: memory stays near one batch
        however many tensors the file declares.
        """
        batch: list[str] = []
        size = 0
        for record in self.records:
            if batch and size + record.decoded_size > batch_bytes:
                self.read_many(batch)
                batch, size = [], 0
            batch.append(record.name)
            size += record.decoded_size
        if batch:
            self.read_many(batch)

    def _read_at(self, offset: int, length: int) -> bytes:
        if self._buffer is not None:
            data = bytes(self._buffer[offset : offset + length])
        elif self._file is not None:
            with self._lock:
                self._file.seek(offset)
                data = self._file.read(length)
        else:
            raise ValueError("this Reader is closed")
        if len(data) != length:
            raise TruncatedError(
                f"needed {length} bytes at offset {offset}, got {len(data)}; the file shrank"
            )
        return data

    def close(self) -> None:
        """Release the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._buffer is not None:
            self._buffer.release()
            self._buffer = None

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _finish(record: TensorRecord, stored: np.ndarray, widen_bfloat16: bool) -> np.ndarray:
    """Values of a tensor from its stored array: dequantize, check the digest, copy or widen."""
    if record.kind == TensorKind.QUANTIZED:
        values = dequantize(to_quantized(record, stored))
        check_digest(record, values)
        return values
    check_digest(record, stored)
    if widen_bfloat16 and record.dtype == DType.BFLOAT16:
        return bfloat16_to_float32(stored)
    return stored if record.kind == TensorKind.SPARSE else stored.copy()


def open_dsz(source: Source, *, limits: Limits = DEFAULT_LIMITS) -> Reader:
    """Open a ``.dsz`` file (path) or buffer (bytes) and validate its layout.

    Args:
        source: a path, or the file's bytes.
        limits: caps to enforce (defaults: the spec's).

    Returns:
        A :class:`Reader`; use it as a context manager or call ``close()``.

    Raises:
        FormatError: a subclass naming the first defect found.

    Example:
        >>> import numpy as np
        >>> from formats.container.writer import dumps
        >>> with open_dsz(dumps({"b": np.arange(3, dtype=np.int16)}, codec="raw")) as r:
        ...     r.names, r.read("b").tolist()
        (('b',), [0, 1, 2])
    """
    return Reader(source, limits)


def loads(data: bytes | bytearray | memoryview, *, limits: Limits = DEFAULT_LIMITS) -> dict[str, np.ndarray]:
    """Decode every tensor of a ``.dsz`` buffer.

    Example:
        >>> import numpy as np
        >>> from formats.container.writer import dumps
        >>> loads(dumps({"x": np.ones(2, np.float64)}))["x"].tolist()
        [1.0, 1.0]
    """
    with open_dsz(data, limits=limits) as reader:
        return reader.read_many()


def _groups(sizes: list[int], cap: int) -> list[list[int]]:
    """Consecutive index groups whose sizes sum to at most ``cap`` (an item larger than ``cap`` alone).

    Example:
        >>> _groups([3, 3, 5, 1, 9], 6)
        [[0, 1], [2, 3], [4]]
    """
    groups: list[list[int]] = []
    total = cap + 1
    for i, size in enumerate(sizes):
        if total + size > cap:
            groups.append([])
            total = 0
        groups[-1].append(i)
        total += size
    return groups
