"""The per-layer account of a pruning pass (also what ``--dry-run`` prints).

Example:
    >>> r = PruneReport(target=0.5, layers=(LayerReport("w", (2, 2), "weight", True, "", 0.5),))
    >>> r.achieved
    0.5
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayerReport:
    """One named tensor's fate.

    Attributes:
        name: state_dict key.
        shape: tensor shape.
        kind: ``weight``, ``bias``, ``norm`` or ``other``.
        included: whether the pass pruned it.
        reason: why it was left out (empty when included).
        sparsity: fraction of its elements the mask prunes (0 for excluded tensors).
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    included: bool
    reason: str
    sparsity: float

    @property
    def numel(self) -> int:
        """Number of elements."""
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def pruned(self) -> int:
        """Number of elements the mask removes."""
        return round(self.sparsity * self.numel)


@dataclass(frozen=True)
class PruneReport:
    """Every tensor's fate plus the totals.

    Attributes:
        target: the sparsity asked for, over the tensors in scope.
        layers: one :class:`LayerReport` per state_dict entry, in order.
    """

    target: float
    layers: tuple[LayerReport, ...]

    @property
    def in_scope(self) -> int:
        """Number of elements in the pruned tensors."""
        return sum(layer.numel for layer in self.layers if layer.included)

    @property
    def achieved(self) -> float:
        """Sparsity reached over the tensors in scope."""
        return sum(layer.pruned for layer in self.layers if layer.included) / max(self.in_scope, 1)

    @property
    def overall(self) -> float:
        """Sparsity over every floating-point element, excluded tensors counted dense."""
        floats = [layer for layer in self.layers if layer.kind != "other"]
        return sum(layer.pruned for layer in floats) / max(sum(layer.numel for layer in floats), 1)

    def format(self) -> str:
        """Render the report as a fixed-width table.

        Example:
            >>> print(PruneReport(0.5, (LayerReport("w", (2, 2), "weight", True, "", 0.5),)).format())
            ... # doctest: +NORMALIZE_WHITESPACE
            name  shape  kind    params  sparsity  note
            w     2x2    weight       4    0.5000
            in scope: 4 params, target 0.5000, achieved 0.5000; overall 0.5000
        """
        rows = [("name", "shape", "kind", "params", "sparsity", "note")]
        for layer in self.layers:
            shape = "x".join(str(d) for d in layer.shape) or "scalar"
            note = "" if layer.included else f"excluded: {layer.reason}"
            sparsity = f"{layer.sparsity:.4f}" if layer.included else "-"
            rows.append((layer.name, shape, layer.kind, f"{layer.numel}", sparsity, note))
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        lines = []
        for row in rows:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                     row[3].rjust(widths[3]), row[4].rjust(widths[4]), row[5]]
            lines.append("  ".join(cells).rstrip())
        lines.append(f"in scope: {self.in_scope} params, target {self.target:.4f}, achieved "
                     f"{self.achieved:.4f}; overall {self.overall:.4f}")
        return "\n".join(lines)
