"""Post-training compression: uniform quantization + entropy coding, no fine-tuning.

One config object and one verb::

    config = PostTrainingConfig(step=0.03)
    report = compress_state_dict(state_dict, "model.dsz", config)

Weights with at least ``min_dims`` dimensions are quantized to multiples of a step Δ
(``q = Δ·k``; weights whose level is 0 are pruned for good). Levels are rounded to nearest, or
chosen by rate–distortion (``rd_lambda``, :mod:`formats.rd_levels`), optionally after the paper's
dither (eq. 6, ``q = Δ·round((a + U)/Δ) - U``). Every other tensor (biases, norm statistics, integer
buffers) is stored losslessly, or its float32 tensors as float16 (``rest_dtype``).

Which quantizer: without dither the pruned weights are exactly the small ones, and on the peaked
weight distributions of trained networks the error is smaller than the dither's uniform Δ²/12; on
the pretrained LeNet-5 and CIFAR ResNets of ``examples/results`` it gives smaller files at equal
accuracy, so it is the default. The dither (``dither=True``) makes the error independent of the
weights, uniform on ``[-Δ/2, Δ/2]`` whatever they are: the paper's universal quantizer, for when
that guarantee matters more than the last bytes (e.g. analysing the error, or matching files made
by the fine-tuning pipeline).
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
from formats.ids import DType, PrngId
from formats.quantize import dequantize, quantize_dithered, step_for_bits
from formats.tensors import QuantizedTensor

log = logging.getLogger(__name__)

#: With neither ``bits`` nor ``step``: Δ = this × the standard deviation of all quantized weights
#: together. Near-lossless on the pretrained LeNet-5 and CIFAR ResNets (``examples/results``); search
#: the step against your metric (``--max-drop --search step``) for the smallest file within a budget.
DEFAULT_STEP_PER_STD = 0.4
REST_DTYPES = ("float32", "float16")
_FLOAT16_MAX = 65504.0


@dataclass(frozen=True)
class PostTrainingConfig:
    """Parameters of post-training compression (stored in the artifact as its recipe).

    With neither ``bits`` nor ``step``, one step for every quantized tensor:
    ``DEFAULT_STEP_PER_STD`` × the standard deviation of all of them together.

    Attributes:
        bits: per-tensor bit budget (:func:`formats.quantize.step_for_bits`, Δ from each tensor's
            largest weight). Ignored when ``step`` is set.
        step: one quantization interval Δ for every quantized tensor (the paper's setting).
        seed: dither seed (64-bit unsigned); with the dither, the same seed gives the same file.
        codec: codec name for every tensor, or ``"auto"`` (chosen per tensor by estimated size,
            :func:`formats.codecs.encode_auto`).
        min_dims: tensors with at least this many dimensions are quantized.
        dither: add the paper's subtractive dither before rounding (eq. 6); off by default.
        rd_lambda: λ of the rate–distortion level choice (:func:`formats.rd_levels.rd_levels`), in Δ²
            per bit; 0 rounds to nearest.
        rest_dtype: ``"float32"`` stores the tensors that are not quantized losslessly; ``"float16"``
            stores their float32 tensors as float16 (biases, norm statistics: half the bytes, relative
            error under 2^-11), except tensors outside float16's range, which stay float32.

    Example:
        >>> PostTrainingConfig(step=0.03).to_recipe()["_type"]
        'PostTrainingConfig'
    """

    bits: int | None = None
    step: float | None = None
    seed: int = 0
    codec: str = "auto"
    min_dims: int = 2
    dither: bool = False
    rd_lambda: float = 0.0
    rest_dtype: str = "float32"
    version: int = field(default=2, init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.rd_lambda) and self.rd_lambda >= 0):
            raise RecipeError(f"the rate-distortion lambda must be a finite number >= 0, got {self.rd_lambda}")
        if self.rest_dtype not in REST_DTYPES:
            raise RecipeError(f"rest_dtype must be one of {', '.join(REST_DTYPES)}, got {self.rest_dtype!r}")
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

    def step_for(self, values: np.ndarray, default_step: float) -> float:
        """Quantization interval Δ for one tensor (``default_step``: see :func:`default_step`)."""
        if self.step is not None:
            return float(self.step)
        if self.bits is not None:
            return step_for_bits(values, int(self.bits))
        return default_step


def default_step(arrays: list[np.ndarray]) -> float:
    """``DEFAULT_STEP_PER_STD`` × the standard deviation of all ``arrays`` together, as a float32 value.

    1.0 when there is nothing to measure or every value is equal.

    Example:
        >>> default_step([np.array([-1.0, 1.0]), np.array([-1.0, 1.0])])
        0.4000000059604645
    """
    count = sum(a.size for a in arrays)
    if count == 0:
        return 1.0
    total = sum(float(np.sum(a, dtype=np.float64)) for a in arrays)
    mean = total / count
    square = sum(float(np.sum((a.astype(np.float64) - mean) ** 2)) for a in arrays)
    std = (square / count) ** 0.5
    return float(np.float32(DEFAULT_STEP_PER_STD * std)) if std > 0 else 1.0


@dataclass(frozen=True)
class Calibration:
    """Data for correcting BatchNorm statistics and biases after quantization (:mod:`compress.calibration`).

    Attributes:
        model: the architecture the state_dict belongs to.
        inputs: one batch of calibration inputs, e.g. a few hundred training images (not test data).

    Example:
        >>> Calibration(torch.nn.Linear(2, 2), torch.zeros(8, 2)).inputs.shape[0]
        8
    """

    model: torch.nn.Module
    inputs: torch.Tensor


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
    calibration: Calibration | None = None,
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
        calibration: correct the BatchNorm running statistics and the biases for the quantization
            error on these inputs before they are stored (:func:`compress.calibration.correct_for_quantization`);
            the metadata says how many inputs were used.

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
        return _write(state_dict, output, config, codec, metadata, attrs, progress, replace, calibration)
    except FileExistsError:
        raise appeared_error(output) from None


def _write(state_dict: Mapping[str, torch.Tensor], output: str | Path, config: PostTrainingConfig, codec: str | int,
           metadata: Mapping[str, str] | None, attrs: Mapping[str, Mapping[str, object]],
           progress: Callable[[str], None] | None, replace: bool,
           calibration: Calibration | None) -> list[TensorSummary]:
    summaries: list[TensorSummary] = []
    arrays = {name: _to_numpy(tensor) for name, tensor in state_dict.items()}
    quantized_names = [name for name, array in arrays.items()
                       if array.dtype.kind == "f" and array.ndim >= config.min_dims and array.size > 0]
    values = {name: arrays[name].astype(np.float32) for name in quantized_names}
    needs_default = config.step is None and config.bits is None
    fallback = default_step(list(values.values())) if needs_default else 1.0
    prng = PrngId.SPLITMIX64 if config.dither else PrngId.NONE
    steps = {name: config.step_for(values[name], fallback) for name in quantized_names}
    levels: dict[str, QuantizedTensor] = {
        name: quantize_dithered(values[name], steps[name], seed=config.seed if config.dither else 0, name=name,
                                prng=prng, rd_lambda=config.rd_lambda)
        for name in quantized_names
    }
    meta = dict(metadata or {})
    corrected: dict[str, torch.Tensor] = {}
    if calibration is not None:
        corrected = _corrected_statistics(state_dict, levels, calibration)
        meta["calibration"] = (f"BatchNorm statistics and biases corrected for the quantization on "
                               f"{calibration.inputs.shape[0]} inputs")
    with formats.Writer(output, metadata=meta, recipe=config.to_recipe(), replace=replace) as writer:
        for name, tensor in state_dict.items():
            if progress is not None:
                progress(name)
            if name in corrected:
                tensor = corrected[name]
            array = _to_numpy(tensor) if name in corrected else arrays[name]
            if name in quantized_names:
                quantized = levels[name]
                step = steps[name]
                writer.add(name, quantized, codec=codec, attrs=attrs.get(name))
                sparsity = float(np.mean(quantized.symbols == quantized.zero_symbol))
                summaries.append(TensorSummary(name, quantized.shape, True, step, sparsity))
            else:
                bits, dtype = _rest(tensor, array, config.rest_dtype)
                writer.add(name, bits, codec=codec, attrs=attrs.get(name), dtype=dtype)
                sparsity = float(np.mean(array == 0)) if array.size else 0.0
                summaries.append(TensorSummary(name, tuple(array.shape), False, None, sparsity))
    log.info("wrote %s (%d tensors)", output, len(summaries))
    return summaries


def _corrected_statistics(state_dict: Mapping[str, torch.Tensor], levels: Mapping[str, QuantizedTensor],
                          calibration: Calibration) -> dict[str, torch.Tensor]:
    """The BatchNorm running statistics and biases corrected for the quantized weights, in their dtypes."""
    from compress.calibration import correct_for_quantization

    decoded = {name: torch.from_numpy(dequantize(q)).to(state_dict[name].dtype) for name, q in levels.items()}
    corrected = correct_for_quantization(calibration.model, state_dict, {**state_dict, **decoded}, calibration.inputs)
    log.info("corrected %d BatchNorm statistics and biases on %d calibration inputs", len(corrected),
             calibration.inputs.shape[0])
    # a tensor quantized itself (a bias, with min_dims 1) keeps its levels
    return {name: value.to(state_dict[name].dtype) for name, value in corrected.items()
            if name in state_dict and name not in levels}


def _rest(tensor: torch.Tensor, array: np.ndarray, rest_dtype: str) -> tuple[np.ndarray, DType | None]:
    """What a tensor that is not quantized goes in as: as it is (a bfloat16 tensor as its bit patterns,
    dtype BFLOAT16), or a float32 tensor within float16's range as float16 when asked for."""
    if rest_dtype == "float16" and array.dtype == np.float32 and array.size:
        finite = bool(np.isfinite(array).all())
        if finite and float(np.abs(array).max()) <= _FLOAT16_MAX:
            return array.astype(np.float16), None
        log.info("kept a tensor float32: values outside float16's range")
    if tensor.dtype == torch.bfloat16:
        bits = tensor.detach().cpu().contiguous().view(torch.int16).numpy().view(np.uint16)
        return bits, DType.BFLOAT16
    return array, None


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu().contiguous()
    if tensor.dtype == torch.bfloat16:
        return tensor.float().numpy()
    return tensor.numpy()
