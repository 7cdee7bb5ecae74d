"""Canonical msgpack for the header: deterministic packing and bounded, strict unpacking.

Canonical form (spec: "Header encoding"): map keys are strings sorted by their UTF-8
bytes, every integer and length uses its shortest msgpack encoding, floats are always
float64, byte strings are msgpack ``bin``, no ext types. Unpacking first walks the
bytes without building objects (:func:`scan`) to bound depth, object count and sizes,
then builds the value rejecting duplicate and non-string map keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack
import numpy as np

from formats.container.limits import Limits
from formats.errors import FormatError, HeaderError, LimitError

_MIN_INT = -(1 << 63)
_MAX_INT = (1 << 64) - 1
# Fixed sizes of scalar msgpack formats after the type byte.
_SCALAR_SIZES = {0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8,
                 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
_LENGTH_SIZES = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}  # bin8/16/32, str8/16/32
_CONTAINER_SIZES = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}  # (length bytes, items per entry)


def canonical(value: Any, *, depth: int = 1, max_depth: int = 32, what: str = "header") -> Any:
    """Return ``value`` as plain msgpack-able Python objects with sorted map keys.

    Accepts None, bool, int, float, str, bytes, lists/tuples, and mappings with string
    keys (numpy scalars are converted). Raises ``ValueError`` for anything else.
    """
    if isinstance(value, list | tuple | Mapping) and depth > max_depth:
        raise ValueError(f"{what} nests deeper than {max_depth} levels")
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        if not _MIN_INT <= int(value) <= _MAX_INT:
            raise ValueError(f"{what}: integer {int(value)} does not fit in 64 bits")
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, list | tuple):
        return [canonical(v, depth=depth + 1, max_depth=max_depth, what=what) for v in value]
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise ValueError(f"{what}: map key {key!r} is not a string; only string keys are allowed")
        return {
            k: canonical(value[k], depth=depth + 1, max_depth=max_depth, what=what)
            for k in sorted(value, key=lambda s: s.encode("utf-8"))
        }
    raise ValueError(
        f"{what}: {type(value).__name__} values cannot be stored; use str/int/float/bytes/list/map"
    )


def pack(value: Any) -> bytes:
    """Canonical msgpack bytes of a value already passed through :func:`canonical`."""
    return msgpack.packb(value, use_bin_type=True, use_single_float=False, strict_types=False)


def scan(buf: bytes, limits: Limits) -> None:
    """Walk one msgpack object without building it; enforce limits and exact length.

    Raises:
        HeaderError: malformed, truncated, trailing bytes, ext types, or invalid type byte.
        LimitError: deeper than ``limits.max_depth`` or more than ``limits.max_objects`` objects.
    """
    n = len(buf)
    pos = 0
    objects = 0
    remaining = [1]  # items left to read at each open level; the root slot is level 0
    while remaining:
        if remaining[-1] == 0:
            remaining.pop()
            continue
        remaining[-1] -= 1
        if pos >= n:
            raise HeaderError(f"msgpack header ends early at byte {pos}")
        tag = buf[pos]
        pos += 1
        objects += 1
        if objects > limits.max_objects:
            raise LimitError(f"header has more than {limits.max_objects} msgpack objects")
        count = -1
        if tag <= 0x7F or tag >= 0xE0:
            continue
        if tag <= 0x8F:
            count = (tag & 0x0F) * 2
        elif tag <= 0x9F:
            count = tag & 0x0F
        elif tag <= 0xBF:
            pos += tag & 0x1F
        elif tag in _SCALAR_SIZES:
            pos += _SCALAR_SIZES[tag]
        elif tag in _LENGTH_SIZES:
            size = _LENGTH_SIZES[tag]
            if pos + size > n:
                raise HeaderError(f"msgpack header ends early at byte {pos}")
            pos += size + int.from_bytes(buf[pos : pos + size], "big")
        elif tag in _CONTAINER_SIZES:
            size, per_entry = _CONTAINER_SIZES[tag]
            if pos + size > n:
                raise HeaderError(f"msgpack header ends early at byte {pos}")
            count = int.from_bytes(buf[pos : pos + size], "big") * per_entry
            pos += size
        else:
            raise HeaderError(f"msgpack type byte {tag:#04x} at offset {pos - 1} is not allowed in a header")
        if pos > n:
            raise HeaderError(f"msgpack header ends early (needs {pos} bytes, has {n})")
        if count >= 0:
            if len(remaining) > limits.max_depth:
                raise LimitError(f"header nests deeper than {limits.max_depth} levels")
            if count > n - pos:
                raise HeaderError(f"msgpack container claims {count} items but only {n - pos} bytes remain")
            remaining.append(count)
    if pos != n:
        raise HeaderError(f"msgpack header has {n - pos} trailing bytes after its root object")


def _pairs_to_dict(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if not isinstance(key, str):
            raise HeaderError(f"header map key {key!r} is not a string")
        if key in out:
            raise HeaderError(f"header map repeats key {key!r}")
        out[key] = value
    return out


def unpack(buf: bytes, limits: Limits) -> Any:
    """Parse header bytes after :func:`scan`; raise :class:`HeaderError` on any defect."""
    scan(buf, limits)
    try:
        return msgpack.unpackb(
            buf,
            raw=False,
            use_list=True,
            strict_map_key=False,
            object_pairs_hook=_pairs_to_dict,
        )
    except FormatError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise HeaderError(f"header is not valid msgpack: {exc}") from None
