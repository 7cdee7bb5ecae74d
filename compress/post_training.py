"""Post-training compression: dithered uniform quantization + entropy coding, no fine-tuning.

One config object and one verb::

    config = PostTrainingConfig(bits=6, seed=0)
    report = compress_state_dict(state_dict, "model.dsz", config)

Weights with at least ``min_dims`` dimensions are quantized with the paper's eq. 6
(``q = Δ·round((a + U)/Δ)``, weights that round to zero are pruned); every other tensor
(biases, norm statistics, integer buffers) is stored losslessly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

import formats
from compress.atomic import appeared_error
from compress.errors import RecipeError
from formats.ids import DType
from formats.quantize import quantize_dithered, step_for_bits
from formats.tensors import QuantizedTensor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PostTrainingConfig:
    """Parameters of post-training compression (stored in the artifact as its recipe).

    Attributes:
        bits: per-tensor bit budget (:func:`formats.quantize.step_for_bits`). Ignored when ``step`` is set.
        step: one quantization interval Δ for every quantized tensor (the paper's setting).
        seed: dither seed (64-bit unsigned); the same seed gives the same file.
        codec: codec name for every tensor, or ``"auto"`` (chosen per tensor by estimated size,
            :func:`formats.codecs.encode_auto`).
        min_dims: tensors with at least this many dimensions are quantized.

    Example:
        >>> PostTrainingConfig(bits=6).to_recipe()["_type"]
        'PostTrainingConfig'
    """

    bits: int | None = 6
    step: float | None = None
    seed: int = 0
    codec: str = "auto"
    min_dims: int = 2
    version: int = field(default=1, init=False)

    def __post_init__(self) -> None:
        if self.step is None and self.bits is None:
            raise RecipeError("give either a bit budget (--bits) or a step (--step)")
        if self.step is not None and not (np.isfinite(self.step) and self.step > 0):
            raise RecipeError(f"step must be a positive finite number, got {self.step}")
        if self.step is None and self.bits is not None and not 2 <= self.bits <= 16:
            raise RecipeError(f"bits must be between 2 and 16, got {self.bits}")
        if not 0 <= self.seed < 2**64:
            raise RecipeError(f"seed must be in [0, 2**64), got {self.seed}")
        if self.min_dims < 1:
            raise RecipeError(f"min_dims must be >= 1, got {self.min_dims}")

    def to_recipe(self) -> dict[str, object]:
        """Serialise as ``{_type, _version, _data}`` for embedding in the artifact."""
        data = asdict(self)
        data.pop("version")
        return {"_type": type(self).__name__, "_version": self.version, "_data": data}

    def step_for(self, values: np.ndarray) -> float:
        """Quantization interval Δ for one tensor."""
        if self.step is not None:
            return float(self.step)
        return step_for_bits(values, int(self.bits or 0))


@dataclass(frozen=True)
class TensorSummary:
    """What happened to one tensor."""

    name: str
    shape: tuple[int, ...]
    quantized: bool
    step: float | None
    sparsity: float


def compress_state_dict(
    state_dict: Mapping[str, torch.Tensor],
    output: str | Path,
    config: PostTrainingConfig,
    *,
    metadata: Mapping[str, str] | None = None,
    attrs: Mapping[str, Mapping[str, object]] | None = None,
    progress: Callable[[str], None] | None = None,
    replace: bool = True,
) -> list[TensorSummary]:
    """Quantize and entropy-code a state_dict into a ``.dsz`` file, atomically.

    Args:
        state_dict: name -> tensor (e.g. from :func:`compress.checkpoints.load_state_dict`).
        output: path of the ``.dsz`` file to write.
        config: quantization and coding parameters.
        metadata: free string metadata stored in the file.
        attrs: per-tensor attributes, e.g. from :func:`compress.deploy_attrs.winograd_attrs`.
        progress: called with each tensor name before it is written.
        replace: False: never replace an existing ``output``, even one that appears while this runs
            (:class:`~compress.errors.OutputError`).

    Returns:
        One :class:`TensorSummary` per tensor, in file order.

    Example:
        >>> sd = {"fc.weight": torch.randn(4, 4), "fc.bias": torch.zeros(4)}
        >>> out = compress_state_dict(sd, "/tmp/x.dsz", PostTrainingConfig(bits=4))  # doctest: +SKIP
    """
    attrs = attrs or {}
    unknown = sorted(set(attrs) - set(state_dict))
    if unknown:
        raise RecipeError(f"attributes given for tensors not in the state_dict: {', '.join(unknown[:5])}")
    codec: str | int = config.codec
    if codec != "auto":
        from formats.codecs import codec_id_from_name

        codec = codec_id_from_name(codec)
    try:
        return _write(state_dict, output, config, codec, metadata, attrs, progress, replace)
    except FileExistsError:
        raise appeared_error(output) from None


def _write(state_dict: Mapping[str, torch.Tensor], output: str | Path, config: PostTrainingConfig, codec: str | int,
           metadata: Mapping[str, str] | None, attrs: Mapping[str, Mapping[str, object]],
           progress: Callable[[str], None] | None, replace: bool) -> list[TensorSummary]:
    summaries: list[TensorSummary] = []
    with formats.Writer(output, metadata=dict(metadata or {}), recipe=config.to_recipe(), replace=replace) as writer:
        for name, tensor in state_dict.items():
            if progress is not None:
                progress(name)
            array = _to_numpy(tensor)
            if array.dtype.kind == "f" and array.ndim >= config.min_dims and array.size > 0:
                values = array.astype(np.float32)
                step = config.step_for(values)
                quantized: QuantizedTensor = quantize_dithered(values, step, seed=config.seed, name=name)
                writer.add(name, quantized, codec=codec, attrs=attrs.get(name))
                sparsity = float(np.mean(quantized.symbols == quantized.zero_symbol))
                summaries.append(TensorSummary(name, quantized.shape, True, step, sparsity))
            else:
                bits, dtype = _lossless(tensor, array)
                writer.add(name, bits, codec=codec, attrs=attrs.get(name), dtype=dtype)
                sparsity = float(np.mean(array == 0)) if array.size else 0.0
                summaries.append(TensorSummary(name, tuple(array.shape), False, None, sparsity))
    log.info("wrote %s (%d tensors)", output, len(summaries))
    return summaries


def _lossless(tensor: torch.Tensor, array: np.ndarray) -> tuple[np.ndarray, DType | None]:
    """What a tensor stored as it is goes in as: a bfloat16 tensor as its bit patterns (dtype BFLOAT16)."""
    if tensor.dtype == torch.bfloat16:
        bits = tensor.detach().cpu().contiguous().view(torch.int16).numpy().view(np.uint16)
        return bits, DType.BFLOAT16
    return array, None


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy()
    return tensor.numpy()
