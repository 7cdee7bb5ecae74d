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
from typing import Any, NamedTuple

from compress.errors import RecipeError
from formats.codecs import codec_names

__all__ = [
    "CODECS", "RECIPE_VERSION", "SCHEMA", "SCHEMA_V1_QUANTIZE", "SECTIONS", "TABLES", "TABLE_MEANINGS",
    "WINOGRAD_MEANING", "Key", "read_section", "read_winograd", "upgrade_version_1",
]

RECIPE_VERSION = 2
CODECS = ("auto", *codec_names())
_INT, _FLOAT, _BOOL, _STR = "integer", "number", "boolean", "string"


class Key(NamedTuple):
    """One recipe key: its TOML kind, its default (None: required or absent) and what it means."""

    kind: str
    default: Any
    meaning: str


# section -> key -> Key; the meanings are the reference of docs/recipe-keys.md (compress.pipeline.recipe_doc)
SCHEMA: dict[str, dict[str, Key]] = {
    "": {
        "version": Key(_INT, 1, f"recipe format version: {RECIPE_VERSION} (current) or 1, read as before (its "
                       "quantize.bits is one shared budget unless per_layer = true); absent: 1"),
        "seed": Key(_INT, 0, "seeds the batch order, torch's RNG at each stage start and the dither of the file"),
    },
    "task": {
        "name": Key(_STR, None, "required: a built-in task (e.g. lenet5-mnist, digits-demo) or "
                    "\"package.module:function\" returning a Task (see compress.pipeline.tasks)"),
        "data_root": Key(_STR, "../shared/data", "folder where built-in tasks find their models and data"),
    },
    "finetune": {
        "domains": Key(_STR, "wd+sd", "regularized domains: \"wd+sd\", \"sd\" (spatial) or \"wd\" (Winograd)"),
        "s_sd": Key(_FLOAT, 0.8, "spatial sparsity target of R_SD (fraction of the weights at or below θ_SD)"),
        "s_wd": Key(_FLOAT, 0.8, "Winograd-domain sparsity target of R_WD; also the sparsity of Winograd "
                    "deployment in the report"),
        "alpha": Key(_FLOAT, 1.0, "weight α of the -α Σ ζ term of eq. 5"),
        "zeta_init": Key(_FLOAT, 0.0, "ζ at the start (each regularizer's weight is λ = e^ζ)"),
        "zeta_max": Key(_FLOAT, None, "cap on ζ in the cost; absent: no cap (the paper's eq. 5)"),
        "zeta_lr": Key(_FLOAT, 1e-2, "Adam learning rate of ζ"),
        "optimizer": Key(_STR, "adam", "\"adam\", the only optimizer of this version"),
        "lr": Key(_FLOAT, 1e-4, "Adam learning rate of the network weights"),
        "steps": Key(_INT, 1000, "optimizer steps (the training data is cycled)"),
        "batch": Key(_INT, 128, "training batch size"),
        "distill": Key(_FLOAT, 0.0, "weight in [0, 1] of distillation from the original model in the task loss"),
        "temperature": Key(_FLOAT, 2.0, "distillation temperature"),
        "log_every": Key(_INT, 50, "a progress line and a row of the run's CSV log every this many steps"),
        "batchnorm": Key(_STR, "train", "BatchNorm while training: \"train\", \"frozen\" (running statistics "
                         "kept) or \"fold\" (re-estimated, then folded into the convs before quantizing); "
                         "codebook tuning follows it"),
        "augment": Key(_STR, "none", "\"none\", \"crop-flip\" (random crop with 4-pixel padding, horizontal "
                       "flip) or \"crop-flip-cutmix\" (and a box from another image pasted into half of them)"),
        "ramp_steps": Key(_INT, 0, "s_sd and s_wd rise from 0 over these first steps (cubic, as gradual "
                          "pruning); 0: full targets from the first step"),
        "decoupled_lr": Key(_FLOAT, 0.0, "> 0: the regularizers' gradient step is taken apart from Adam, "
                            "this size (0: through Adam, as the paper)"),
        "lr_schedule": Key(_STR, "constant", "\"constant\" or \"cosine\" (lr through the ramp, then a half "
                           "cosine down to 0 at the last step)"),
    },
    "quantize": {
        "bits": Key(_INT, None, "bit budget per tensor: each quantized weight tensor gets its own Δ from its "
                    "own peak, levels within ±(2^(bits-1) - 1), as compress --bits"),
        "shared_bits": Key(_INT, None, "bit budget of one Δ shared by all quantized weights, from their common "
                           "peak (the paper's setting; version 1 wrote it bits with per_layer = false)"),
        "step": Key(_FLOAT, None, "one Δ for every quantized weight"),
        "prune": Key(_FLOAT, 0.0, "zero this fraction of the quantized weights first (the smallest in "
                     "magnitude, one global threshold)"),
    },
    "codebook": {
        "steps": Key(_INT, 300, "codebook fine-tuning steps (0: quantize only)"),
        "lr": Key(_FLOAT, 1e-4, "Adam learning rate of the shared values"),
        "zeta_lr": Key(_FLOAT, 1e-2, "Adam learning rate of ζ_WD"),
        "zeta_max": Key(_FLOAT, None, "cap on ζ_WD, which starts at fine-tuning's final ζ_WD; absent: no cap"),
        "alpha": Key(_FLOAT, 1.0, "weight α of -α ζ_WD"),
        "wd_regularizer": Key(_BOOL, True, "include e^ζ_WD R_WD - α ζ_WD in the cost (off when domains = \"sd\")"),
        "batch": Key(_INT, 128, "training batch size"),
    },
    "output": {
        "codec": Key(_STR, "auto", "entropy coder of the weight tensors: auto (the smallest per tensor) or "
                     f"one of {', '.join(codec_names())}"),
        "raw_float": Key(_STR, "float32", "\"float32\" or \"float16\" for the tensors not quantized "
                         "(BatchNorm vectors, biases); float16 halves them and is no longer lossless"),
        "codebook_mantissa_bits": Key(_INT, 23, "float32 mantissa bits kept of the tuned codebooks: 23 keeps "
                                      "them, 7 rounds them to bfloat16's precision"),
    },
}
# keys of version 1 that version 2 reads differently (see upgrade_version_1)
SCHEMA_V1_QUANTIZE: dict[str, Key] = {
    "bits": Key(_INT, None, "bit budget: one Δ shared by all weights, or one per tensor with per_layer = true"),
    "step": SCHEMA["quantize"]["step"],
    "per_layer": Key(_BOOL, False, "true: bits is a budget per tensor"),
    "prune": SCHEMA["quantize"]["prune"],
}
TABLES = {"task": ("options",), "quantize": ("tensor_bits", "layers")}
TABLE_MEANINGS = {
    "task.options": "keyword arguments of an entry-point task (or of digits-demo), any TOML values but tables",
    "quantize.tensor_bits": "\"glob\" = bits: a weight whose name matches (fnmatch, case-sensitive, first match "
                            "wins) gets its own Δ from its own peak and these bits",
    "quantize.layers": "[quantize.layers.\"NAME\"] with bits or step: the Δ of one weight tensor by exact name "
                       "(before tensor_bits)",
}
SECTIONS = ("task", "finetune", "winograd", "quantize", "codebook", "output")
_DEFAULT_WINOGRAD = {"3": 4, "5": 4}
WINOGRAD_MEANING = ("F(m, r) per kernel size, written r = m: stride-1 r x r convs deploy with output tiles of "
                    "m x m, m in 1..8; an empty or absent table means 3 = 4 and 5 = 4")


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
    for key, (kind, default, _) in schema.items():
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


def upgrade_version_1(quantize: Mapping[str, Any], where: str) -> dict[str, Any]:
    """A version-1 ``[quantize]`` table in version 2's words (same quantization, same file).

    Version 1's ``bits`` is one Δ shared by all weights unless ``per_layer = true``; version 2 calls the
    shared budget ``shared_bits`` and keeps ``bits`` for a budget per tensor (as ``compress --bits``).

    Example:
        >>> upgrade_version_1({"bits": 5}, "r"), upgrade_version_1({"bits": 5, "per_layer": True}, "r")
        ({'shared_bits': 5}, {'bits': 5})
    """
    out = dict(quantize)
    if "shared_bits" in out:
        raise RecipeError(f"{where}: quantize.shared_bits is a version 2 key; add version = 2 at the top "
                          "(where quantize.bits is a budget per tensor) or write bits with per_layer = false")
    per_layer = out.pop("per_layer", False)
    if not isinstance(per_layer, bool):
        raise RecipeError(f"{where}: quantize.per_layer must be a boolean, got {per_layer!r}")
    if not per_layer and "bits" in out:
        out["shared_bits"] = out.pop("bits")
    return out
