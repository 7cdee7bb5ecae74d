"""Write the pipeline's result as one ``.dsz`` file (quantized weights + raw other tensors + recipe)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from torch import nn

import formats
from compress.deploy_attrs import winograd_attrs
from compress.errors import check_choice
from compress.pipeline.batchnorm import BATCHNORM_TYPES
from formats.tensors import QuantizedTensor

__all__ = ["RAW_FLOATS", "artifact_tensors", "pipeline_recipe", "round_codebook", "write_artifact"]

RAW_FLOATS = ("float32", "float16")
"""How the float32 tensors that are not quantized (BatchNorm vectors, biases) are stored."""


def pipeline_recipe(*configs: object) -> dict[str, object]:
    """One recipe holding every stage's ``to_recipe()`` in order.

    Example:
        >>> from compress.pipeline.config import CodebookConfig, FinetuneConfig
        >>> pipeline_recipe(FinetuneConfig(), CodebookConfig())["_type"]
        'JointSparsePipeline'
    """
    return {"_type": "JointSparsePipeline", "_version": 1, "_data": {"stages": [c.to_recipe() for c in configs]}}  # type: ignore[attr-defined]


def write_artifact(
    path: str | Path,
    model: nn.Module,
    quantized: Mapping[str, QuantizedTensor],
    *,
    recipe: Mapping[str, object] | None = None,
    metadata: Mapping[str, str] | None = None,
    m_for_r: Mapping[int, int] | None = None,
    codec: str = "auto",
) -> None:
    """Save ``model``'s state_dict with ``quantized`` in place of those weights, atomically.

    Tensors keep the state_dict order; Winograd-eligible conv weights carry ``{"winograd": {m, r}}``
    attributes (:func:`compress.deploy_attrs.winograd_attrs`) so ``formats.load(..., "winograd")``
    transforms them.

    Args:
        path: output ``.dsz``.
        model: the network (non-quantized tensors are stored losslessly from its state_dict).
        quantized: name -> tuned quantized weight.
        recipe: stored recipe (e.g. :func:`pipeline_recipe`).
        metadata: free string metadata.
        m_for_r: Winograd tile per kernel size (default F(4, 3), F(4, 5)).
        codec: codec name or ``"auto"`` (smallest per tensor).

    Example:
        >>> write_artifact("/tmp/x.dsz", nn.Linear(2, 2), {})  # doctest: +SKIP
    """
    tensors, attrs = artifact_tensors(model, quantized, m_for_r)
    formats.save(path, tensors, metadata=dict(metadata or {}), recipe=dict(recipe or {}), codec=codec, attrs=attrs)


def artifact_tensors(
    model: nn.Module, quantized: Mapping[str, QuantizedTensor], m_for_r: Mapping[int, int] | None = None,
    raw_float: str = "float32",
) -> tuple[dict[str, np.ndarray | QuantizedTensor], dict[str, dict[str, object]]]:
    """The tensors (state_dict order, ``quantized`` in place of those weights) and Winograd attrs of the file.

    BatchNorm ``num_batches_tracked`` counters are left out (:func:`_batchnorm_counters`). With
    ``raw_float="float16"`` the float32 tensors that are not quantized are stored as float16 (half their
    bytes: in a BatchNorm-folded ResNet-32 file, 4.5 KB of shift vectors), except one whose values
    float16 cannot hold (beyond ±65504), which stays float32; loading casts them back.

    Example:
        >>> tensors, attrs = artifact_tensors(nn.Conv2d(1, 1, 3), {})
        >>> list(tensors), attrs
        (['weight', 'bias'], {'weight': {'winograd': {'m': 4, 'r': 3}}})
    """
    check_choice("raw_float", raw_float, RAW_FLOATS)
    counters = _batchnorm_counters(model)
    tensors: dict[str, np.ndarray | QuantizedTensor] = {}
    for name, value in model.state_dict().items():
        if name in counters:
            continue
        tensors[name] = quantized[name] if name in quantized else _stored(value.detach().cpu().numpy(), raw_float)
    return tensors, winograd_attrs(model, m_for_r)


def round_codebook(quantized: QuantizedTensor, mantissa_bits: int) -> QuantizedTensor:
    """``quantized`` with its codebook rounded to ``mantissa_bits`` bits of float32 mantissa (to nearest, ties
    to even; 23 keeps it as it is).

    A fine-tuned codebook is stored as float32 in the header (``spec/FORMAT.md`` 4.5); with 7 mantissa bits
    (bfloat16's precision, a relative error of at most 2^-8) the low 16 bits of every entry are zero and the
    header's deflate removes most of them: 1.5 KB of a 71 KB ResNet-32 file. The zero entry stays +0.0.

    Example:
        >>> from formats.ids import PrngId
        >>> from formats.tensors import Dither
        >>> none = Dither(PrngId.NONE, seed=0, stream=0)
        >>> q = QuantizedTensor(np.zeros(2, np.uint8), np.array([0.0, 1.0 / 3.0], np.float32), 0, 0.3, none)
        >>> float(round_codebook(q, 7).codebook[1])
        0.333984375
    """
    if not 0 <= mantissa_bits <= 23:
        raise ValueError(f"mantissa_bits must be in [0, 23], got {mantissa_bits}")
    if mantissa_bits == 23:
        return quantized
    drop = np.uint32(23 - mantissa_bits)
    bits = np.asarray(quantized.codebook, dtype=np.float32).view(np.uint32)
    half = np.uint32(1) << (drop - np.uint32(1))
    odd = (bits >> drop) & np.uint32(1)
    rounded = ((bits + half - np.uint32(1) + odd) >> drop) << drop
    codebook = rounded.view(np.float32).copy()
    codebook[quantized.zero_symbol] = 0.0
    return dataclasses.replace(quantized, codebook=codebook)


def _stored(value: np.ndarray, raw_float: str) -> np.ndarray:
    if raw_float == "float16" and value.dtype == np.float32:
        with np.errstate(over="ignore"):
            half = value.astype(np.float16)
        if np.array_equal(np.isfinite(half), np.isfinite(value)):
            return half
    return value


def _batchnorm_counters(model: nn.Module) -> set[str]:
    """``num_batches_tracked`` of every BatchNorm: training bookkeeping that inference never reads.

    Left out of the file (each a record of its own: header entry, CRC, digest, payload);
    ``load_state_dict`` accepts a state_dict without them, strict or not.
    """
    return {f"{name}.num_batches_tracked" if name else "num_batches_tracked"
            for name, module in model.named_modules() if isinstance(module, BATCHNORM_TYPES)}
