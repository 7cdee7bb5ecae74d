"""Payload-section layout rules (spec: "Payload section" and "Limits")."""

from __future__ import annotations

from collections.abc import Sequence

from formats.container.limits import Limits
from formats.container.records import TensorRecord
from formats.errors import LayoutError, LimitError
from formats.ids import CodecId


def check_layout(records: Sequence[TensorRecord], payload_length: int, limits: Limits) -> None:
    """Check that the payloads, back to back in record order, exactly fill the payload section.

    Offsets are not stored: record ``j`` starts where record ``j - 1`` ends, so gaps and
    overlaps cannot be expressed. Also checks each payload's sizes: a RAW-codec payload
    MUST be exactly its stored size S, and every payload obeys the decompression-bomb rule
    ``max(S, decoded size) <= limits.max_decoded_bytes(length)``.

    Raises:
        LayoutError: the payloads run past the section or do not cover it, or a raw size mismatch.
        LimitError: a payload declares more bytes than the expansion rule allows.
    """
    end = 0
    for record in records:
        end = record.offset + record.length
        if end > payload_length:
            raise LayoutError(
                f"tensor {record.name!r} payload [{record.offset}, {end}) runs past the payload section "
                f"of {payload_length} bytes"
            )
        _check_size(record, limits)
    if end != payload_length:
        raise LayoutError(
            f"payloads cover {end} bytes but the payload section is {payload_length}; the file is corrupt"
        )


def _check_size(record: TensorRecord, limits: Limits) -> None:
    size = record.stored_size
    if record.codec == CodecId.RAW and record.length != size:
        raise LayoutError(
            f"tensor {record.name!r}: raw-codec payload is {record.length} bytes, its record needs {size}"
        )
    largest = max(size, record.decoded_size)
    allowed = limits.max_decoded_bytes(record.length)
    if largest > allowed:
        raise LimitError(
            f"tensor {record.name!r}: a {record.length}-byte payload declares {largest} decoded bytes, above "
            f"the expansion limit of {allowed} bytes (possible decompression bomb)"
        )
