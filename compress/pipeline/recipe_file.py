"""TOML recipes of ``dualsparse compress --recipe``: every parameter of every stage in one versioned file.

A recipe (version 1) has a top-level ``version`` and ``seed`` and the sections below; every key is
optional except ``task.name`` and one of ``quantize.bits`` / ``quantize.step``. Unknown keys and
wrong types are rejected with a one-line error naming the key::

    version = 1
    seed = 0                       # batch order, torch seed, dither seed

    [task]
    name = "lenet5-mnist"          # built-in task, or "package.module:function" (see compress.pipeline.tasks)
    data_root = "../shared/data"   # where built-in tasks find their data
    [task.options]                 # keyword arguments of an entry-point task (or of digits-demo)
    epochs = 30

    [finetune]                     # eq. 5 with learnable coefficients
    domains = "wd+sd"              # "wd+sd", "sd" or "wd"
    s_sd = 0.8                     # spatial sparsity target (fraction) of R_SD
    s_wd = 0.8                     # Winograd-domain sparsity target of R_WD (and of Winograd deployment)
    alpha = 1.0                    # weight of -α Σ ζ
    zeta_init = 0.0                # ζ at the start (λ = e^ζ)
    zeta_lr = 0.01
    optimizer = "adam"             # the only optimizer of this version
    lr = 1e-4
    steps = 1000
    batch = 128
    distill = 0.0                  # weight of distillation from the original model, in [0, 1]
    temperature = 2.0
    log_every = 50

    [winograd]                     # F(m, r): output tile m per kernel size r
    3 = 4
    5 = 4

    [quantize]                     # dithered uniform quantization (eq. 6)
    bits = 5                       # bit budget for Δ, or: step = 0.01 (one Δ)
    per_layer = false              # one Δ per tensor from the bit budget
    [quantize.layers."fc.weight"]  # per-layer override: bits or step
    bits = 6

    [codebook]                     # codebook fine-tuning with E + e^ζ R_WD - α ζ
    steps = 300
    lr = 1e-4
    zeta_lr = 0.01
    alpha = 1.0
    wd_regularizer = true
    batch = 128

    [output]
    codec = "auto"                 # or raw, zstd, brotli, bzip2, lzma, lzw, rans, rans-zs

:func:`load_recipe` reads a file or a built-in name (``compress/recipes/*.toml``);
:meth:`Recipe.to_map` is the normalised form (defaults filled in) embedded in the ``.dsz`` file and
:func:`recipe_to_toml` writes it back as TOML (deterministic; ``load_recipe`` of it gives the same recipe).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from compress.errors import RecipeError
from compress.pipeline.config import CodebookConfig, FinetuneConfig
from formats.codecs import codec_names

__all__ = ["RECIPE_VERSION", "Recipe", "builtin_recipes", "load_recipe", "parse_recipe", "recipe_to_toml"]

RECIPE_VERSION = 1
CODECS = ("auto", *codec_names())
_INT, _FLOAT, _BOOL, _STR = "integer", "number", "boolean", "string"

# section -> key -> (kind, default); None default = required or "absent".
_SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "": {"version": (_INT, RECIPE_VERSION), "seed": (_INT, 0)},
    "task": {"name": (_STR, None), "data_root": (_STR, "../shared/data")},
    "finetune": {
        "domains": (_STR, "wd+sd"), "s_sd": (_FLOAT, 0.8), "s_wd": (_FLOAT, 0.8), "alpha": (_FLOAT, 1.0),
        "zeta_init": (_FLOAT, 0.0), "zeta_lr": (_FLOAT, 1e-2), "optimizer": (_STR, "adam"), "lr": (_FLOAT, 1e-4),
        "steps": (_INT, 1000), "batch": (_INT, 128), "distill": (_FLOAT, 0.0), "temperature": (_FLOAT, 2.0),
        "log_every": (_INT, 50),
    },
    "quantize": {"bits": (_INT, None), "step": (_FLOAT, None), "per_layer": (_BOOL, False)},
    "codebook": {
        "steps": (_INT, 300), "lr": (_FLOAT, 1e-4), "zeta_lr": (_FLOAT, 1e-2), "alpha": (_FLOAT, 1.0),
        "wd_regularizer": (_BOOL, True), "batch": (_INT, 128),
    },
    "output": {"codec": (_STR, "auto")},
}
_TABLES = {"task": ("options",), "quantize": ("layers",)}
_SECTIONS = ("task", "finetune", "winograd", "quantize", "codebook", "output")
_DEFAULT_WINOGRAD = {"3": 4, "5": 4}


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. Build it with :func:`parse_recipe` or :func:`load_recipe`.

    Attributes:
        data: the normalised map (every key present, defaults filled in), as in the TOML file.
        finetune: the fine-tuning config derived from ``[finetune]``, ``[winograd]`` and ``seed``.
        codebook: quantization + codebook config derived from ``[quantize]``, ``[codebook]``, ``s_wd``.
        layer_overrides: per-tensor quantization configs from ``[quantize.layers]``.
    """

    data: dict[str, Any]
    finetune: FinetuneConfig
    codebook: CodebookConfig
    layer_overrides: dict[str, CodebookConfig]

    @property
    def task_name(self) -> str:
        """``task.name``."""
        return str(self.data["task"]["name"])

    @property
    def seed(self) -> int:
        """Top-level seed."""
        return int(self.data["seed"])

    @property
    def m_for_r(self) -> dict[int, int]:
        """Winograd output tile per kernel size."""
        return {int(r): int(m) for r, m in self.data["winograd"].items()}

    def section(self, name: str) -> dict[str, Any]:
        """One section of the normalised map."""
        return self.data[name]

    def to_map(self) -> dict[str, Any]:
        """The normalised recipe (a deep copy), ready for ``formats.save(recipe=...)`` or TOML."""
        return _copy(self.data)


def builtin_recipes() -> list[str]:
    """Names of the recipes shipped in ``compress/recipes``.

    Example:
        >>> "digits-demo" in builtin_recipes()
        True
    """
    folder = files("compress.recipes")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Read a recipe file, or a built-in recipe by name.

    Args:
        name_or_path: a path ending in ``.toml`` (or an existing file), or a name of :func:`builtin_recipes`.

    Returns:
        The validated :class:`Recipe`.

    Raises:
        RecipeError: unknown name, unreadable file, bad TOML, or an invalid key (named in the message).

    Example:
        >>> load_recipe("digits-demo").task_name
        'digits-demo'
    """
    text_path = Path(name_or_path)
    if str(name_or_path).endswith(".toml") or text_path.is_file():
        try:
            text = text_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RecipeError(f"cannot read recipe {text_path}: {exc.strerror or exc}") from None
        where = str(text_path)
    else:
        name = str(name_or_path)
        if name not in builtin_recipes():
            raise RecipeError(f"unknown recipe {name!r}; built-in recipes: {', '.join(builtin_recipes())} "
                              "(or give a .toml file)")
        text = files("compress.recipes").joinpath(f"{name}.toml").read_text(encoding="utf-8")
        where = f"built-in recipe {name}"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RecipeError(f"{where} is not valid TOML: {exc}") from None
    return parse_recipe(raw, where=where)


def parse_recipe(raw: Mapping[str, Any], *, where: str = "recipe") -> Recipe:
    """Validate a recipe map (as read from TOML) and fill in the defaults.

    Example:
        >>> parse_recipe({"task": {"name": "digits-demo"}, "quantize": {"bits": 4}}).finetune.steps
        1000
    """
    unknown = sorted(set(raw) - set(_SECTIONS) - set(_SCHEMA[""]))
    if unknown:
        raise RecipeError(f"{where}: unknown key {unknown[0]!r}; top-level keys are version, seed and the sections "
                          f"[{'], ['.join(_SECTIONS)}]")
    data: dict[str, Any] = _section(raw, "", where)
    if data["version"] != RECIPE_VERSION:
        raise RecipeError(f"{where}: version = {data['version']} is not supported; this build reads version "
                          f"{RECIPE_VERSION}")
    for name in _SECTIONS:
        value = raw.get(name, {})
        if not isinstance(value, Mapping):
            raise RecipeError(f"{where}: [{name}] must be a table, got {type(value).__name__}")
        data[name] = _winograd(value, where) if name == "winograd" else _section(value, name, where)
    _check_values(data, where)
    finetune = _finetune_config(data, where)
    codebook = _codebook_config(data, data["quantize"], where, "quantize")
    overrides = {
        layer: _codebook_config(data, {**data["quantize"], "step": None, "bits": None, **spec}, where,
                                f"quantize.layers.{layer}")
        for layer, spec in data["quantize"]["layers"].items()
    }
    return Recipe(data, finetune, codebook, overrides)


def recipe_to_toml(recipe: Recipe | Mapping[str, Any]) -> str:
    """The recipe as TOML text, keys in schema order (deterministic; reads back to the same recipe).

    Example:
        >>> text = recipe_to_toml(load_recipe("digits-demo"))
        >>> parse_recipe(tomllib.loads(text)).to_map() == load_recipe("digits-demo").to_map()
        True
    """
    data = recipe.to_map() if isinstance(recipe, Recipe) else dict(recipe)
    lines = [f"{k} = {_toml_value(data[k])}" for k in _SCHEMA[""] if data.get(k) is not None]
    for name in _SECTIONS:
        section = data.get(name, {})
        lines += ["", f"[{name}]"]
        scalars = [k for k in section if not isinstance(section[k], Mapping)]
        lines += [f"{_toml_key(k)} = {_toml_value(section[k])}" for k in scalars if section[k] is not None]
        for table in _TABLES.get(name, ()):
            entries = section.get(table, {})
            if table == "options":
                if entries:
                    lines += ["", f"[{name}.{table}]"]
                    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(entries.items())]
                continue
            for layer, spec in sorted(entries.items()):
                lines += ["", f"[{name}.{table}.{_toml_key(layer)}]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(spec.items())]
    return "\n".join(lines) + "\n"


def _section(raw: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    schema = _SCHEMA[name]
    tables = _TABLES.get(name, ())
    prefix = f"{name}." if name else ""
    out: dict[str, Any] = {}
    for key in raw:
        if name == "" and key in _SECTIONS:
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


def _winograd(raw: Mapping[str, Any], where: str) -> dict[str, int]:
    table = dict(_DEFAULT_WINOGRAD) if not raw else {}
    for r, m in raw.items():
        if not r.isdigit() or int(r) < 2 or not isinstance(m, int) or isinstance(m, bool) or not 1 <= m <= 8:
            raise RecipeError(f"{where}: winograd.{r} = {m!r}: use <kernel size r> = <output tile m in 1..8>, "
                              "e.g. 3 = 4 for F(4, 3)")
        table[str(int(r))] = m
    return dict(sorted(table.items(), key=lambda item: int(item[0])))


def _check_values(data: dict[str, Any], where: str) -> None:
    checks = [
        ("seed", 0 <= data["seed"] < 2**63, "an integer in [0, 2**63)"),
        ("task.name", bool(data["task"]["name"]), "given (a built-in task or module:function)"),
        ("finetune.optimizer", data["finetune"]["optimizer"] == "adam", "'adam' (the only optimizer of version 1)"),
        ("finetune.batch", data["finetune"]["batch"] >= 1, "a positive integer"),
        ("finetune.distill", 0.0 <= data["finetune"]["distill"] <= 1.0, "in [0, 1]"),
        ("codebook.batch", data["codebook"]["batch"] >= 1, "a positive integer"),
        ("output.codec", data["output"]["codec"] in CODECS, f"one of {', '.join(CODECS)}"),
    ]
    if data["task"]["name"] is None:
        raise RecipeError(f"{where}: task.name is missing; give a built-in task or module:function")
    for key, ok, rule in checks:
        if not ok:
            section, _, field = key.rpartition(".")
            value = data[section][field] if section else data[field]
            raise RecipeError(f"{where}: {key} must be {rule}, got {value!r}")
    quantize = data["quantize"]
    if (quantize["bits"] is None) == (quantize["step"] is None):
        raise RecipeError(f"{where}: [quantize] needs exactly one of bits (bit budget) or step (one Δ)")


def _finetune_config(data: dict[str, Any], where: str) -> FinetuneConfig:
    ft = data["finetune"]
    try:
        return FinetuneConfig(
            recipe=ft["domains"], s_sd=ft["s_sd"], s_wd=ft["s_wd"], steps=ft["steps"], lr=ft["lr"],
            zeta_lr=ft["zeta_lr"], zeta_init=ft["zeta_init"], alpha=ft["alpha"], distill_weight=ft["distill"],
            temperature=ft["temperature"], m_for_r=tuple((int(r), m) for r, m in data["winograd"].items()),
            seed=data["seed"], log_every=ft["log_every"],
        )
    except RecipeError as exc:
        raise RecipeError(f"{where}: [finetune] {_rename(str(exc))}") from None


def _codebook_config(data: dict[str, Any], quantize: Mapping[str, Any], where: str, key: str) -> CodebookConfig:
    cb = data["codebook"]
    try:
        return CodebookConfig(
            step=quantize["step"], bits=quantize["bits"], per_layer=quantize["per_layer"], seed=data["seed"],
            steps=cb["steps"], lr=cb["lr"], zeta_lr=cb["zeta_lr"], alpha=cb["alpha"], s_wd=data["finetune"]["s_wd"],
            wd_regularizer=cb["wd_regularizer"] and data["finetune"]["domains"] != "sd",
        )
    except RecipeError as exc:
        text = str(exc)
        section = key if text.startswith(("step ", "bits ", "give a quantization")) else "codebook"
        raise RecipeError(f"{where}: [{section}] {text}") from None


def _rename(message: str) -> str:
    for old, new in (("distill_weight", "distill"), ("recipe", "domains")):
        message = message.replace(old, new)
    return message


def _toml_key(key: str) -> str:
    if key and all(c.isalnum() and c.isascii() or c in "-_" for c in key):
        return key
    return _toml_value(key)


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise RecipeError(f"cannot write {value!r} to TOML")


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
