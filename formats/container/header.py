"""The msgpack header (spec: "Header"): model-level fields plus the tensor records."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from formats.container import wire
from formats.container.fields import FieldReader
from formats.container.limits import Limits
from formats.container.preamble import FORMAT_MINOR
from formats.container.records import TensorRecord, parse_record
from formats.errors import HeaderError, LayoutError, LimitError


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

    def to_bytes(self, limits: Limits) -> bytes:
        """Canonical msgpack bytes of this header (before compression); empty metadata and a
        missing recipe are omitted."""
        value: dict[str, Any] = {
            "producer": {"name": self.producer.name, "version": self.producer.version},
            "tensors": [r.to_wire() for r in self.records],
        }
        if self.metadata:
            value["metadata"] = self.metadata
        if self.recipe is not None:
            value["recipe"] = self.recipe
        return wire.pack(wire.canonical(value, max_depth=limits.max_depth))


def parse_header(buf: bytes, minor: int, limits: Limits) -> Header:
    """Decode and validate the inflated msgpack header (the CRC is already checked).

    Records get their ``offset``: the sum of the lengths of the records before them.

    Args:
        buf: the msgpack header.
        minor: the file's minor version; unknown keys are ignored only when it is newer
            than this reader's.
        limits: caps.

    Raises:
        HeaderError, LimitError, UnknownIdError, LayoutError (duplicate names).
    """
    lenient = minor > FORMAT_MINOR
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
    wire_records = f.array("tensors")
    if len(wire_records) > limits.max_tensors:
        raise LimitError(f"header lists {len(wire_records)} tensors, above the limit of {limits.max_tensors}")
    f.finish()
    records = []
    offset = 0
    for index, data in enumerate(wire_records):
        record = parse_record(data, index, limits, lenient=lenient)
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
