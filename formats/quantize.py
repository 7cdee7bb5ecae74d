"""Dithered uniform quantization (the paper's eq. 6) and its inverse, in numpy.

Quantizing: with the float32 dither ``U_i`` of :mod:`formats.dither` and the float32
step ``Δ``, level ``k_i = rint((a_i + U_i) / Δ)`` computed in float64 with
round-half-to-even (``numpy.rint``). Weights with ``k_i == 0`` are pruned for good.
Symbols are ``k_i - k_min`` where ``k_min = min(k, 0)``, so the zero level always has
a symbol (``zero_symbol = -k_min``); ``codebook[s] = float32((s - zero_symbol) * Δ)``
(:func:`uniform_codebook`, the codebook a ``.dsz`` file stores implicitly).

Dequantizing (bit-exact, spec "Decoding a quantized tensor")::

    value_i = 0.0                                  if s_i == zero_symbol
    value_i = float32(codebook[s_i] - U_i)         otherwise (float32 subtraction)
"""

from __future__ import annotations

import numpy as np

from formats.dither import dither_values, stream_for_name
from formats.errors import LimitError
from formats.ids import PrngId
from formats.rd_levels import rd_levels
from formats.tensors import Dither, QuantizedTensor

MAX_SYMBOLS = 1 << 16


def quantize_dithered(
    values: np.ndarray,
    step: float,
    *,
    seed: int,
    stream: int | None = None,
    name: str | None = None,
    prng: PrngId = PrngId.SPLITMIX64,
    rd_lambda: float = 0.0,
) -> QuantizedTensor:
    """Quantize ``values`` to multiples of ``step`` after adding the regenerable dither.

    Args:
        values: real-valued array (any shape, finite).
        step: quantization interval Δ > 0; it is rounded to float32 first.
        seed: dither seed, 0 <= seed < 2**64 (usually one per file).
        stream: dither stream; if None it is derived from ``name``
            (:func:`formats.dither.stream_for_name`).
        name: tensor name, used only to derive ``stream``.
        prng: :attr:`PrngId.SPLITMIX64` (default) or :attr:`PrngId.NONE` (no dither).
        rd_lambda: λ of the rate–distortion level choice (:func:`formats.rd_levels.rd_levels`);
            0 (default) rounds to the nearest level as eq. 6 does.

    Returns:
        A :class:`QuantizedTensor` with uint8 symbols when there are at most 256 levels,
        else uint16.

    Raises:
        ValueError: bad step, non-finite values, or neither ``stream`` nor ``name`` given.
        LimitError: more than 65536 levels; use a larger step.

    Example:
        >>> q = quantize_dithered(np.array([0.0, 0.3, -1.2]), 0.25, seed=1, name="w")
        >>> q.symbols.dtype, float(q.codebook[q.zero_symbol])
        (dtype('uint8'), 0.0)
    """
    step32 = np.float32(step)
    if not (np.isfinite(step32) and step32 > 0):
        raise ValueError(f"step must be a finite float32 > 0, got {step!r}")
    if stream is None:
        if name is None:
            raise ValueError("give the dither stream, or the tensor name to derive it from")
        stream = stream_for_name(name)
    prng = PrngId(int(prng))
    a = np.asarray(values, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError("values contain NaN or infinity; only finite weights can be quantized")
    dither = Dither(prng, int(seed), int(stream))
    u = dither_values(dither, float(step32), a.size).astype(np.float64).reshape(a.shape)
    levels = rd_levels((a + u) / np.float64(step32), rd_lambda)
    k_min = int(min(levels.min(initial=0.0), 0.0))
    k_max = int(max(levels.max(initial=0.0), 0.0))
    n_symbols = k_max - k_min + 1
    if n_symbols > MAX_SYMBOLS:
        raise LimitError(
            f"step {float(step32)!r} gives {n_symbols} levels ({k_min}..{k_max}) but at most "
            f"{MAX_SYMBOLS} fit in uint16 symbols; use a larger step (e.g. step_for_bits)"
        )
    symbol_dtype = np.uint8 if n_symbols <= 256 else np.uint16
    symbols = np.asarray(levels - k_min).astype(symbol_dtype)
    zero_symbol = -k_min
    codebook = uniform_codebook(n_symbols, zero_symbol, float(step32))
    return QuantizedTensor(symbols, codebook, zero_symbol, float(step32), dither)


def uniform_codebook(size: int, zero_symbol: int, step: float) -> np.ndarray:
    """The uniform codebook ``c[s] = float32(s - zero_symbol) * float32(step)`` (spec: "Implicit codebook").

    One float32 multiplication per entry, rounded to nearest even. ``s - zero_symbol`` is an
    integer below 2**17 in magnitude, so the float32 product equals the exact product
    rounded once (the float64 product cast to float32 gives the same bits).
    ``c[zero_symbol]`` is ``+0.0``.

    Args:
        size: number of entries K >= 1.
        zero_symbol: index of the zero level, ``0 <= zero_symbol < size``.
        step: Δ, a float32 value.

    Returns:
        float32 array of ``size`` entries (may hold infinities if ``step`` is huge).

    Example:
        >>> uniform_codebook(4, 1, 0.5).tolist()
        [-0.5, 0.0, 0.5, 1.0]
    """
    levels = np.arange(size, dtype=np.float32) - np.float32(zero_symbol)
    with np.errstate(over="ignore"):
        return levels * np.float32(step)


def dequantize(q: QuantizedTensor) -> np.ndarray:
    """Decoded float32 values of a quantized tensor, with the dither cancelled (bit-exact).

    Args:
        q: the quantized tensor; symbols must index into the codebook.

    Returns:
        float32 array of shape ``q.shape``; pruned weights are exactly +0.0.

    Example:
        >>> q = quantize_dithered(np.array([0.0, 0.3, -1.2]), 0.25, seed=1, name="w")
        >>> dequantize(q).dtype
        dtype('float32')
    """
    symbols = np.asarray(q.symbols)
    codebook = np.asarray(q.codebook, dtype=np.float32)
    flat = symbols.reshape(-1)
    if flat.size and int(flat.max()) >= codebook.size:
        raise ValueError(f"symbol {int(flat.max())} is out of range for a codebook of {codebook.size}")
    out = np.take(codebook, flat)
    out -= dither_values(q.dither, q.step, flat.size)
    out[flat == q.zero_symbol] = np.float32(0.0)
    return out.reshape(symbols.shape)


def step_for_bits(values: np.ndarray, bits: int) -> float:
    """Step Δ that keeps dithered levels within a ``bits``-bit symmetric budget.

    Rule: with ``L = 2**(bits-1) - 1`` and ``M = max|a|``, ``Δ = M / (L - 0.5)``. Since
    ``|U| <= Δ/2``, ``|a + U| / Δ <= L``, so levels stay in ``[-L, L]`` (``2**bits - 1``
    symbols). The result is rounded up to the next float32. ``M == 0`` gives 1.0.

    Args:
        values: the weights.
        bits: budget in bits, 2 <= bits <= 16.

    Returns:
        The step as a Python float holding a float32 value.

    Example:
        >>> step_for_bits(np.array([-1.0, 0.5]), 2)
        2.0
    """
    return _step_for_magnitude(float(np.max(np.abs(values), initial=0.0)), bits)


def step_for_percentile(values: np.ndarray, bits: int, percentile: float = 99.9) -> float:
    """Like :func:`step_for_bits` but from the ``percentile`` of ``|a|`` instead of its maximum.

    Weights above the percentile get extra levels beyond the ``bits`` budget (they are
    never clipped); :func:`quantize_dithered` still fails above 65536 levels.

    Example:
        >>> step_for_percentile(np.arange(101.0), 3, percentile=50) == step_for_bits(np.array([50.0]), 3)
        True
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile!r}")
    mags = np.abs(np.asarray(values, dtype=np.float64)).reshape(-1)
    magnitude = float(np.percentile(mags, percentile)) if mags.size else 0.0
    return _step_for_magnitude(magnitude, bits)


def _step_for_magnitude(magnitude: float, bits: int) -> float:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer in [2, 16], got {bits!r}")
    if not np.isfinite(magnitude):
        raise ValueError("values contain NaN or infinity")
    if magnitude == 0.0:
        return 1.0
    step = magnitude / ((1 << (bits - 1)) - 1.5)
    step32 = np.float32(step)
    if float(step32) < step:
        step32 = np.nextafter(step32, np.float32(np.inf))
    return float(step32)
