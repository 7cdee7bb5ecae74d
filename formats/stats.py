"""Per-tensor size and entropy statistics of a ``.dsz`` file (what ``dualsparse inspect`` shows)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formats.codecs import get_codec
from formats.container.reader import Reader
from formats.container.records import TensorRecord
from formats.entropy import order0_entropy_bytes
from formats.ids import TensorKind


@dataclass(frozen=True)
class TensorStats:
    """Size figures of one tensor.

    Attributes:
        name, shape, kind, codec: as in the tensor record (kind and codec by name).
        elements: number of elements.
        payload_bytes: coded bytes in the file.
        sparsity: fraction of elements that decode to exactly zero.
        entropy_bytes: order-0 bound N·H0/8 of the stream the codec codes: symbols for quantized
            tensors, element values for raw ones, bitmap + byte-plane bytes for sparse ones.
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    codec: str
    elements: int
    payload_bytes: int
    sparsity: float
    entropy_bytes: float

    @property
    def bits_per_weight(self) -> float:
        """Coded bits per element."""
        return 8.0 * self.payload_bytes / self.elements if self.elements else 0.0

    @property
    def ratio_to_entropy(self) -> float:
        """Coded bytes over the order-0 bound (1.0 = at the bound; inf when the bound is 0)."""
        if self.entropy_bytes == 0:
            return float("inf") if self.payload_bytes else 1.0
        return self.payload_bytes / self.entropy_bytes


def tensor_stats(reader: Reader, record: TensorRecord) -> TensorStats:
    """Decode one tensor and measure it.

    Args:
        reader: an open ``.dsz`` reader.
        record: one of ``reader.records``.

    Returns:
        The tensor's :class:`TensorStats`.

    Example:
        >>> with open_dsz("model.dsz") as r:  # doctest: +SKIP
        ...     print(tensor_stats(r, r.records[0]).bits_per_weight)
    """
    if record.kind == TensorKind.QUANTIZED:
        quantized = reader.read_quantized(record.name)
        stream = quantized.symbols
        zeros = int(np.count_nonzero(stream == quantized.zero_symbol))
    else:
        values = reader.read(record.name)
        zeros = int(np.count_nonzero(values == 0))
        if record.kind == TensorKind.SPARSE:
            # the coder sees the packed bitmap + byte planes, so bound that byte stream
            coded = reader.read_payload(record.name)
            stored = get_codec(record.codec).decode(coded, record.stored_size, record.stored_itemsize)
            stream = np.frombuffer(stored, dtype=np.uint8)
        else:
            stream = values.reshape(-1).view(np.dtype(f"<u{values.dtype.itemsize}"))
    elements = record.num_elements
    return TensorStats(
        name=record.name,
        shape=record.shape,
        kind=record.kind.name.lower(),
        codec=get_codec(record.codec).name,
        elements=elements,
        payload_bytes=record.length,
        sparsity=zeros / elements if elements else 0.0,
        entropy_bytes=order0_entropy_bytes(stream) if elements else 0.0,
    )

