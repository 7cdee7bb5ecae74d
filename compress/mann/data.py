"""Normalised training and validation tensors of a MANN dataset, with a seeded data fraction.

Rows are split by clip (:class:`compress.mocap.ClipSplit`), normalised with statistics fitted on the
training rows (:class:`compress.mocap.Normalization`), and optionally thinned to a ``fraction`` of each
part: a seeded random subset of rows, fixed for the whole run, so an epoch is one pass over that subset.

Example:
    >>> import numpy as np
    >>> from compress.mocap import MannDataset, fit_normalization
    >>> rows = 10
    >>> dataset = MannDataset(np.random.rand(rows, 3).astype(np.float32), np.random.rand(rows, 2).astype(np.float32),
    ...                       np.zeros((rows, 1), np.float32), np.array([0] * 8 + [1] * 2, np.int32),
    ...                       np.arange(rows), np.zeros(rows, np.int8), np.zeros(rows, bool), ("a", "b"),
    ...                       ("x0", "x1", "x2"), ("y0", "y1"), (2,))
    >>> norm = fit_normalization(dataset.inputs[:8], dataset.outputs[:8])
    >>> data = TrainingData.from_dataset(dataset, ["a"], ["b"], norm)
    >>> tuple(data.train_x.shape), tuple(data.val_y.shape), data.gating_indices
    ((8, 3), (2, 2), (2,))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from compress.errors import CompressError
from compress.mocap import MannDataset, Normalization

__all__ = ["TrainingData", "fraction_rows"]


def fraction_rows(rows: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a seeded random ``fraction`` of ``rows`` (at least one row; all of them at 1.0).

    Example:
        >>> fraction_rows(10, 0.3, seed=0).tolist()
        [2, 4, 6]
    """
    if not 0.0 < fraction <= 1.0:
        raise CompressError(f"data fraction must be in (0, 1], got {fraction}")
    if fraction == 1.0:
        return np.arange(rows)
    keep = max(1, round(fraction * rows))
    return np.sort(np.random.default_rng(seed).permutation(rows)[:keep])


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Float32 tensors of normalised inputs and outputs for training and validation.

    Attributes:
        train_x: ``(rows, input_dim)`` normalised training inputs.
        train_y: ``(rows, output_dim)`` normalised training outputs.
        val_x: validation inputs (held-out clips).
        val_y: validation outputs.
        normalization: the statistics used (fitted on the training clips).
        gating_indices: input columns the gating network reads.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    normalization: Normalization
    gating_indices: tuple[int, ...]

    @classmethod
    def from_dataset(cls, dataset: MannDataset, train_clips: Sequence[str], validation_clips: Sequence[str],
                     normalization: Normalization, fraction: float = 1.0, seed: int = 0) -> TrainingData:
        """Normalise the rows of ``train_clips`` and ``validation_clips``, keeping ``fraction`` of each.

        Raises:
            CompressError: a clip on both sides, an empty part, or statistics of the wrong width.
        """
        both = set(train_clips) & set(validation_clips)
        if both:
            raise CompressError(f"clips both in training and validation: {', '.join(sorted(both))}")
        if (len(normalization.input_mean), len(normalization.output_mean)) != (dataset.inputs.shape[1],
                                                                               dataset.outputs.shape[1]):
            raise CompressError("normalisation statistics do not match the dataset's widths")
        parts = []
        for offset, clips in enumerate((train_clips, validation_clips)):
            rows = np.flatnonzero(dataset.rows_of(clips))
            rows = rows[fraction_rows(len(rows), fraction, seed + offset)] if len(rows) else rows
            if len(rows) == 0:
                raise CompressError(f"no {('training', 'validation')[offset]} rows")
            parts.append((_normalised(dataset.inputs, rows, normalization.input_mean, normalization.input_std),
                          _normalised(dataset.outputs, rows, normalization.output_mean, normalization.output_std)))
        return cls(parts[0][0], parts[0][1], parts[1][0], parts[1][1], normalization, tuple(dataset.gating_indices))


def _normalised(array: np.ndarray, rows: np.ndarray, mean: np.ndarray, std: np.ndarray,
                chunk: int = 16384) -> torch.Tensor:
    """``(array[rows] - mean) / std`` as a float32 tensor, built in chunks (no float64 copy of the whole)."""
    out = np.empty((len(rows), array.shape[1]), np.float32)
    for start in range(0, len(rows), chunk):
        part = array[rows[start : start + chunk]]
        out[start : start + len(part)] = (part - mean) / std
    return torch.from_numpy(out)
