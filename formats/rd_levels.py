"""Rate–distortion choice of quantization levels (RDOQ) under an order-0 rate model.

A uniform quantizer rounds ``x = (a + U) / Δ`` to the nearest level. Rounding a weight one level
toward zero, or to zero, costs a little distortion and can save rate, since levels near zero are
the frequent, cheap ones. :func:`rd_levels` picks, for every weight, the level among
``{rint(x), rint(x) - sign(rint(x)), 0}`` that minimises::

    (x - k)^2 + λ · bits(k)          (distortion in units of Δ², rate in bits)

where ``bits(k) = -log2 p(k)`` comes from the empirical distribution of the levels themselves
(order 0: what the entropy coders of this package approach). The distribution depends on the
choice, so the choice is repeated ``passes`` times from the rounded levels. ``λ = 0`` gives plain
rounding. Encoder-side only: the decoder sees ordinary levels.
"""

from __future__ import annotations

import numpy as np

DEFAULT_PASSES = 2


def rd_levels(x: np.ndarray, lam: float, passes: int = DEFAULT_PASSES) -> np.ndarray:
    """Levels (float64 integers) for the scaled values ``x``, trading ``λ`` bits against Δ² of error.

    Args:
        x: the values divided by the step (dither added first when there is one); finite.
        lam: Lagrange multiplier λ ≥ 0 in Δ² per bit. 0 rounds to nearest (ties to even). Useful
            values are small (about 0.02 to 0.2): larger ones snowball, since every weight moved to
            zero makes zero cheaper for the next pass.
        passes: rate-model updates (≥ 1).

    Returns:
        float64 array shaped like ``x`` holding integers; each is ``rint(x)``, one level closer to
        zero, or zero.

    Example:
        >>> x = np.array([0.0, 0.0, 0.0, 0.55, -0.6, 2.4, 3.0])
        >>> rd_levels(x, 0.0).tolist()
        [0.0, 0.0, 0.0, 1.0, -1.0, 2.0, 3.0]
        >>> rd_levels(x, 0.5).tolist()
        [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 3.0]
    """
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"the rate-distortion λ must be a finite number >= 0, got {lam!r}")
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    values = np.asarray(x, dtype=np.float64)
    nearest = np.rint(values)
    if lam == 0 or values.size == 0:
        return nearest
    low = int(min(nearest.min(), 0.0))
    size = int(max(nearest.max(), 0.0)) - low + 1
    toward_zero = nearest - np.sign(nearest)
    candidates = (nearest, toward_zero, np.zeros_like(nearest))
    errors = [(values - c) ** 2 for c in candidates]
    indices = [(c.astype(np.int64) - low) for c in candidates]
    levels = nearest
    for _ in range(passes):
        counts = np.bincount((levels.astype(np.int64) - low).reshape(-1), minlength=size)
        # a level nobody uses yet costs as much as one used half a time (no infinite rates)
        bits = -np.log2(np.maximum(counts, 0.5) / values.size)
        best = levels.copy()
        best_cost = np.full(values.shape, np.inf)
        for candidate, error, index in zip(candidates, errors, indices, strict=True):
            cost = error + lam * bits[index]
            better = cost < best_cost
            best[better] = candidate[better]
            best_cost[better] = cost[better]
        levels = best
    return levels
