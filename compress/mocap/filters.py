"""Gaussian smoothing along time, with the first and last frames repeated past the ends.

Example:
    >>> gaussian_smooth(np.array([0.0, 0.0, 3.0, 0.0, 0.0]), 0.0).tolist()
    [0.0, 0.0, 3.0, 0.0, 0.0]
"""

from __future__ import annotations

import numpy as np

from compress.mocap.errors import MocapError

__all__ = ["gaussian_kernel", "gaussian_smooth"]


def gaussian_kernel(sigma: float) -> np.ndarray:
    """Normalised Gaussian weights on ``-ceil(4 sigma) .. ceil(4 sigma)`` (``[1.0]`` for ``sigma == 0``).

    Example:
        >>> gaussian_kernel(1.0).shape, round(float(gaussian_kernel(1.0).sum()), 12)
        ((9,), 1.0)
    """
    if not (sigma >= 0 and np.isfinite(sigma)):
        raise MocapError(f"smoothing sigma must be a finite number >= 0 (frames), got {sigma}")
    if sigma == 0:
        return np.ones(1)
    radius = int(np.ceil(4 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (x / sigma) ** 2)
    return weights / weights.sum()


def gaussian_smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Smooth ``values`` along axis 0 (time) with a Gaussian of ``sigma`` frames; ends are padded by repetition.

    Args:
        values: shape ``(frames, ...)``.
        sigma: standard deviation in frames; 0 returns a copy.

    Returns:
        Array of the same shape, float64. A linear ramp stays a linear ramp away from the ends.

    Example:
        >>> gaussian_smooth(np.arange(12.0), 1.0)[4:8].round(9).tolist()
        [4.0, 5.0, 6.0, 7.0]
    """
    values = np.asarray(values, dtype=np.float64)
    kernel = gaussian_kernel(sigma)
    if kernel.size == 1 or values.shape[0] == 0:
        return values.copy()
    radius = kernel.size // 2
    padded = np.concatenate([np.repeat(values[:1], radius, axis=0), values, np.repeat(values[-1:], radius, axis=0)])
    out = np.zeros_like(values)
    for offset, weight in enumerate(kernel):
        out += weight * padded[offset : offset + values.shape[0]]
    return out
