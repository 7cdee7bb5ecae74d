"""Deep Compression (Han, Mao, Dally, ICLR 2016) without its retraining steps, with its exact size.

Per weight tensor (conv and linear weights; every other tensor is counted as float32):

1. magnitude pruning: the ``sparsity`` fraction of smallest-magnitude weights, one global threshold
   over all pruned tensors (``scope="global"``) or one per tensor (``"local"``);
2. weight sharing: 1-D k-means over the kept weights with ``2^bits`` clusters, linear initialisation
   between the kept minimum and maximum (the paper's best), Lloyd iterations until no centroid moves;
3. storage: the kept weights' cluster indices and the gaps between consecutive kept positions (in
   flattened order, ``index_bits``-bit relative indices; a gap over ``2^index_bits - 1`` inserts
   filler entries that carry a zero weight) are each Huffman-coded per tensor, and the codebook is
   float32.

Sizes are in bits of the coded streams plus side information (code tables, codebooks); no container.

Example:
    >>> w = {"fc.weight": np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8)}
    >>> result = deep_compression(w, ["fc.weight"], sparsity=0.5, bits=2)
    >>> int((result.weights["fc.weight"] == 0).sum()), result.bytes < 64 * 4
    (32, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from compress.baselines.huffman import huffman_bits

__all__ = ["DeepCompressionResult", "deep_compression", "kmeans_1d"]


@dataclass(frozen=True)
class DeepCompressionResult:
    """Decoded weights (every tensor of the input, pruned and shared where compressed) and the size."""

    weights: dict[str, np.ndarray]
    bits: int

    @property
    def bytes(self) -> int:
        """Size rounded up to whole bytes."""
        return -(-self.bits // 8)


def kmeans_1d(values: np.ndarray, clusters: int, *, max_iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on scalars with linear initialisation; returns ``(centroids, assignment)``.

    Example:
        >>> c, a = kmeans_1d(np.array([0.0, 0.1, 1.0, 1.1]), 2)
        >>> np.round(c, 2).tolist(), a.tolist()
        ([0.05, 1.05], [0, 0, 1, 1])
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    centroids = np.linspace(values.min(), values.max(), max(1, min(clusters, values.size)))
    order = np.argsort(values)
    ordered = values[order]
    assignment = np.zeros(values.size, dtype=np.int64)
    for _ in range(max_iterations):
        edges = (centroids[1:] + centroids[:-1]) / 2
        ordered_assignment = np.searchsorted(edges, ordered)
        sums = np.bincount(ordered_assignment, weights=ordered, minlength=centroids.size)
        counts = np.bincount(ordered_assignment, minlength=centroids.size)
        updated = np.where(counts > 0, sums / np.maximum(counts, 1), centroids)
        assignment[order] = ordered_assignment
        if np.array_equal(updated, centroids):
            break
        centroids = updated
    return centroids, assignment


def deep_compression(
    weights: Mapping[str, np.ndarray],
    names: Sequence[str],
    *,
    sparsity: float,
    bits: int | Mapping[str, int] = 5,
    index_bits: int = 5,
    scope: str = "global",
) -> DeepCompressionResult:
    """Prune, share and Huffman-code the tensors ``names`` of ``weights``; count the rest as float32.

    Args:
        weights: every tensor of the model (name -> array).
        names: the weight tensors to compress.
        sparsity: fraction of those weights pruned (``[0, 1)``).
        bits: shared-value bits per tensor (one int, or name -> int; the paper used 8 for conv, 5 for fc).
        index_bits: bits of a relative position (the paper: 8 for conv, 5 for fc).
        scope: ``"global"`` (one magnitude threshold) or ``"local"`` (per tensor).

    Returns:
        A :class:`DeepCompressionResult`.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope not in ("global", "local"):
        raise ValueError(f"scope must be 'global' or 'local', got {scope!r}")
    chosen = set(names)
    thresholds = _thresholds({n: np.asarray(weights[n]) for n in names}, sparsity, scope)
    decoded: dict[str, np.ndarray] = {}
    total = 0
    for name, value in weights.items():
        array = np.asarray(value)
        if name not in chosen:
            decoded[name] = array
            total += 32 * array.size if array.dtype.kind == "f" else 8 * array.nbytes
            continue
        tensor_bits = bits if isinstance(bits, int) else bits[name]
        flat = array.astype(np.float64).reshape(-1)
        kept = np.flatnonzero(np.abs(flat) > thresholds[name])
        centroids, assignment = kmeans_1d(flat[kept], 2**tensor_bits)
        out = np.zeros(flat.size, dtype=array.dtype)
        out[kept] = centroids[assignment].astype(array.dtype)
        decoded[name] = out.reshape(array.shape)
        gaps, fillers = _relative_positions(kept, index_bits)
        symbols = np.concatenate([assignment, np.zeros(fillers, dtype=np.int64)])
        total += huffman_bits(symbols, 2**tensor_bits) + huffman_bits(gaps, 2**index_bits) + 32 * centroids.size
    return DeepCompressionResult(decoded, total)


def _thresholds(weights: Mapping[str, np.ndarray], sparsity: float, scope: str) -> dict[str, float]:
    def quantile(values: np.ndarray) -> float:
        count = int(np.floor(sparsity * values.size))
        return -np.inf if count == 0 else float(np.partition(values, count - 1)[count - 1])

    if scope == "local":
        return {n: quantile(np.abs(w).reshape(-1)) for n, w in weights.items()}
    everything = np.concatenate([np.abs(w).reshape(-1) for w in weights.values()])
    threshold = quantile(everything)
    return dict.fromkeys(weights, threshold)


def _relative_positions(kept: np.ndarray, index_bits: int) -> tuple[np.ndarray, int]:
    """Gaps between kept positions as ``index_bits``-bit numbers, with filler entries for long gaps."""
    limit = 2**index_bits - 1
    gaps = np.diff(np.concatenate([[-1], kept])) - 1  # zeros skipped before each kept weight
    fillers = gaps // (limit + 1)
    # a gap g becomes fillers entries of `limit` (each followed by a filler weight) and one entry g mod (limit+1)
    parts = [np.full(int(fillers.sum()), limit, dtype=np.int64), gaps % (limit + 1)]
    return np.concatenate(parts), int(fillers.sum())
