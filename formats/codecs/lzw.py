"""Codec 5: LZW over bytes with 9..16-bit codes, CLEAR when the dictionary is full (spec/CODECS.md, "LZW").

Codes 0..255 are the single bytes, 256 is CLEAR, 257 is END, 258..65535 are dictionary entries. The
``n``-th code after the start or after a CLEAR (``n = 0, 1, ...``, CLEAR and END included) is written on
``min(16, bit_length(257 + n))`` bits, least significant bit first. The encoder adds one entry after each
data code it emits while a code is free; when none is free it writes CLEAR instead and starts afresh.
"""

from __future__ import annotations

import numpy as np

from formats.codecs._bits import pack_bits
from formats.errors import CodecError
from formats.ids import CodecId

CLEAR = 256
END = 257
FIRST_FREE = 258
MAX_WIDTH = 16
TABLE_SIZE = 1 << MAX_WIDTH


def code_width(n: int) -> int:
    """Width in bits of the ``n``-th code written since the start or the last CLEAR.

    Args:
        n: index of the code within its segment (0 for the first code).

    Returns:
        ``min(16, bit_length(257 + n))``, at least 9.

    Example:
        >>> code_width(0), code_width(254), code_width(255), code_width(10**6)
        (9, 9, 10, 16)
    """
    return min(MAX_WIDTH, (257 + n).bit_length())


def lzw_encode(data: bytes) -> bytes:
    """Encode bytes as the LZW stream of spec/CODECS.md.

    Args:
        data: the bytes to encode.

    Returns:
        The packed code stream, ending with END and zero padding to a byte boundary.

    Example:
        >>> lzw_encode(b"").hex()
        '0101'
    """
    codes: list[int] = []
    widths: list[int] = []
    n = 0
    if data:
        table: dict[int, int] = {}
        nxt = FIRST_FREE
        prefix = data[0]
        for byte in data[1:]:
            key = (prefix << 8) | byte
            code = table.get(key)
            if code is not None:
                prefix = code
                continue
            codes.append(prefix)
            widths.append(min(MAX_WIDTH, (257 + n).bit_length()))
            n += 1
            if nxt < TABLE_SIZE:
                table[key] = nxt
                nxt += 1
            else:
                codes.append(CLEAR)
                widths.append(code_width(n))
                table.clear()
                nxt = FIRST_FREE
                n = 0
            prefix = byte
        codes.append(prefix)
        widths.append(code_width(n))
        n += 1
    codes.append(END)
    widths.append(code_width(n))
    return pack_bits(np.array(codes, dtype=np.uint64), np.array(widths, dtype=np.int64))


def lzw_decode(payload: bytes, out_size: int) -> bytes:
    """Decode an LZW stream to exactly ``out_size`` bytes, or raise CodecError.

    Args:
        payload: the packed code stream.
        out_size: the decoded length the caller expects; output never grows past it.

    Returns:
        The decoded bytes.

    Example:
        >>> lzw_decode(lzw_encode(b"abababab"), 8)
        b'abababab'
    """
    buf = bytes(payload)
    size = len(buf)
    out = bytearray()
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    prev = b""
    acc = 0
    nacc = 0
    pos = 0
    n = 0
    while True:
        width = min(MAX_WIDTH, (257 + n).bit_length())
        while nacc < width:
            if pos >= size:
                raise CodecError("lzw payload is truncated (no END code)")
            acc |= buf[pos] << nacc
            pos += 1
            nacc += 8
        code = acc & ((1 << width) - 1)
        acc >>= width
        nacc -= width
        n += 1
        if code == END:
            break
        if code == CLEAR:
            del table[FIRST_FREE:]
            prev = b""
            n = 0
            continue
        if not prev:
            if code > 255:
                raise CodecError(f"lzw code {code} cannot start a segment (must be a literal byte)")
            entry = table[code]
        else:
            count = len(table)
            if code < count:
                entry = table[code]
            elif code == count:
                entry = prev + prev[:1]
            else:
                raise CodecError(f"lzw code {code} is not defined yet (dictionary holds {count})")
            if count < TABLE_SIZE:
                table.append(prev + entry[:1])
        if len(out) + len(entry) > out_size:
            raise CodecError(f"lzw payload decodes to more than the {out_size} bytes declared")
        out += entry
        prev = entry
    if acc or pos != size:
        raise CodecError("lzw payload has data after the END code")
    if len(out) != out_size:
        raise CodecError(f"lzw payload decodes to {len(out)} bytes but the tensor needs {out_size}")
    return bytes(out)


class LzwCodec:
    """LZW, byte alphabet, 9..16-bit codes (wire id 5).

    Example:
        >>> c = LzwCodec()
        >>> c.decode(c.encode(b"abcabc", 1), 6, 1)
        b'abcabc'
    """

    codec_id = int(CodecId.LZW)
    name = "lzw"

    def encode(self, data: bytes, itemsize: int) -> bytes:
        return lzw_encode(bytes(data))

    def decode(self, payload: bytes, out_size: int, itemsize: int) -> bytes:
        return lzw_decode(payload, out_size)
