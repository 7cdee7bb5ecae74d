"""Bit and integer packing shared by the LZW and rANS codecs (LSB-first bit order, LEB128 varints)."""

from __future__ import annotations

import numpy as np

from formats.errors import CodecError

SMALL_FIELD_COUNT = 72  # read_fields reads this few fields with Python integers


def pack_bits(values: np.ndarray, widths: np.ndarray) -> bytes:
    """Concatenate ``values[i]`` on ``widths[i]`` bits each, least significant bit first, zero-padded.

    Bit ``k`` of the stream is bit ``k % 8`` of byte ``k // 8`` (the DEFLATE convention).
    """
    values = np.asarray(values, dtype=np.uint64)
    widths = np.asarray(widths, dtype=np.int64)
    if values.size == 0:
        return b""
    maxw = int(widths.max())
    shifts = np.arange(maxw, dtype=np.uint64)
    bits = ((values[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
    keep = np.arange(maxw)[None, :] < widths[:, None]
    return np.packbits(bits[keep], bitorder="little").tobytes()


def unpack_fixed(buf: bytes, bit_offset: int, count: int, width: int, what: str) -> np.ndarray:
    """Read ``count`` unsigned ``width``-bit fields (LSB first) starting at ``bit_offset``."""
    return unpack_bits(buf, bit_offset, np.full(count, width, dtype=np.int64), what)


def unpack_bits(buf: bytes, bit_offset: int, widths: np.ndarray, what: str) -> np.ndarray:
    """Inverse of :func:`pack_bits` for known widths, starting at ``bit_offset``; CodecError past the end."""
    widths = np.asarray(widths, dtype=np.int64)
    total = int(widths.sum())
    if bit_offset + total > 8 * len(buf):
        raise CodecError(f"{what} runs past the end of the payload")
    if widths.size == 0:
        return np.zeros(0, dtype=np.uint64)
    maxw = int(widths.max())
    first = bit_offset // 8
    last = (bit_offset + total + 7) // 8
    raw = np.frombuffer(buf, dtype=np.uint8, count=last - first, offset=first)
    bits = np.unpackbits(raw, bitorder="little")
    starts = bit_offset - 8 * first + np.concatenate(([0], np.cumsum(widths)[:-1]))
    cols = np.arange(maxw)
    idx = starts[:, None] + cols[None, :]
    keep = cols[None, :] < widths[:, None]
    picked = np.where(keep, bits[np.minimum(idx, bits.size - 1)], 0).astype(np.uint64)
    return (picked << cols.astype(np.uint64)[None, :]).sum(axis=1, dtype=np.uint64)


def read_fields(buf: bytes, bit_offset: int, widths: np.ndarray, what: str) -> np.ndarray:
    """Read unsigned LSB-first bit fields of ``widths[i] <= 63`` bits, back to back from ``bit_offset``.

    Same result as :func:`unpack_bits`, but each field costs a few vector operations (one 8-byte
    window per field plus the byte after it) instead of one per bit.

    Args:
        buf: the payload.
        bit_offset: where the first field starts.
        widths: int64 field widths, each in ``0 .. 63``.
        what: names the fields in the error message.

    Returns:
        uint64 values.

    Raises:
        CodecError: the fields run past the end of ``buf``.

    Example:
        >>> read_fields(bytes([0b10110101, 0x01]), 1, np.array([3, 6]), "x").tolist()
        [2, 27]
    """
    widths = np.asarray(widths, dtype=np.int64)
    total = int(widths.sum())
    if bit_offset + total > 8 * len(buf):
        raise CodecError(f"{what} runs past the end of the payload")
    if widths.size == 0:
        return np.zeros(0, dtype=np.uint64)
    first = bit_offset // 8
    last = (bit_offset + total + 7) // 8
    if widths.size <= SMALL_FIELD_COUNT:  # a few Python shifts are cheaper than the vector set-up
        block = int.from_bytes(buf[first:last], "little") >> (bit_offset - 8 * first)
        out = []
        for w in widths.tolist():
            out.append(block & ((1 << w) - 1))
            block >>= w
        return np.array(out, dtype=np.uint64)
    starts = bit_offset - 8 * first + np.cumsum(widths) - widths
    return read_fields_at(bytes(buf[first:last]), starts, widths)


def read_fields_at(buf: bytes, starts: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Read unsigned LSB-first bit fields of ``widths[i] <= 63`` bits that start at bit ``starts[i]``.

    Each field costs a few vector operations: one 8-byte window at its first byte plus the byte after
    it. The caller checks that every field lies inside ``buf``.

    Args:
        buf: the bytes holding the fields.
        starts: int64 bit offset of each field.
        widths: int64 width of each field, ``0 .. 63``.

    Returns:
        uint64 values.

    Example:
        >>> read_fields_at(bytes([0b10110101, 0x01]), np.array([4, 1]), np.array([5, 3])).tolist()
        [27, 2]
    """
    raw = bytes(buf) + bytes(9)  # every window below stays inside
    at = starts >> 3
    windows = np.ndarray((len(raw) - 7,), dtype="<u8", buffer=raw, strides=(1,))  # 8 bytes from each offset
    lo = windows[at]
    sh = (starts & 7).astype(np.uint64)
    hi = (windows[at + 1] >> np.uint64(56)) << (np.uint64(63) - sh) << np.uint64(1)  # byte at+8; 0 if sh == 0
    mask = (np.uint64(1) << widths.astype(np.uint64)) - np.uint64(1)
    return ((lo >> sh) | hi) & mask


def write_varint(value: int) -> bytes:
    """LEB128: 7 bits per byte, least significant group first, high bit set on all but the last byte."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(buf: bytes, pos: int, what: str, limit: int) -> tuple[int, int]:
    """Read one LEB128 value at ``pos``; returns (value, new pos). Values above ``limit`` are CodecError."""
    value = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise CodecError(f"{what} runs past the end of the payload")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if value > limit:
            raise CodecError(f"{what} is {value}, above the limit {limit}")
        if not byte & 0x80:
            if byte == 0 and shift:
                raise CodecError(f"{what} is not minimally encoded")
            return value, pos
        shift += 7


def read_varints(buf: bytes, pos: int, count: int, what: str, limit: int) -> tuple[np.ndarray, int]:
    """Read ``count`` LEB128 values at ``pos`` at once (same checks as :func:`read_varint`).

    Only for ``limit < 2**21``, so every valid value takes at most 3 bytes.

    Returns:
        (int64 values, new pos).
    """
    if limit >= 1 << 21:
        raise ValueError("read_varints handles limits below 2**21 only")
    if count == 0:
        return np.zeros(0, dtype=np.int64), pos
    if pos + count > len(buf):
        raise CodecError(f"{what} runs past the end of the payload")
    window = np.frombuffer(buf, dtype=np.uint8, count=min(len(buf) - pos, 3 * count), offset=pos)
    ends = np.flatnonzero(window < 0x80)[:count]
    lengths = ends.copy()
    lengths[1:] -= ends[:-1]
    lengths[0] += 1
    if ends.size < count or (lengths > 3).any():
        if (lengths > 3).any() or window.size == 3 * count:
            raise CodecError(f"{what} is above the limit {limit}")
        raise CodecError(f"{what} runs past the end of the payload")
    if ((window[ends] == 0) & (lengths > 1)).any():
        raise CodecError(f"{what} is not minimally encoded")
    starts = ends - lengths + 1
    values = (window[starts] & 0x7F).astype(np.int64)
    for k in (1, 2):
        more = lengths > k
        values[more] |= (window[starts[more] + k] & 0x7F).astype(np.int64) << (7 * k)
    if (values > limit).any():
        raise CodecError(f"{what} is {int(values.max())}, above the limit {limit}")
    return values, pos + int(ends[-1]) + 1
