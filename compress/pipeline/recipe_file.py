"""TOML recipes of ``dualsparse compress --recipe``: every parameter of every stage in one versioned file.

A recipe (version 2) has a top-level ``version`` and ``seed`` and the sections below; every key is
optional except ``task.name`` and one of ``quantize.bits`` / ``quantize.shared_bits`` /
``quantize.step``. Unknown keys and wrong types are rejected with a one-line error naming the key. Every
key with its type, default and meaning is listed in ``docs/recipe-keys.md``, generated from
:mod:`compress.pipeline.recipe_schema` by :mod:`compress.pipeline.recipe_doc`.

``bits`` means one thing everywhere: a bit budget per tensor, each weight tensor quantized with its own
Δ from its own peak (as ``dualsparse compress --bits``). Version 1 recipes (and recipes without a
``version``) are still read as before: their ``quantize.bits`` is one Δ shared by all weights unless
``per_layer = true``; version 2 calls that shared budget ``shared_bits``
(:func:`~compress.pipeline.recipe_schema.upgrade_version_1`; same quantization, same weights)::

    version = 2
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
    zeta_max = 14.0                # cap on ζ in the cost; leave it out for no cap (the paper's eq. 5)
    zeta_lr = 0.01
    optimizer = "adam"             # the only optimizer of this version
    lr = 1e-4
    steps = 1000
    batch = 128
    distill = 0.0                  # weight of distillation from the original model, in [0, 1]
    temperature = 2.0
    log_every = 50
    batchnorm = "train"            # "train", "frozen" (running statistics kept) or "fold" (into the convs;
                                   # see compress.pipeline.batchnorm); codebook tuning follows it
    augment = "none"               # or "crop-flip" (random crop with 4-pixel padding, horizontal flip),
                                   # or "crop-flip-cutmix" (and a box from another image pasted into half of them)
    ramp_steps = 0                 # s_sd and s_wd rise from 0 over these first steps (cubic, as AGP)
    decoupled_lr = 0.0             # > 0: the regularizers' gradient step is taken apart from Adam, this size
    lr_schedule = "constant"       # or "cosine": lr through the ramp, then a half cosine down to 0

    [winograd]                     # F(m, r): output tile m per kernel size r
    3 = 4
    5 = 4

    [quantize]                     # dithered uniform quantization (eq. 6)
    bits = 5                       # bit budget per tensor (own Δ from each tensor's own peak), or:
                                   # shared_bits = 5 (one Δ from the peak of all weights), or: step = 0.01
    prune = 0.0                    # zero this fraction of the weights (smallest, one global threshold) first
    [quantize.tensor_bits]         # glob pattern -> bits: own Δ from the tensor's own peak; first match wins
    "conv*" = 8
    "fc1.*" = 4
    [quantize.layers."fc.weight"]  # per-layer override: bits or step (before tensor_bits)
    bits = 6

    [codebook]                     # codebook fine-tuning with E + e^ζ R_WD - α ζ
    steps = 300
    lr = 1e-4
    zeta_lr = 0.01
    zeta_max = 14.0                # cap on ζ_WD (starts at fine-tuning's final ζ_WD); leave out for no cap
    alpha = 1.0
    wd_regularizer = true
    batch = 128

    [output]
    codec = "auto"                 # or raw, zstd, brotli, bzip2, lzma, lzw, rans, rans-zs
    raw_float = "float32"          # or "float16": the tensors not quantized (BatchNorm vectors, biases) at half
                                   # the bytes, no longer lossless (the report measures the file as decoded)
    codebook_mantissa_bits = 23    # 7: tuned codebooks rounded to bfloat16's precision (2^-8 relative), which
                                   # the header's deflate then codes in about half the bytes

Which Δ a weight gets: its ``[quantize.layers]`` entry (exact name), else the first
``[quantize.tensor_bits]`` pattern (``fnmatch``, case-sensitive) that matches its name, else
``bits`` / ``shared_bits`` / ``step``.
A pattern that matches no weight of the model fails the run before quantizing. The
order of ``tensor_bits`` matters, so the normalised recipe holds it as an array of ``[pattern, bits]``
pairs (map keys are sorted in the ``.dsz`` header and in checkpoint fingerprints); that array form is
also accepted as input (``tensor_bits = [["conv*", 8], ["fc1.*", 4]]`` under ``[quantize]``).

:func:`load_recipe` reads a file or a built-in name (``compress/recipes/*.toml``);
:meth:`Recipe.to_map` is the normalised form (defaults filled in) embedded in the ``.dsz`` file and
:func:`recipe_to_toml` writes it back as TOML (deterministic; ``load_recipe`` of it gives the same recipe).
The key schema and the checks of each section live in :mod:`compress.pipeline.recipe_schema`.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from compress.errors import RecipeError
from compress.pipeline.artifact import RAW_FLOATS
from compress.pipeline.config import CodebookConfig, FinetuneConfig
from compress.pipeline.recipe_schema import (
    CODECS,
    RECIPE_VERSION,
    SCHEMA,
    SECTIONS,
    TABLES,
    read_section,
    read_winograd,
    upgrade_version_1,
)

__all__ = ["RECIPE_VERSION", "Recipe", "builtin_recipes", "load_recipe", "parse_recipe", "recipe_to_toml"]

log = logging.getLogger(__name__)



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
    if str(name_or_path).endswith(".toml") or text_path.exists():
        if text_path.exists() and not text_path.is_file():
            raise RecipeError(f"recipe {text_path} is not a regular file; give a .toml file")
        try:
            text = text_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RecipeError(f"cannot read recipe {text_path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise RecipeError(f"recipe {text_path} is not UTF-8 text; give a TOML recipe file") from None
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
    unknown = sorted(set(raw) - set(SECTIONS) - set(SCHEMA[""]))
    if unknown:
        raise RecipeError(f"{where}: unknown key {unknown[0]!r}; top-level keys are version, seed and the sections "
                          f"[{'], ['.join(SECTIONS)}]")
    data: dict[str, Any] = read_section(raw, "", where)
    version = data["version"]
    if version not in (1, RECIPE_VERSION):
        raise RecipeError(f"{where}: version = {version} is not supported; this build reads versions 1 and "
                          f"{RECIPE_VERSION}")
    data["version"] = RECIPE_VERSION  # the normalised map is always in the current version's words
    for name in SECTIONS:
        value = raw.get(name, {})
        if not isinstance(value, Mapping):
            raise RecipeError(f"{where}: [{name}] must be a table, got {type(value).__name__}")
        if name == "quantize":
            value = _quantize_in_current_words(raw, value, version, where)
        data[name] = read_winograd(value, where) if name == "winograd" else read_section(value, name, where)
    _check_values(data, where)
    finetune = _finetune_config(data, where)
    codebook = _codebook_config(data, data["quantize"], where, "quantize", shared_name="shared_bits" if version > 1
                                else "bits")
    overrides = {
        layer: _codebook_config(data, {**data["quantize"], "step": None, "bits": None, "shared_bits": None,
                                        "tensor_bits": [], **spec},
                                where, f"quantize.layers.{layer}")
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
    lines = [f"{k} = {_toml_value(data[k])}" for k in SCHEMA[""] if data.get(k) is not None]
    for name in SECTIONS:
        section = data.get(name, {})
        lines += ["", f"[{name}]"]
        scalars = [k for k in section if not isinstance(section[k], Mapping) and k not in TABLES.get(name, ())]
        lines += [f"{_toml_key(k)} = {_toml_value(section[k])}" for k in scalars if section[k] is not None]
        for table in TABLES.get(name, ()):
            entries = section.get(table, {})
            if table == "tensor_bits":
                if entries:
                    lines += ["", f"[{name}.{table}]"]
                    lines += [f"{_toml_value(pattern)} = {_toml_value(bits)}" for pattern, bits in entries]
                continue
            if table == "options":
                if entries:
                    lines += ["", f"[{name}.{table}]"]
                    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(entries.items())]
                continue
            for layer, spec in sorted(entries.items()):
                lines += ["", f"[{name}.{table}.{_toml_key(layer)}]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in sorted(spec.items())]
    return "\n".join(lines) + "\n"


def _quantize_in_current_words(raw: Mapping[str, Any], quantize: Mapping[str, Any], version: int,
                               where: str) -> Mapping[str, Any]:
    if version == 1:
        if "version" not in raw and "bits" in quantize and "per_layer" not in quantize:
            log.warning("%s has no version: read as version 1, where quantize.bits = %r is one step shared by all "
                        "weights (version 2's shared_bits); write version = 2 for a budget per tensor, or "
                        "version = 1 to keep this", where, quantize["bits"])
        return upgrade_version_1(quantize, where)
    if "per_layer" in quantize:
        raise RecipeError(f"{where}: quantize.per_layer is a version 1 key; in version {RECIPE_VERSION} write "
                          "bits (a budget per tensor) or shared_bits (one step for all weights)")
    return quantize


def _check_values(data: dict[str, Any], where: str) -> None:
    checks = [
        ("seed", 0 <= data["seed"] < 2**63, "an integer in [0, 2**63)"),
        ("task.name", bool(data["task"]["name"]), "given (a built-in task or module:function)"),
        ("finetune.optimizer", data["finetune"]["optimizer"] == "adam", "'adam' (the only optimizer of version 1)"),
        ("finetune.batch", data["finetune"]["batch"] >= 1, "a positive integer"),
        ("finetune.distill", 0.0 <= data["finetune"]["distill"] <= 1.0, "in [0, 1]"),
        ("codebook.batch", data["codebook"]["batch"] >= 1, "a positive integer"),
        ("output.codec", data["output"]["codec"] in CODECS, f"one of {', '.join(CODECS)}"),
        ("output.raw_float", data["output"]["raw_float"] in RAW_FLOATS, f"one of {', '.join(RAW_FLOATS)}"),
        ("output.codebook_mantissa_bits", 0 <= data["output"]["codebook_mantissa_bits"] <= 23, "in [0, 23]"),
    ]
    if data["task"]["name"] is None:
        raise RecipeError(f"{where}: task.name is missing; give a built-in task or module:function")
    for key, ok, rule in checks:
        if not ok:
            section, _, field = key.rpartition(".")
            value = data[section][field] if section else data[field]
            raise RecipeError(f"{where}: {key} must be {rule}, got {value!r}")
    ft = data["finetune"]
    if ft["zeta_max"] is not None and ft["zeta_max"] < ft["zeta_init"]:
        raise RecipeError(f"{where}: finetune.zeta_max must be >= finetune.zeta_init ({ft['zeta_init']!r}), got "
                          f"{ft['zeta_max']!r}; leave it out for no cap")
    quantize = data["quantize"]
    given = [key for key in ("bits", "shared_bits", "step") if quantize[key] is not None]
    if len(given) != 1:
        raise RecipeError(f"{where}: [quantize] needs exactly one of bits (a budget per tensor), shared_bits (one "
                          f"budget for all weights) or step (one Δ); got {', '.join(given) or 'none'}")


def _finetune_config(data: dict[str, Any], where: str) -> FinetuneConfig:
    ft = data["finetune"]
    try:
        return FinetuneConfig(
            recipe=ft["domains"], s_sd=ft["s_sd"], s_wd=ft["s_wd"], steps=ft["steps"], lr=ft["lr"],
            zeta_lr=ft["zeta_lr"], zeta_init=ft["zeta_init"], zeta_max=ft["zeta_max"], alpha=ft["alpha"],
            distill_weight=ft["distill"],
            temperature=ft["temperature"], m_for_r=tuple((int(r), m) for r, m in data["winograd"].items()),
            seed=data["seed"], log_every=ft["log_every"], batchnorm=ft["batchnorm"], augment=ft["augment"],
            ramp_steps=ft["ramp_steps"], decoupled_lr=ft["decoupled_lr"], lr_schedule=ft["lr_schedule"],
        )
    except RecipeError as exc:
        raise RecipeError(f"{where}: [finetune] {_rename(str(exc))}") from None


def _codebook_config(data: dict[str, Any], quantize: Mapping[str, Any], where: str, key: str, *,
                     shared_name: str = "bits") -> CodebookConfig:
    cb = data["codebook"]
    try:
        return CodebookConfig(
            step=quantize["step"], bits=quantize["bits"] if quantize["bits"] is not None else quantize["shared_bits"],
            per_layer=quantize["bits"] is not None,
            tensor_bits=tuple((pattern, bits) for pattern, bits in quantize["tensor_bits"]), seed=data["seed"],
            steps=cb["steps"], lr=cb["lr"], zeta_lr=cb["zeta_lr"], zeta_max=cb["zeta_max"], alpha=cb["alpha"],
            s_wd=data["finetune"]["s_wd"],
            wd_regularizer=cb["wd_regularizer"] and data["finetune"]["domains"] != "sd",
            batchnorm=data["finetune"]["batchnorm"], prune=data["quantize"]["prune"],
        )
    except RecipeError as exc:
        text = str(exc)
        section = key if text.startswith(("step ", "bits ", "give a quantization")) else "codebook"
        if text.startswith("bits ") and quantize["bits"] is None:
            text = shared_name + text[len("bits"):]  # the key the recipe wrote
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
