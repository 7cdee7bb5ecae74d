"""Payload-section layout rules (spec: "Payload section" and "Limits")."""

from __future__ import annotations

from collections.abc import Sequence

from formats.container.limits import Limits
from formats.container.records import TensorRecord
from formats.errors import LayoutError, LimitError
from formats.ids import CodecId


def check_layout(records: Sequence[TensorRecord], payload_length: int, limits: Limits) -> None:
    """Check that payload ranges are in order, contiguous, non-overlapping and cover the section.

    Also checks each payload's declared decoded size against its length: a RAW payload
    MUST be exactly the stored size; any other codec MAY expand at most to
    ``limits.max_decoded_bytes(length)`` (the decompression-bomb rule).

    Raises:
        LayoutError: a gap, overlap, out-of-order or out-of-range payload, or a raw size mismatch.
        LimitError: a payload declares more decoded bytes than the expansion rule allows.
    """
    expected = 0
    for record in records:
        if record.offset != expected:
            raise LayoutError(
                f"tensor {record.name!r} payload starts at {record.offset}, expected {expected}: payloads "
                "must be contiguous, in record order, with no gaps or overlaps"
            )
        end = record.offset + record.length
        if end > payload_length:
            raise LayoutError(
                f"tensor {record.name!r} payload [{record.offset}, {end}) runs past the payload section "
                f"of {payload_length} bytes"
            )
        _check_size(record, limits)
        expected = end
    if expected != payload_length:
        raise LayoutError(
            f"payloads cover {expected} bytes but the payload section is {payload_length}; "
            "the file is corrupt"
        )


def _check_size(record: TensorRecord, limits: Limits) -> None:
    size = record.stored_size
    if record.codec == CodecId.RAW:
        if record.length != size:
            raise LayoutError(
                f"tensor {record.name!r}: raw payload is {record.length} bytes, its shape needs {size}"
            )
        return
    allowed = limits.max_decoded_bytes(record.length)
    if size > allowed:
        raise LimitError(
            f"tensor {record.name!r}: a {record.length}-byte payload declares {size} decoded bytes, above "
            f"the expansion limit of {allowed} bytes (possible decompression bomb)"
        )
