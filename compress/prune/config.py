"""The pruning recipe: one frozen config object, serialised as ``{_type, _version, _data}``.

:func:`to_recipe` / :func:`from_recipe` turn a :class:`PruneConfig` (and the value objects inside it)
into plain msgpack/JSON-friendly dicts and back. Reading only instantiates classes on an allowlist,
so a recipe stored inside a ``.dsz`` file or a checkpoint can be trusted to be data.

Example:
    >>> from compress.prune.granularity import Blocks
    >>> cfg = PruneConfig(sparsity=0.9, granularity=Blocks(4, 1))
    >>> from_recipe(to_recipe(cfg)) == cfg
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from compress.errors import RecipeError
from compress.prune.criteria import CRITERIA, L1, Criterion
from compress.prune.granularity import GRANULARITIES, Granularity, Unstructured
from compress.prune.masks import check_fraction
from compress.prune.scope import Scope, SelectOptions


@dataclass(frozen=True)
class PruneConfig:
    """Everything one pruning pass needs.

    Attributes:
        sparsity: fraction of the weights in scope to prune, in [0, 1] (0.9, never 90).
        scope: GLOBAL (one threshold, the MANN study's choice) or LOCAL (per tensor).
        granularity: what one pruning decision removes.
        criterion: L1 magnitude or L2 norm of a group.
        select: which tensors are in scope.
        min_density: fraction of every tensor's groups that must survive.

    Example:
        >>> PruneConfig(sparsity=0.5).scope
        <Scope.GLOBAL: 'global'>
    """

    sparsity: float
    scope: Scope = Scope.GLOBAL
    granularity: Granularity = Unstructured()
    criterion: Criterion = L1()
    select: SelectOptions = field(default_factory=SelectOptions)
    min_density: float = 0.0
    version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "sparsity", check_fraction(self.sparsity, "sparsity"))
        object.__setattr__(self, "min_density", check_fraction(self.min_density, "min_density"))
        if not isinstance(self.scope, Scope):
            raise RecipeError(f"scope must be Scope.GLOBAL or Scope.LOCAL, got {self.scope!r}")

    def with_sparsity(self, sparsity: float) -> PruneConfig:
        """Return a copy that prunes to ``sparsity``."""
        return dataclasses.replace(self, sparsity=sparsity)


def _encode(value: Any) -> Any:
    if isinstance(value, Scope):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"_type": type(value).__name__, "_version": type(value).version, "_data": data}
    if isinstance(value, tuple):
        return list(value)
    return value


def _decode_value(blob: Any, allowed: Mapping[str, type]) -> Any:
    if not isinstance(blob, Mapping) or set(blob) != {"_type", "_version", "_data"}:
        raise RecipeError(f"expected a {{_type, _version, _data}} object, got {blob!r}")
    cls = allowed.get(blob["_type"])
    if cls is None:
        raise RecipeError(f"recipe type {blob['_type']!r} is not allowed here (known: {sorted(allowed)})")
    if blob["_version"] != cls.version:
        raise RecipeError(f"{blob['_type']} version {blob['_version']} is not supported (this build: "
                          f"{cls.version}); upgrade dualsparse")
    data = dict(blob["_data"])
    try:
        if cls is SelectOptions:
            data["exclude"] = tuple(data.get("exclude", ()))
        return cls(**data)
    except TypeError as exc:
        raise RecipeError(f"bad fields for {blob['_type']}: {exc}") from None


def to_recipe(config: PruneConfig) -> dict[str, Any]:
    """Serialise ``config`` to nested ``{_type, _version, _data}`` dicts of plain values.

    Example:
        >>> to_recipe(PruneConfig(0.5))["_type"]
        'PruneConfig'
    """
    return _encode(config)


def from_recipe(blob: Mapping[str, Any]) -> PruneConfig:
    """Rebuild a :class:`PruneConfig` from :func:`to_recipe` output, instantiating allowlisted types only.

    Raises:
        RecipeError: unknown type, unsupported version or malformed fields.

    Example:
        >>> from_recipe(to_recipe(PruneConfig(0.25))).sparsity
        0.25
    """
    if not isinstance(blob, Mapping) or blob.get("_type") != "PruneConfig":
        raise RecipeError("not a PruneConfig recipe (missing _type 'PruneConfig')")
    if blob.get("_version") != PruneConfig.version:
        raise RecipeError(f"PruneConfig version {blob.get('_version')} is not supported; upgrade dualsparse")
    data = dict(blob.get("_data", {}))
    try:
        return PruneConfig(
            sparsity=data["sparsity"],
            scope=Scope(data.get("scope", "global")),
            granularity=_decode_value(data["granularity"], GRANULARITIES),
            criterion=_decode_value(data["criterion"], CRITERIA),
            select=_decode_value(data["select"], {"SelectOptions": SelectOptions}),
            min_density=data.get("min_density", 0.0),
        )
    except (KeyError, ValueError) as exc:
        if isinstance(exc, RecipeError):
            raise
        raise RecipeError(f"malformed PruneConfig recipe: {exc}") from None


__all__ = ["PruneConfig", "from_recipe", "to_recipe"]
