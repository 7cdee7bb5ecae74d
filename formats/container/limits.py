"""Hard limits a reader enforces before it allocates anything (spec: "Limits")."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Caps on what a ``.dsz`` file may declare; defaults are the spec's normative minimums (10.1, 10.2).

    A reader MAY raise any cap (trusting its input more), and MUST accept every file
    within the defaults. Exceeding a cap raises :class:`formats.errors.LimitError`.
    ``max_decoded_ratio`` and ``decoded_allowance`` are reader policy (10.3), not format
    rules: lift them with :meth:`with_decoded_cap` for a trusted file that compresses better.

    Attributes:
        max_header_bytes: size of the msgpack header.
        max_depth: nesting depth of msgpack containers in the header (root map = 1).
        max_objects: msgpack objects in the header (every value and key counts).
        max_tensors: tensor records.
        max_dims: dimensions of one tensor.
        max_name_bytes: UTF-8 bytes of one tensor name.
        max_elements: elements of one tensor.
        max_total_bytes: decoded bytes of all tensors together.
        max_expansion: a non-raw payload may decode to at most
            ``max(expansion_allowance, max_expansion * payload_length)`` bytes.
        expansion_allowance: decoded bytes every payload may reach regardless of its size.
        max_decoded_ratio: reader policy (spec 10.3), not a format rule: all tensors of a file
            together may decode to at most ``max(decoded_allowance, max_decoded_ratio * file_bytes)``
            bytes (and never more than ``max_total_bytes``), so a small file cannot make
            :func:`formats.load` allocate gigabytes. Legitimate files stay far below it: 7x for a
            6-bit ResNet-56, 158x for one pruned to 99.99 %, about 2,000x for a 2048 x 2048 layer
            pruned to 99.9 %; the 400 x 16 MiB bomb of 4.9 KB declares 1.4 million x.
        decoded_allowance: decoded bytes every file may reach regardless of its size (the floor of
            the policy above): any model up to 256 MiB decoded opens, however well it compresses.

    Example:
        >>> Limits(max_tensors=10).max_tensors
        10
    """

    max_header_bytes: int = 1 << 24
    max_depth: int = 32
    max_objects: int = 1 << 21
    max_tensors: int = 1 << 16
    max_dims: int = 16
    max_name_bytes: int = 1024
    max_elements: int = 1 << 32
    max_total_bytes: int = 1 << 38
    max_expansion: int = 1 << 16
    expansion_allowance: int = 1 << 24
    max_decoded_ratio: int = 1 << 14
    decoded_allowance: int = 1 << 28

    def max_decoded_bytes(self, payload_length: int) -> int:
        """Largest decoded size a compressed payload of ``payload_length`` bytes may declare."""
        return max(self.expansion_allowance, self.max_expansion * payload_length)

    def max_file_decoded_bytes(self, file_bytes: int) -> int:
        """Largest total decoded size the tensors of a ``file_bytes``-byte file may declare.

        Example:
            >>> Limits().max_file_decoded_bytes(4866) == 1 << 28  # a tiny file: the floor
            True
            >>> Limits().max_file_decoded_bytes(1 << 20) == 1 << 34  # 1 MiB: 16384 x
            True
        """
        return min(self.max_total_bytes, max(self.decoded_allowance, self.max_decoded_ratio * file_bytes))

    def with_decoded_cap(self, total_bytes: int) -> Limits:
        """These limits with the total decoded size capped at exactly ``total_bytes`` for every file.

        Replaces the file-size policy (``max_decoded_ratio``, ``decoded_allowance``) and
        ``max_total_bytes`` by the one figure, up or down: what ``--max-decoded-bytes`` sets.

        Example:
            >>> Limits().with_decoded_cap(1 << 40).max_file_decoded_bytes(100) == 1 << 40
            True
        """
        if isinstance(total_bytes, bool) or not isinstance(total_bytes, int) or total_bytes < 0:
            raise ValueError(f"total_bytes must be an integer >= 0, got {total_bytes!r}")
        return dataclasses.replace(self, max_total_bytes=total_bytes, decoded_allowance=total_bytes)


DEFAULT_LIMITS = Limits()
