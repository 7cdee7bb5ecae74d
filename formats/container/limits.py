"""Hard limits a reader enforces before it allocates anything (spec: "Limits")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Caps on what a ``.dsz`` file may declare; defaults are the spec's normative minimums.

    A reader MAY raise any cap (trusting its input more), and MUST accept every file
    within the defaults. Exceeding a cap raises :class:`formats.errors.LimitError`.

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

    Example:
        >>> Limits(max_tensors=10).max_tensors
        10
    """

    max_header_bytes: int = 1 << 24
    max_depth: int = 32
    max_objects: int = 1 << 20
    max_tensors: int = 1 << 16
    max_dims: int = 16
    max_name_bytes: int = 1024
    max_elements: int = 1 << 32
    max_total_bytes: int = 1 << 38
    max_expansion: int = 1 << 16
    expansion_allowance: int = 1 << 24

    def max_decoded_bytes(self, payload_length: int) -> int:
        """Largest decoded size a compressed payload of ``payload_length`` bytes may declare."""
        return max(self.expansion_allowance, self.max_expansion * payload_length)


DEFAULT_LIMITS = Limits()
