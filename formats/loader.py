"""Deploy-time loader: a ``.dsz`` file -> numpy weights in the spatial or the Winograd domain.

Spatial domain: every tensor decoded (quantized ones with the dither cancelled, sparse
ones expanded to dense arrays, bfloat16 widened to float32). Winograd domain: tensors whose attrs carry
``{"winograd": {"m": m, "r": r}}`` become ``G w Gᵀ`` (shape ``(..., r, r)`` ->
``(..., n, n)``, :func:`formats.winograd.transform_filters`), then, if ``sparsity`` is
given, are pruned together with ONE global magnitude threshold; other tensors stay spatial.

Global pruning rule: over all transformed elements (N of them, ordered by file order of
the tensors, then C order), exactly ``k = floor(sparsity * N)`` are set to 0: every element
with ``|w| < t`` and, among those with ``|w| == t``, the first ones in that order, where
``t`` is the k-th smallest magnitude. Elements already 0 count among the pruned.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from formats.container.limits import DEFAULT_LIMITS, Limits
from formats.container.reader import open_dsz
from formats.errors import HeaderError

DOMAINS = ("spatial", "winograd")


def load(
    path: str | os.PathLike[str] | bytes,
    domain: str = "spatial",
    sparsity: float | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, np.ndarray]:
    """Decode a ``.dsz`` file into weights for a spatial or a Winograd runtime.

    Args:
        path: the file (or its bytes).
        domain: ``"spatial"`` or ``"winograd"``.
        sparsity: Winograd domain only: fraction in [0, 1) of transformed weights to prune
            with one global magnitude threshold; None keeps them all.
        limits: reader caps.

    Returns:
        name -> array, in file order.

    Raises:
        ValueError: unknown domain, or a sparsity outside [0, 1) or given for the spatial domain.
        HeaderError: a tensor's ``winograd`` attrs are malformed or do not match its shape.
        FormatError: any defect of the file.

    Example:
        >>> import numpy as np
        >>> from formats.container import dumps
        >>> attrs = {"conv": {"winograd": {"m": 2, "r": 3}}}
        >>> blob = dumps({"conv": np.ones((1, 1, 3, 3), np.float32)}, attrs=attrs)
        >>> load(blob, domain="winograd")["conv"].shape
        (1, 1, 4, 4)
    """
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    sparsity = _check_sparsity(sparsity, domain)
    with open_dsz(path, limits=limits) as reader:
        out = reader.read_many(widen_bfloat16=True)
        if domain == "spatial":
            return out
        from formats.winograd import transform_filters  # lazy: numpy-only, loaded when needed

        transformed: list[str] = []
        for record in reader.records:
            spec = record.attrs.get("winograd")
            if spec is None:
                continue
            m = _winograd_m(record.name, spec, out[record.name].shape)
            out[record.name] = transform_filters(out[record.name], m)
            transformed.append(record.name)
    if sparsity:
        prune_global(out, transformed, sparsity)
    return out


def prune_global(weights: dict[str, np.ndarray], names: list[str], sparsity: float) -> None:
    """Zero exactly ``floor(sparsity * N)`` smallest-magnitude elements of ``weights[names]`` in place.

    Ties at the threshold are broken by position (order of ``names``, then C order).

    Example:
        >>> w = {"a": np.array([3.0, -1.0]), "b": np.array([2.0, 1.0])}
        >>> prune_global(w, ["a", "b"], 0.5); w["a"].tolist(), w["b"].tolist()
        ([3.0, 0.0], [2.0, 0.0])
    """
    sizes = [weights[n].size for n in names]
    total = sum(sizes)
    k = math.floor(sparsity * total)
    if k == 0:
        return
    mags = np.concatenate([np.abs(weights[n]).astype(np.float64).reshape(-1) for n in names])
    threshold = np.partition(mags, k - 1)[k - 1]
    mask = mags < threshold
    need = k - int(mask.sum())
    mask[np.flatnonzero(mags == threshold)[:need]] = True
    start = 0
    for name, size in zip(names, sizes, strict=True):
        w = np.array(weights[name], copy=True)
        w.reshape(-1)[mask[start : start + size]] = 0
        weights[name] = w
        start += size


def _check_sparsity(sparsity: Any, domain: str) -> float | None:
    if sparsity is None:
        return None
    if domain != "winograd":
        raise ValueError(
            "sparsity applies to the winograd domain only; spatial weights keep the sparsity of quantization"
        )
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float | np.floating | np.integer):
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    value = float(sparsity)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"sparsity must be a fraction in [0, 1) (e.g. 0.8 for 80 %), got {sparsity!r}")
    return value


def _winograd_m(name: str, spec: Any, shape: tuple[int, ...]) -> int:
    if not isinstance(spec, dict) or set(spec) - {"m", "r"} or "m" not in spec:
        raise HeaderError(
            f"tensor {name!r}: attrs 'winograd' must be a map {{'m': int, 'r': int}}, got {spec!r}"
        )
    m, r = spec.get("m"), spec.get("r", shape[-1] if shape else None)
    for key, value in (("m", m), ("r", r)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise HeaderError(f"tensor {name!r}: winograd {key} must be a positive integer, got {value!r}")
    if len(shape) < 2 or shape[-2:] != (r, r):
        raise HeaderError(
            f"tensor {name!r}: winograd r={r} needs filters shaped (..., {r}, {r}), got {shape}"
        )
    return m
