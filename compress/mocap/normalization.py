"""Normalisation statistics of the MANN inputs and outputs: mean and floored std per feature, saved as ``.npz``.

Statistics are fitted on the training rows only (:func:`fit_normalization`) and travel with the model:
:meth:`Normalization.save` writes a plain ``.npz`` (no pickled objects) and :meth:`Normalization.load`
reads it with ``allow_pickle=False`` and checks every array.

A feature whose std is below ``floor`` (constant features such as the output's sample 0, which is the
root itself) is divided by ``floor`` instead, so it maps to about 0 rather than blowing up.

Example:
    >>> x = np.array([[0.0, 5.0], [2.0, 5.0]], np.float32)
    >>> norm = fit_normalization(x, x, floor=0.01)
    >>> norm.input_std.tolist(), norm.normalize_inputs(x).tolist()
    ([1.0, 0.009999999776482582], [[-1.0, 0.0], [1.0, 0.0]])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compress.mocap.errors import MocapError
from compress.mocap.npz import load_npz, save_npz

__all__ = ["NORMALIZATION_VERSION", "Normalization", "fit_normalization"]

#: Version written into every saved normalisation file.
NORMALIZATION_VERSION = 1
_ARRAYS = ("input_mean", "input_std", "output_mean", "output_std")


@dataclass(frozen=True, eq=False)
class Normalization:
    """Per-feature mean and std of the network's inputs and outputs (float32, 1-D).

    Attributes:
        input_mean: mean of each input feature.
        input_std: std of each input feature, at least ``floor``.
        output_mean: mean of each output feature.
        output_std: std of each output feature, at least ``floor``.
        floor: the smallest std allowed.
        rows: number of rows the statistics were fitted on.
    """

    input_mean: np.ndarray
    input_std: np.ndarray
    output_mean: np.ndarray
    output_std: np.ndarray
    floor: float
    rows: int

    def __post_init__(self) -> None:
        for name in _ARRAYS:
            value = getattr(self, name)
            if value.ndim != 1 or not np.isfinite(value).all():
                raise MocapError(f"normalisation {name} must be a finite 1-D array, got shape {value.shape}")
        if self.input_mean.shape != self.input_std.shape or self.output_mean.shape != self.output_std.shape:
            raise MocapError("normalisation means and stds differ in length")
        if min(self.input_std.min(initial=np.inf), self.output_std.min(initial=np.inf)) <= 0:
            raise MocapError("normalisation stds must be positive")

    def normalize_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """``(inputs - input_mean) / input_std`` as float32."""
        return ((inputs - self.input_mean) / self.input_std).astype(np.float32)

    def normalize_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """``(outputs - output_mean) / output_std`` as float32."""
        return ((outputs - self.output_mean) / self.output_std).astype(np.float32)

    def denormalize_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`normalize_outputs`, float32."""
        return (outputs * self.output_std + self.output_mean).astype(np.float32)

    def save(self, path: str | Path) -> None:
        """Write the statistics to ``path`` as ``.npz`` (atomically: a temporary file, then a rename).

        Example:
            >>> import os, tempfile
            >>> norm = fit_normalization(np.eye(2, dtype=np.float32), np.eye(2, 3, dtype=np.float32))
            >>> path = os.path.join(tempfile.mkdtemp(), "norm.npz")
            >>> norm.save(path)
            >>> Normalization.load(path).output_mean.tolist()
            [0.5, 0.5, 0.0]
        """
        arrays = {name: getattr(self, name).astype(np.float32) for name in _ARRAYS}
        save_npz(path, version=np.int64(NORMALIZATION_VERSION), floor=np.float64(self.floor),
                 rows=np.int64(self.rows), **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Normalization:
        """Read statistics written by :meth:`save`; a one-line :class:`MocapError` names the file and problem."""
        arrays = load_npz(path, ("version", "floor", "rows") + _ARRAYS)
        if int(arrays["version"]) != NORMALIZATION_VERSION:
            raise MocapError(f"{path}: normalisation version {int(arrays['version'])} is not "
                             f"{NORMALIZATION_VERSION}")
        try:
            return cls(*(arrays[name].astype(np.float32) for name in _ARRAYS), float(arrays["floor"]),
                       int(arrays["rows"]))
        except MocapError as exc:
            raise MocapError(f"{path}: {exc}") from None


def fit_normalization(inputs: np.ndarray, outputs: np.ndarray, floor: float = 1e-2) -> Normalization:
    """Mean and std (population, floored at ``floor``) of every column, accumulated in float64.

    Args:
        inputs: ``(rows, input_dim)`` training inputs only.
        outputs: ``(rows, output_dim)`` the matching outputs.
        floor: smallest std kept (features are cm, cm/frame, unit vectors, radians and style weights,
            so 0.01 is below any feature that really varies).

    Example:
        >>> [round(float(v), 4) for v in fit_normalization(np.zeros((3, 1)), np.arange(3.0)[:, None]).output_std]
        [0.8165]
    """
    if inputs.ndim != 2 or outputs.ndim != 2 or len(inputs) != len(outputs) or len(inputs) == 0:
        raise MocapError(f"need matching non-empty (rows, features) arrays, got {inputs.shape} and {outputs.shape}")
    if not (floor > 0 and np.isfinite(floor)):
        raise MocapError(f"std floor must be a positive number, got {floor}")
    stats = [_mean_std(array, floor) for array in (inputs, outputs)]
    return Normalization(stats[0][0], stats[0][1], stats[1][0], stats[1][1], float(floor), len(inputs))


def _mean_std(array: np.ndarray, floor: float, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Column mean and floored std of ``array`` in two float64 passes over row chunks."""
    total = np.zeros(array.shape[1])
    for start in range(0, len(array), chunk):
        total += array[start : start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / len(array)
    squares = np.zeros(array.shape[1])
    for start in range(0, len(array), chunk):
        squares += ((array[start : start + chunk] - mean) ** 2).sum(axis=0)
    std = np.maximum(np.sqrt(squares / len(array)), floor)
    return mean.astype(np.float32), std.astype(np.float32)
