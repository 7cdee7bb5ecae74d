"""The msgpack header (spec: "Header"): model-level fields plus the tensor records."""

from __future__ import annotations

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
        """Canonical msgpack bytes of this header."""
        value = {
            "producer": {"name": self.producer.name, "version": self.producer.version},
            "metadata": self.metadata,
            "recipe": self.recipe,
            "tensors": [r.to_wire() for r in self.records],
        }
        return wire.pack(wire.canonical(value, max_depth=limits.max_depth))


def parse_header(buf: bytes, minor: int, limits: Limits) -> Header:
    """Decode and validate header bytes (the CRC is already checked).

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
    metadata = f.mapping("metadata")
    for key, val in metadata.items():
        if not isinstance(val, str):
            raise HeaderError(f"metadata[{key!r}] must be a string, got {type(val).__name__}")
    recipe = f.raw("recipe")
    if recipe is not None and not isinstance(recipe, dict):
        raise HeaderError(f"header 'recipe' must be a map or nil, got {type(recipe).__name__}")
    wire_records = f.array("tensors")
    if len(wire_records) > limits.max_tensors:
        raise LimitError(f"header lists {len(wire_records)} tensors, above the limit of {limits.max_tensors}")
    f.finish()
    records = tuple(parse_record(r, i, limits, lenient=lenient) for i, r in enumerate(wire_records))
    seen: set[str] = set()
    total = 0
    for record in records:
        if record.name in seen:
            raise LayoutError(f"tensor name {record.name!r} appears twice; names must be unique")
        seen.add(record.name)
        total += record.decoded_size
        if total > limits.max_total_bytes:
            raise LimitError(f"tensors decode to more than {limits.max_total_bytes} bytes in total")
    return Header(producer, dict(metadata), recipe, records)
