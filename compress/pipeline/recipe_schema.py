"""The key schema of recipe files (:mod:`compress.pipeline.recipe_file`): kinds, defaults, and the
validation of one section, each error one line naming the key.

Example:
    >>> read_section({"steps": 10}, "codebook", "recipe")["steps"], read_winograd({}, "recipe")
    (10, {'3': 4, '5': 4})
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from compress.errors import RecipeError
from formats.codecs import codec_names

__all__ = ["CODECS", "RECIPE_VERSION", "SCHEMA", "SECTIONS", "TABLES", "read_section", "read_winograd"]

RECIPE_VERSION = 1
CODECS = ("auto", *codec_names())
_INT, _FLOAT, _BOOL, _STR = "integer", "number", "boolean", "string"

# section -> key -> (kind, default); None default = required or "absent".
SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "": {"version": (_INT, RECIPE_VERSION), "seed": (_INT, 0)},
    "task": {"name": (_STR, None), "data_root": (_STR, "../shared/data")},
    "finetune": {
        "domains": (_STR, "wd+sd"), "s_sd": (_FLOAT, 0.8), "s_wd": (_FLOAT, 0.8), "alpha": (_FLOAT, 1.0),
        "zeta_init": (_FLOAT, 0.0), "zeta_max": (_FLOAT, None), "zeta_lr": (_FLOAT, 1e-2),
        "optimizer": (_STR, "adam"), "lr": (_FLOAT, 1e-4),
        "steps": (_INT, 1000), "batch": (_INT, 128), "distill": (_FLOAT, 0.0), "temperature": (_FLOAT, 2.0),
        "log_every": (_INT, 50), "batchnorm": (_STR, "train"), "augment": (_STR, "none"), "ramp_steps": (_INT, 0),
        "decoupled_lr": (_FLOAT, 0.0), "lr_schedule": (_STR, "constant"),
    },
    "quantize": {"bits": (_INT, None), "step": (_FLOAT, None), "per_layer": (_BOOL, False), "prune": (_FLOAT, 0.0)},
    "codebook": {
        "steps": (_INT, 300), "lr": (_FLOAT, 1e-4), "zeta_lr": (_FLOAT, 1e-2), "zeta_max": (_FLOAT, None),
        "alpha": (_FLOAT, 1.0), "wd_regularizer": (_BOOL, True), "batch": (_INT, 128),
    },
    "output": {"codec": (_STR, "auto"), "raw_float": (_STR, "float32"), "codebook_mantissa_bits": (_INT, 23)},
}
TABLES = {"task": ("options",), "quantize": ("tensor_bits", "layers")}
SECTIONS = ("task", "finetune", "winograd", "quantize", "codebook", "output")
_DEFAULT_WINOGRAD = {"3": 4, "5": 4}


def read_section(raw: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    """Section ``name`` of a recipe map, typed and with every default filled in.

    Args:
        raw: the section as read from TOML (or the normalised map).
        name: a key of :data:`SCHEMA` (``""``: the top level, whose section tables are skipped).
        where: the recipe's name for error messages.

    Returns:
        Every key of the section's schema and tables (``None`` where absent without a default).

    Raises:
        RecipeError: an unknown key or a wrong type or value, named in one line.
    """
    schema = SCHEMA[name]
    tables = TABLES.get(name, ())
    prefix = f"{name}." if name else ""
    out: dict[str, Any] = {}
    for key in raw:
        if name == "" and key in SECTIONS:
            continue
        if key not in schema and key not in tables:
            known = ", ".join([*schema, *tables])
            raise RecipeError(f"{where}: unknown key {prefix}{key}; known keys of [{name or 'top level'}]: {known}")
    for key, (kind, default) in schema.items():
        value = raw.get(key, default)
        if value is not None:
            value = _typed(value, kind, f"{prefix}{key}", where)
        out[key] = value
    for table in tables:
        value = raw.get(table, {})
        if table == "tensor_bits":
            out[table] = _tensor_bits(value, where)
            continue
        if not isinstance(value, Mapping):
            raise RecipeError(f"{where}: {prefix}{table} must be a table, got {type(value).__name__}")
        out[table] = _options(value, f"{prefix}{table}", where) if table == "options" else _layers(value, where)
    return out


def _typed(value: Any, kind: str, key: str, where: str) -> Any:
    ok = {
        _INT: isinstance(value, int) and not isinstance(value, bool),
        _FLOAT: isinstance(value, int | float) and not isinstance(value, bool),
        _BOOL: isinstance(value, bool),
        _STR: isinstance(value, str),
    }[kind]
    if not ok:
        raise RecipeError(f"{where}: {key} must be a {kind}, got {value!r}")
    if kind == _FLOAT:
        value = float(value)
        if not math.isfinite(value):
            raise RecipeError(f"{where}: {key} must be finite, got {value!r}")
    return value


def _options(raw: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    for name, value in raw.items():
        if isinstance(value, Mapping) or (isinstance(value, float) and not math.isfinite(value)):
            raise RecipeError(f"{where}: {key}.{name} must be a string, number, boolean or array, got {value!r}")
    return dict(raw)


def _layers(raw: Mapping[str, Any], where: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for layer, spec in raw.items():
        key = f"quantize.layers.{layer}"
        if not isinstance(spec, Mapping):
            raise RecipeError(f"{where}: {key} must be a table with bits or step, got {spec!r}")
        unknown = sorted(set(spec) - {"bits", "step"})
        if unknown or len(spec) != 1:
            raise RecipeError(f"{where}: {key} must hold exactly one of bits, step; got {sorted(spec)}")
        field, value = next(iter(spec.items()))
        out[layer] = {field: _typed(value, _INT if field == "bits" else _FLOAT, f"{key}.{field}", where)}
    return out


def _tensor_bits(raw: Any, where: str) -> list[list[Any]]:
    if isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, list) and all(isinstance(p, list | tuple) and len(p) == 2 for p in raw):
        pairs = [(p[0], p[1]) for p in raw]
    else:
        raise RecipeError(f"{where}: quantize.tensor_bits must be a table of \"pattern\" = bits (or an array of "
                          f"[pattern, bits] pairs), got {raw!r}")
    out: list[list[Any]] = []
    for pattern, bits in pairs:
        shown = json.dumps(pattern, ensure_ascii=False) if isinstance(pattern, str) else repr(pattern)
        key = f"quantize.tensor_bits.{shown}"
        if not isinstance(pattern, str) or not pattern:
            raise RecipeError(f"{where}: {key}: a pattern must be a non-empty string (fnmatch glob, e.g. \"conv*\")")
        if any(pattern == seen for seen, _ in out):
            raise RecipeError(f"{where}: {key} is given twice; each pattern once (first match wins)")
        if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
            raise RecipeError(f"{where}: {key} must be an integer in [2, 16] (bits), got {bits!r}")
        out.append([pattern, bits])
    return out


def read_winograd(raw: Mapping[str, Any], where: str) -> dict[str, int]:
    """The ``[winograd]`` table as ``{"r": m}`` sorted by r (``3 = 4`` and ``5 = 4`` when empty)."""
    table = dict(_DEFAULT_WINOGRAD) if not raw else {}
    for r, m in raw.items():
        if not r.isdigit() or int(r) < 2 or not isinstance(m, int) or isinstance(m, bool) or not 1 <= m <= 8:
            raise RecipeError(f"{where}: winograd.{r} = {m!r}: use <kernel size r> = <output tile m in 1..8>, "
                              "e.g. 3 = 4 for F(4, 3)")
        table[str(int(r))] = m
    return dict(sorted(table.items(), key=lambda item: int(item[0])))
