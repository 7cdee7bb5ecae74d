"""The quantization dither generator, bit-exact as ``spec/FORMAT.md`` ("Dither") defines it.

Counter-based SplitMix64: element ``i`` of a tensor with seed ``seed`` and stream
``stream`` gets the 64-bit word::

    key = mix64(mix64(seed) XOR stream)
    x_i = mix64(key + (i + 1) * GAMMA)            (all arithmetic mod 2**64)

which is exactly output ``i`` of a standard SplitMix64 generator whose state starts
at ``key``. The word becomes a float32 uniform ``u_i = (x_i >> 40) * 2**-24`` in
[0, 1) (exact), and the dither is ``U_i = float32(step * (u_i - 0.5))`` where the
subtraction is exact and the float32 multiplication rounds to nearest even once.

Everything is vectorized in numpy with wrap-around ``uint64`` arithmetic and
processed in chunks so memory stays bounded for large tensors.
"""

from __future__ import annotations

import hashlib

import numpy as np

from formats.ids import PrngId
from formats.tensors import Dither

GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1
_CHUNK = 1 << 16  # elements per vectorized block: keeps temporaries in cache
_U64 = np.uint64


def mix64(z: int) -> int:
    """SplitMix64 finalizer of one 64-bit integer (Python ints, wraps mod 2**64).

    Args:
        z: integer in [0, 2**64).

    Returns:
        The mixed 64-bit value.

    Example:
        >>> hex(mix64(0x9E3779B97F4A7C15))
        '0xe220a8397b1dcdaf'
    """
    z &= MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


def _mix64_inplace(z: np.ndarray) -> None:
    z ^= z >> _U64(30)
    z *= _U64(MIX1)
    z ^= z >> _U64(27)
    z *= _U64(MIX2)
    z ^= z >> _U64(31)


def stream_for_name(name: str) -> int:
    """Dither stream of a tensor: the first 8 bytes, little-endian, of SHA-256(UTF-8 name).

    A tensor's dither thus depends on its name only, not on its position in the file.

    Args:
        name: tensor name.

    Returns:
        Unsigned 64-bit stream id.

    Example:
        >>> stream_for_name("conv1.weight") == stream_for_name("conv1.weight")
        True
    """
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def dither_key(seed: int, stream: int) -> int:
    """Initial SplitMix64 state of one tensor: ``mix64(mix64(seed) ^ stream)``."""
    _check_u64("seed", seed)
    _check_u64("stream", stream)
    return mix64(mix64(seed) ^ stream)


def splitmix64_words(seed: int, stream: int, count: int, start: int = 0) -> np.ndarray:
    """The raw 64-bit words ``x_start .. x_{start+count-1}`` of a tensor's dither.

    Args:
        seed: file seed, 0 <= seed < 2**64.
        stream: tensor stream, 0 <= stream < 2**64.
        count: number of words.
        start: index of the first element.

    Returns:
        ``uint64`` array of length ``count``.

    Example:
        >>> splitmix64_words(1, 0, 2).dtype
        dtype('uint64')
    """
    if count < 0 or start < 0:
        raise ValueError(f"count ({count}) and start ({start}) must be >= 0")
    key = _U64(dither_key(seed, stream))
    out = np.empty(count, dtype=_U64)
    for lo in range(0, count, _CHUNK):
        hi = min(count, lo + _CHUNK)
        z = np.arange(start + lo + 1, start + hi + 1, dtype=_U64)
        z *= _U64(GAMMA)
        z += key
        _mix64_inplace(z)
        out[lo:hi] = z
    return out


def uniform24(seed: int, stream: int, count: int, start: int = 0) -> np.ndarray:
    """Uniforms ``u_i = (x_i >> 40) * 2**-24`` in [0, 1), exact in float32.

    Example:
        >>> u = uniform24(1, 0, 1000)
        >>> bool((u >= 0).all() and (u < 1).all())
        True
    """
    words = splitmix64_words(seed, stream, count, start)
    return (words >> _U64(40)).astype(np.float32) * np.float32(2.0**-24)


def dither_values(dither: Dither, step: float, count: int) -> np.ndarray:
    """The float32 dither ``U_i = float32(step_f32 * (u_i - 0.5f))`` of elements 0..count-1.

    Args:
        dither: generator, seed and stream; :attr:`PrngId.NONE` gives zeros.
        step: quantization interval Δ; it MUST be a float32 value (it is cast).
        count: number of elements.

    Returns:
        float32 array of length ``count`` with values in [-Δ/2, Δ/2).

    Raises:
        UnknownIdError: the prng id is not one this module implements.

    Example:
        >>> from formats.ids import PrngId
        >>> dither_values(Dither(PrngId.SPLITMIX64, 1, 0), 1.0, 2).dtype
        dtype('float32')
    """
    prng = int(dither.prng)
    if prng == PrngId.NONE:
        return np.zeros(count, dtype=np.float32)
    if prng != PrngId.SPLITMIX64:
        from formats.errors import UnknownIdError

        raise UnknownIdError(f"unknown dither prng id {prng} (known: 0=NONE, 1=SPLITMIX64)")
    step32 = np.float32(step)
    key = _U64(dither_key(dither.seed, dither.stream))
    out = np.empty(count, dtype=np.float32)
    for lo in range(0, count, _CHUNK):
        hi = min(count, lo + _CHUNK)
        z = np.arange(lo + 1, hi + 1, dtype=_U64)
        z *= _U64(GAMMA)
        z += key
        _mix64_inplace(z)
        z >>= _U64(40)
        u = out[lo:hi]
        u[...] = z  # < 2**24: exact in float32
        u *= np.float32(2.0**-24)
        u -= np.float32(0.5)
        u *= step32
    return out


def _check_u64(what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= int(value) <= MASK64:
        raise ValueError(f"dither {what} must be an integer in [0, 2**64), got {value!r}")
