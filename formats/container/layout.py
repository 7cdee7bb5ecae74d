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


def check_decoded_total(records: Sequence[TensorRecord], file_bytes: int, limits: Limits) -> None:
    """Reader policy (spec 10.3): refuse a file whose tensors declare far more decoded bytes than its size allows.

    The cap is :meth:`Limits.max_file_decoded_bytes` of the file's length; it is checked at open,
    from the header alone, so a "bomb" (many huge tensors with tiny payloads, each within the
    per-payload rule of 10.2) fails before anything is decoded.

    Raises:
        LimitError: the declared total is above the cap; the message says how to raise it.

    Example:
        >>> from formats.container import dumps, open_dsz
        >>> import numpy as np
        >>> with open_dsz(dumps({"w": np.zeros(4, np.float32)})) as reader:
        ...     check_decoded_total(reader.records, 100, Limits())  # 16 bytes: far below the cap
    """
    total = sum(record.decoded_size for record in records)
    cap = limits.max_file_decoded_bytes(file_bytes)
    if total > cap:
        raise LimitError(
            f"{len(records)} tensors declare {total:,} decoded bytes in a {file_bytes:,}-byte file, above the "
            f"reader's cap of {cap:,} bytes (possible decompression bomb); if you trust the file, raise the cap "
            "(dualsparse: --max-decoded-bytes; Python: limits=Limits().with_decoded_cap(N))"
        )
