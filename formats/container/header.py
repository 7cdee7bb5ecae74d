"""The msgpack header (spec: "Header"): model-level fields plus the tensor records.

Version 1.0 stores one map per record (spec 4.3-4.6); version 2.0 a columnar tensor table and one
``checks`` blob (spec 4.8, :mod:`formats.container.table`). Both parse to the same :class:`Header`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from formats.container import wire
from formats.container.fields import FieldReader
from formats.container.header_codec import deflate_header
from formats.container.limits import Limits
from formats.container.preamble import FORMAT_MAJOR, READ_VERSIONS
from formats.container.records import TensorRecord, parse_record
from formats.container.table import from_table, table_size, to_table
from formats.errors import HeaderError, LayoutError, LimitError
from formats.ids import CodecId


@dataclass(frozen=True)
class Producer:
    """Software that wrote the file."""

    name: str
    version: str


@dataclass(frozen=True)
class Header:
    """Decoded header.

    Attributes:
        producer: name and version of the writer.
        metadata: free string metadata.
        recipe: the msgpack map of the recipe that made the model, or None.
        records: tensor records in payload order.
    """

    producer: Producer
    metadata: dict[str, str]
    recipe: dict[str, Any] | None
    records: tuple[TensorRecord, ...]

    def to_bytes(self, limits: Limits, major: int = FORMAT_MAJOR) -> bytes:
        """Canonical msgpack bytes of this header (before compression) in format ``major`` (1 or 2);
        empty metadata and a missing recipe are omitted.

        Example:
            >>> Header(Producer("p", "1"), {}, None, ()).to_bytes(Limits())[:8]
            b'\\x83\\xa6checks'
        """
        return self._encode(limits, major)[0]

    def stored(self, limits: Limits, major: int = FORMAT_MAJOR) -> tuple[bytes, bytes]:
        """``(inflated, stored)`` header bytes; in 2.0 a DEFLATE block ends after ``checks`` (spec 4.8)."""
        raw, block_end = self._encode(limits, major)
        return raw, deflate_header(raw, block_end)

    def _encode(self, limits: Limits, major: int) -> tuple[bytes, int]:
        """The canonical bytes and, for 2.0, where the ``checks`` bin ends in them (else 0)."""
        records = [r.to_wire() for r in self.records]
        value: dict[str, Any] = {"producer": {"name": self.producer.name, "version": self.producer.version}}
        if major == 1:
            if any(r.crc32 is None for r in self.records):
                raise ValueError("a RAW/RAW record read from a 2.0 file has no crc32; give it the CRC-32 of its "
                                 "payload before writing it as 1.0")
            value["tensors"] = records
        elif major == 2:
            value["tensors"], value["checks"] = to_table(records)
        else:
            raise ValueError(f"this writer writes format majors 1 and 2, not {major!r}")
        if self.metadata:
            value["metadata"] = self.metadata
        if self.recipe is not None:
            value["recipe"] = self.recipe
        raw = wire.pack(wire.canonical(value, max_depth=limits.max_depth))
        if major == 1:
            return raw, 0
        # "checks" is the first key of the root map: map header, key, then the bin (spec 4.8)
        block_end = 1 + len(wire.pack("checks")) + len(wire.pack(value["checks"]))
        if raw[block_end - len(value["checks"]):block_end] != value["checks"]:
            raise AssertionError("'checks' is not where the canonical root map puts it")
        return raw, block_end


def parse_header(buf: bytes, minor: int, limits: Limits, major: int = FORMAT_MAJOR) -> Header:
    """Decode and validate the inflated msgpack header of a format ``major`` file (the CRC is checked).

    Records get their ``offset``: the sum of the lengths of the records before them; in 2.0 a codec
    RAW record gets its ``length``, S.

    Args:
        buf: the msgpack header.
        minor: the file's minor version; unknown keys are ignored only when it is newer
            than this reader's minor for ``major``.
        limits: caps.
        major: the file's major version, 1 or 2.

    Raises:
        HeaderError, LimitError, UnknownIdError, LayoutError (duplicate names).
    """
    lenient = minor > READ_VERSIONS[major]
    value = wire.unpack(buf, limits)
    f = FieldReader(value, "header", lenient=lenient)
    p = FieldReader(f.mapping("producer"), "header producer", lenient=lenient)
    producer = Producer(p.string("name"), p.string("version"))
    p.finish()
    metadata = f.mapping("metadata") if f.has("metadata") else {}
    for key, val in metadata.items():
        if not isinstance(val, str):
            raise HeaderError(f"metadata[{key!r}] must be a string, got {type(val).__name__}")
    recipe = f.mapping("recipe") if f.has("recipe") else None
    if major == 1:
        wire_records = f.array("tensors")
        count = len(wire_records)
    else:
        table = f.raw("tensors")
        count = table_size(table)
    if count > limits.max_tensors:
        raise LimitError(f"header lists {count} tensors, above the limit of {limits.max_tensors}")
    if major != 1:
        wire_records = from_table(table, f.binary("checks"), lenient=lenient)
    f.finish()
    records = []
    offset = 0
    for index, data in enumerate(wire_records):
        record = parse_record(data, index, limits, lenient=lenient, digest_only=major != 1)
        if major != 1 and record.codec == CodecId.RAW:
            record = dataclasses.replace(record, length=record.stored_size)
        records.append(dataclasses.replace(record, offset=offset))
        offset += record.length
    seen: set[str] = set()
    total = 0
    for record in records:
        if record.name in seen:
            raise LayoutError(f"tensor name {record.name!r} appears twice; names must be unique")
        seen.add(record.name)
        total += record.decoded_size
        if total > limits.max_total_bytes:
            raise LimitError(
                f"tensors decode to more than {limits.max_total_bytes:,} bytes in total, the reader's "
                "max_total_bytes (dualsparse: --max-decoded-bytes)"
            )
    return Header(producer, dict(metadata), recipe, tuple(records))
