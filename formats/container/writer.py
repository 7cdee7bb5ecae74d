"""Streaming, deterministic, atomic ``.dsz`` writer: :class:`Writer`, :func:`save`, :func:`dumps`.

Payloads are encoded one tensor at a time and spooled to a temporary file beside the
target; closing writes preamble + header + the spooled payloads to a second temporary
file, fsyncs it and publishes it (:mod:`formats.publish`: renamed over the target, or, with
``replace=False``, linked to a target that must not exist at that instant). On any error
both temporary files are removed and the target is left untouched.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import shutil
from collections.abc import Mapping
from importlib import metadata as importlib_metadata
from types import TracebackType
from typing import Any, BinaryIO

from formats.container import wire
from formats.container.header import Header, Producer, parse_header
from formats.container.limits import DEFAULT_LIMITS, Limits
from formats.container.payload import Tensor, encode_tensor
from formats.container.preamble import FORMAT_MAJOR, READ_VERSIONS, pack_preamble
from formats.container.records import TensorRecord
from formats.errors import LayoutError, LimitError
from formats.ids import DType
from formats.publish import new_temporary, publish

logger = logging.getLogger(__name__)
_COPY_CHUNK = 1 << 20


def default_producer() -> Producer:
    """``dualsparse`` and its installed version (no timestamps: output stays deterministic)."""
    try:
        version = importlib_metadata.version("dualsparse")
    except importlib_metadata.PackageNotFoundError:
        version = "unknown"
    return Producer("dualsparse", version)


class _Assembler:
    """Collects records and spools payloads; writes the finished file to a stream."""

    def __init__(
        self,
        spool: BinaryIO,
        metadata: Mapping[str, str] | None,
        recipe: Mapping[str, Any] | None,
        producer: Producer | None,
        limits: Limits,
        format_major: int = FORMAT_MAJOR,
    ) -> None:
        if format_major not in READ_VERSIONS:
            raise ValueError(f"format_major must be one of {sorted(READ_VERSIONS)}, got {format_major!r}")
        self.format_major = format_major
        meta = dict(metadata or {})
        for key, value in meta.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f"metadata must map str to str; got {key!r}: {type(value).__name__}")
        if recipe is not None and not isinstance(recipe, Mapping):
            raise ValueError(f"recipe must be a mapping or None, got {type(recipe).__name__}")
        self.metadata = meta
        self.recipe = None if recipe is None else wire.canonical(recipe, depth=2, max_depth=limits.max_depth,
                                                                 what="recipe")
        self.producer = producer or default_producer()
        self.limits = limits
        self.spool = spool
        self.records: list[TensorRecord] = []
        self.names: set[str] = set()
        self.offset = 0

    def add(self, name: str, tensor: Tensor, codec: str | int, attrs: Mapping[str, Any] | None,
            dtype: DType | int | None) -> TensorRecord:
        if not isinstance(name, str):
            raise ValueError(f"tensor names must be strings, got {type(name).__name__}")
        if name in self.names:
            raise LayoutError(f"tensor name {name!r} was already added; names must be unique")
        if len(self.records) >= self.limits.max_tensors:
            raise LimitError(f"a file holds at most {self.limits.max_tensors} tensors")
        record, payload = encode_tensor(
            name, tensor, codec=codec, attrs=attrs, dtype=dtype, limits=self.limits
        )
        record = dataclasses.replace(record, offset=self.offset)
        self.spool.write(payload)
        self.offset += len(payload)
        self.records.append(record)
        self.names.add(name)
        logger.debug("dsz: %s -> codec %d, %d bytes", name, record.codec, record.length)
        return record

    def write_to(self, out: BinaryIO) -> None:
        major = self.format_major
        header, stored = Header(self.producer, self.metadata, self.recipe, tuple(self.records)).stored(
            self.limits, major
        )
        parse_header(header, READ_VERSIONS[major], self.limits, major)  # never write what a reader would refuse
        if max(len(header), len(stored)) > self.limits.max_header_bytes:
            raise LimitError(
                f"the header needs {len(header)} bytes ({len(stored)} compressed), above the limit of "
                f"{self.limits.max_header_bytes}; store fewer tensors or less metadata"
            )
        out.write(pack_preamble(stored, len(header), self.offset, major))
        out.write(stored)
        self.spool.flush()
        self.spool.seek(0)
        shutil.copyfileobj(self.spool, out, _COPY_CHUNK)


class Writer:
    """Write a ``.dsz`` file one tensor at a time (context manager).

    Args:
        path: target file; replaced atomically when the writer closes without error.
        metadata: free string metadata (str -> str).
        recipe: msgpack-able mapping describing how the model was made.
        producer: overrides the default ``("dualsparse", <version>)``.
        limits: caps the written file must respect (defaults: the spec's).
        format_major: 2 (the default: the header of spec 4.8) or 1 (a 1.0 file, for 1.x readers).

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "m.dsz")
        >>> with Writer(path, metadata={"task": "demo"}) as w:
        ...     _ = w.add("bias", np.zeros(3, np.float32), codec="raw")
        >>> os.path.getsize(path) > 40
        True
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        metadata: Mapping[str, str] | None = None,
        recipe: Mapping[str, Any] | None = None,
        producer: Producer | None = None,
        limits: Limits = DEFAULT_LIMITS,
        replace: bool = True,
        format_major: int = FORMAT_MAJOR,
    ) -> None:
        self.path = os.fspath(path)
        self.replace = replace
        fd, self._spool_path = new_temporary(self.path, ".spool")
        self._spool = os.fdopen(fd, "w+b")
        self._closed = False
        try:
            self._asm = _Assembler(self._spool, metadata, recipe, producer, limits, format_major)
        except BaseException:
            self.abort()
            raise

    @property
    def records(self) -> tuple[TensorRecord, ...]:
        """Records of the tensors added so far."""
        return tuple(self._asm.records)

    def add(
        self,
        name: str,
        tensor: Tensor,
        *,
        codec: str | int = "auto",
        attrs: Mapping[str, Any] | None = None,
        dtype: DType | int | None = None,
    ) -> TensorRecord:
        """Encode one tensor and spool its payload.

        Args:
            name: unique tensor name.
            tensor: numpy array (kind RAW), :class:`QuantizedTensor` (QUANTIZED) or
                :class:`SparseTensor` (SPARSE: lossless, for mostly-zero arrays).
            codec: ``"auto"`` (chosen by estimated size, :func:`formats.codecs.encode_auto`), a codec name,
                or a wire id.
            attrs: per-tensor attributes, e.g. ``{"winograd": {"m": 4, "r": 3}}``.
            dtype: wire dtype override (RAW and SPARSE); ``DType.BFLOAT16`` stores a uint16 array
                as bfloat16 bits.

        Returns:
            The tensor's record.
        """
        if self._closed:
            raise ValueError("this Writer is closed")
        return self._asm.add(name, tensor, codec, attrs, dtype)

    def close(self) -> None:
        """Finish the file and atomically move it into place (idempotent)."""
        if self._closed:
            return
        final_path = None
        try:
            fd, final_path = new_temporary(self.path, ".part")
            with os.fdopen(fd, "wb") as out:
                self._asm.write_to(out)
                out.flush()
                os.fsync(out.fileno())
            publish(final_path, self.path, replace=self.replace)
            final_path = None
        finally:
            if final_path is not None:
                _remove(final_path)
            self.abort()

    def abort(self) -> None:
        """Discard everything written so far; the target is not touched."""
        self._closed = True
        self._spool.close()
        _remove(self._spool_path)

    def __enter__(self) -> Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def save(
    path: str | os.PathLike[str],
    tensors: Mapping[str, Tensor],
    *,
    metadata: Mapping[str, str] | None = None,
    recipe: Mapping[str, Any] | None = None,
    codec: str | int = "auto",
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
    dtypes: Mapping[str, DType | int] | None = None,
    producer: Producer | None = None,
    replace: bool = True,
    codecs: Mapping[str, str | int] | None = None,
    format_major: int = FORMAT_MAJOR,
) -> None:
    """Write ``tensors`` (in mapping order) to ``path`` atomically.

    Args:
        path: target file.
        tensors: name -> numpy array, :class:`QuantizedTensor` or :class:`SparseTensor`.
        metadata: free string metadata.
        recipe: msgpack-able mapping stored as the model's recipe.
        codec: codec for every tensor (``"auto"``, a name, or a wire id).
        attrs: name -> per-tensor attributes.
        dtypes: name -> wire dtype override (e.g. ``DType.BFLOAT16``).
        producer: overrides the default producer.
        replace: False: raise :class:`FileExistsError` if ``path`` exists when the file is published
            (checked atomically at that instant, :mod:`formats.publish`).
        codecs: name -> codec of that tensor, instead of ``codec`` (e.g. the ids an ``"auto"`` encoding
            chose, to re-encode the same payloads without trying every codec again).
        format_major: 2 (default) or 1: the format version of the file (spec 13).

    Example:
        >>> import numpy as np, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "m.dsz")
        >>> save(path, {"w": np.ones((2, 2), np.float32)}, codec="raw")
        >>> from formats.container.reader import open_dsz
        >>> open_dsz(path).read("w").sum()
        np.float32(4.0)
    """
    _check_keys(tensors, attrs, "attrs")
    _check_keys(tensors, dtypes, "dtypes")
    _check_keys(tensors, codecs, "codecs")
    with Writer(path, metadata=metadata, recipe=recipe, producer=producer, replace=replace,
                format_major=format_major) as writer:
        for name, tensor in tensors.items():
            attr, dtype = (attrs or {}).get(name), (dtypes or {}).get(name)
            writer.add(name, tensor, codec=(codecs or {}).get(name, codec), attrs=attr, dtype=dtype)


def dumps(
    tensors: Mapping[str, Tensor],
    *,
    metadata: Mapping[str, str] | None = None,
    recipe: Mapping[str, Any] | None = None,
    codec: str | int = "auto",
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
    dtypes: Mapping[str, DType | int] | None = None,
    producer: Producer | None = None,
    codecs: Mapping[str, str | int] | None = None,
    format_major: int = FORMAT_MAJOR,
) -> bytes:
    """Like :func:`save` but return the file's bytes.

    Example:
        >>> import numpy as np
        >>> dumps({"w": np.zeros(2, np.int8)}, codec="raw")[:4]
        b'\\x89DSZ'
    """
    _check_keys(tensors, attrs, "attrs")
    _check_keys(tensors, dtypes, "dtypes")
    _check_keys(tensors, codecs, "codecs")
    asm = _Assembler(io.BytesIO(), metadata, recipe, producer, DEFAULT_LIMITS, format_major)
    for name, tensor in tensors.items():
        asm.add(name, tensor, (codecs or {}).get(name, codec), (attrs or {}).get(name), (dtypes or {}).get(name))
    out = io.BytesIO()
    asm.write_to(out)
    return out.getvalue()


def _check_keys(tensors: Mapping[str, Any], extra: Mapping[str, Any] | None, what: str) -> None:
    unknown = sorted(set(extra or {}) - set(tensors))
    if unknown:
        raise ValueError(f"{what} names tensors that are not being saved: {unknown}")


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
