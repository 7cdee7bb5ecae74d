"""Deploy-time loader: a ``.dsz`` file -> numpy weights in the spatial or the Winograd domain.

Spatial domain: every tensor decoded (quantized ones with the dither cancelled, sparse
ones expanded to dense arrays, bfloat16 widened to float32). Winograd domain: tensors whose attrs carry
``{"winograd": {"m": m, "r": r}}`` become ``G w Gᵀ`` (shape ``(..., r, r)`` ->
``(..., n, n)``, :func:`formats.winograd.transform_filters`), then are pruned together with ONE
global magnitude threshold to the given ``sparsity``, or, when none is given, to the trained
Winograd sparsity the file stores (:func:`stored_winograd_sparsity`); other tensors stay spatial.

Global pruning rule: over all transformed elements (N of them, ordered by file order of
the tensors, then C order), exactly ``k = floor(sparsity * N)`` are set to 0: every element
with ``|w| < t`` and, among those with ``|w| == t``, the first ones in that order, where
``t`` is the k-th smallest magnitude. Elements already 0 count among the pruned.

Where the stored sparsity comes from (the recipe map of the header, free-form JSON; the first
of these that holds a number in [0, 1) wins):

1. ``recipe["report"]["sparsity"]["s_wd_deployed"]``: the sparsity at which the stage report of a
   ``dualsparse compress --recipe`` file measured its Winograd accuracy (``pruned_winograd``), so
   loading with the default reproduces the model the report scored;
2. otherwise ``s_wd`` of the last stage in ``recipe["stages"]`` (or ``recipe["_data"]["stages"]``)
   that trained with a Winograd-domain regularizer: a ``FinetuneConfig`` whose ``recipe`` includes
   ``"wd"``, or a ``CodebookConfig`` with ``wd_regularizer`` true (files written with
   ``compress.pipeline.artifact.write_artifact`` and ``pipeline_recipe``).

A file with neither (e.g. post-training ``dualsparse compress``) keeps every coefficient, and so
does an explicit ``sparsity=0.0`` for any file.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from formats.container.limits import DEFAULT_LIMITS, Limits
from formats.container.reader import Reader, open_dsz
from formats.errors import HeaderError

DOMAINS = ("spatial", "winograd")

log = logging.getLogger(__name__)


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
            with one global magnitude threshold. None (the default): the trained Winograd sparsity
            stored in the file (:func:`stored_winograd_sparsity`), or no pruning when the file stores
            none; ``0.0`` keeps every coefficient.
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
        if sparsity is None:
            sparsity = stored_winograd_sparsity(reader)
        from formats.winograd import transform_filters  # lazy: numpy-only, loaded when needed

        tiles = winograd_tiles(reader)
        for name, (m, _) in tiles.items():
            out[name] = transform_filters(out[name], m)
    if sparsity:
        prune_global(out, list(tiles), sparsity)
    return out


def stored_winograd_sparsity(source: str | os.PathLike[str] | bytes | Reader, *,
                             limits: Limits = DEFAULT_LIMITS) -> float | None:
    """The trained Winograd-domain sparsity a file stores, or None (see the module docstring for where).

    What :func:`load` prunes to in the Winograd domain when no ``sparsity`` is given. A stored value
    that is not a number in [0, 1) is skipped with a logged warning.

    Args:
        source: the file, its bytes, or an open :class:`~formats.container.reader.Reader`.
        limits: reader caps (when ``source`` is not a reader).

    Example:
        >>> from formats.container import dumps
        >>> recipe = {"report": {"sparsity": {"s_wd_deployed": 0.8}}}
        >>> stored_winograd_sparsity(dumps({"w": np.ones(2, np.float32)}, recipe=recipe))
        0.8
        >>> stored_winograd_sparsity(dumps({"w": np.ones(2, np.float32)})) is None
        True
    """
    if isinstance(source, Reader):
        return _stored_sparsity(source.recipe)
    with open_dsz(source, limits=limits) as reader:
        return _stored_sparsity(reader.recipe)


def winograd_tiles(source: str | os.PathLike[str] | bytes | Reader, *,
                   limits: Limits = DEFAULT_LIMITS) -> dict[str, tuple[int, int]]:
    """``name -> (m, r)`` of the tensors marked for Winograd deployment, in file order.

    These are the tensors :func:`load` transforms in the Winograd domain, each with F(m, r); an
    unmarked file gives ``{}``.

    Raises:
        HeaderError: a tensor's ``winograd`` attrs are malformed or do not match its shape.

    Example:
        >>> from formats.container import dumps
        >>> attrs = {"conv": {"winograd": {"m": 2, "r": 3}}}
        >>> winograd_tiles(dumps({"conv": np.ones((1, 1, 3, 3), np.float32)}, attrs=attrs))
        {'conv': (2, 3)}
    """
    if not isinstance(source, Reader):
        with open_dsz(source, limits=limits) as reader:
            return winograd_tiles(reader)
    tiles: dict[str, tuple[int, int]] = {}
    for record in source.records:
        spec = record.attrs.get("winograd")
        if spec is not None:
            m = _winograd_m(record.name, spec, record.shape)
            tiles[record.name] = (m, record.shape[-1])
    return tiles


def prune_global(weights: dict[str, np.ndarray], names: list[str], sparsity: float) -> None:
    """Zero exactly ``floor(sparsity * N)`` smallest-magnitude elements of ``weights[names]`` in place.

    Ties at the threshold are broken by position (order of ``names``, then C order). NaN elements are
    never pruned, and ``k`` is at most the number of the others (``spec/WINOGRAD.md`` 4.2).

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
    finite = mags[~np.isnan(mags)]  # NaN is never pruned: k counts the other elements only
    k = min(k, finite.size)
    if k == 0:
        return
    threshold = np.partition(finite, k - 1)[k - 1]
    mask = mags < threshold
    need = k - int(mask.sum())
    mask[np.flatnonzero(mags == threshold)[:need]] = True
    start = 0
    for name, size in zip(names, sizes, strict=True):
        w = np.array(weights[name], copy=True)
        w.reshape(-1)[mask[start : start + size]] = 0
        weights[name] = w
        start += size


def _stored_sparsity(recipe: Any) -> float | None:
    if not isinstance(recipe, Mapping):
        return None
    report = recipe.get("report")
    sparsity = report.get("sparsity") if isinstance(report, Mapping) else None
    if isinstance(sparsity, Mapping) and sparsity.get("s_wd_deployed") is not None:
        value = _fraction(sparsity["s_wd_deployed"], "recipe.report.sparsity.s_wd_deployed")
        if value is not None:
            return value
    data = recipe.get("_data")
    stages = recipe.get("stages", data.get("stages") if isinstance(data, Mapping) else None)
    found = None
    for index, stage in enumerate(stages if isinstance(stages, list) else []):
        if not isinstance(stage, Mapping) or not isinstance(stage.get("_data"), Mapping):
            continue
        fields = stage["_data"]
        trained = (stage.get("_type") == "FinetuneConfig" and "wd" in str(fields.get("recipe", ""))) or (
            stage.get("_type") == "CodebookConfig" and fields.get("wd_regularizer") is True)
        if trained and "s_wd" in fields:
            value = _fraction(fields["s_wd"], f"recipe stage {index} s_wd")
            found = value if value is not None else found
    return found


def _fraction(value: Any, where: str) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0.0 <= value < 1.0:
        return float(value)
    log.warning("ignoring %s = %r: not a Winograd sparsity in [0, 1)", where, value)
    return None


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
