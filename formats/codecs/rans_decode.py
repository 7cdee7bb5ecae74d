"""rANS decoding entry points: one payload, or many decoded together (the batched path of the loader).

Payloads are parsed and validated first (:mod:`formats.codecs.rans_format`), then the lanes of all
their streams step together (:mod:`formats.codecs.rans_band`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formats.codecs.rans_band import run_band
from formats.codecs.rans_format import RansStream, parse_stream, parse_streams, symbol_dtype


def rans_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode one rANS payload to exactly ``out_size`` bytes, or raise CodecError.

    Args:
        payload: bytes produced by :func:`formats.codecs.rans.rans_encode`.
        out_size: decoded length in bytes (a multiple of the symbol width).
        itemsize: element size (2 selects 16-bit symbols, anything else bytes).

    Returns:
        The decoded stream.

    Example:
        >>> rans_decode(bytes.fromhex("0101016101000000030004"), 3, 1)
        b'aab'
    """
    stream = parse_stream(payload, out_size, itemsize)
    return _decode_streams([stream], None)[0]


def decode_many(payloads: Sequence[bytes], out_sizes: Sequence[int], itemsizes: Sequence[int]) -> list[bytes]:
    """Decode several rANS payloads at once; same bytes out as :func:`rans_decode` on each, but faster.

    All streams are parsed and validated first, then their lanes run in one vectorised step loop
    (:func:`formats.codecs.rans_band.run_band`).

    Args:
        payloads: one rANS payload per tensor.
        out_sizes: decoded length in bytes of each.
        itemsizes: element size of each.

    Returns:
        The decoded bytes of each stream, in order.

    Raises:
        CodecError: a payload is malformed; the message starts with ``rans stream <index>:``.

    Example:
        >>> decode_many([bytes.fromhex("0101016101000000030004"), b""], [3, 0], [1, 1])
        [b'aab', b'']
    """
    if not len(payloads) == len(out_sizes) == len(itemsizes):
        raise ValueError(
            f"decode_many needs one out_size and itemsize per payload, got {len(payloads)} payloads, "
            f"{len(out_sizes)} out_sizes and {len(itemsizes)} itemsizes"
        )
    labels = [f"stream {i}" for i in range(len(payloads))]
    streams = parse_streams(list(zip(payloads, out_sizes, itemsizes, strict=True)), labels)
    return _decode_streams(streams, labels)


def decode_labelled(requests: Sequence[tuple[bytes, int, int]], labels: Sequence[str]) -> list[bytes]:
    """:func:`decode_many` over ``(payload, out_size, itemsize)`` requests, errors named by ``labels``.

    Args:
        requests: one ``(payload, out_size, itemsize)`` per stream.
        labels: one name per stream; a CodecError message starts ``rans <label>:``.

    Returns:
        The decoded bytes of each stream, in order.

    Example:
        >>> decode_labelled([(bytes.fromhex("0101016101000000030004"), 3, 1)], ["x"])
        [b'aab']
    """
    if len(requests) != len(labels):
        raise ValueError(f"decode_labelled needs one label per request, got {len(requests)} and {len(labels)}")
    return _decode_streams(parse_streams(requests, labels), list(labels))


def decode_parsed(streams: Sequence[RansStream], labels: Sequence[str]) -> list[bytes]:
    """Decode already parsed streams together (see :func:`decode_many`); errors start ``rans <label>:``.

    Args:
        streams: from :func:`formats.codecs.rans_format.parse_stream`.
        labels: one name per stream, used in error messages.

    Returns:
        The decoded bytes of each stream, in order.

    Example:
        >>> decode_parsed([parse_stream(bytes.fromhex("0101016101000000030004"), 3, 1)], ["x"])
        [b'aab']
    """
    if len(streams) != len(labels):
        raise ValueError(f"decode_parsed needs one label per stream, got {len(streams)} and {len(labels)}")
    return _decode_streams(list(streams), list(labels))


def _decode_streams(streams: list[RansStream], labels: list[str] | None) -> list[bytes]:
    """Empty and single-symbol streams directly; all others in one band, longest first."""
    out: list[bytes] = [b""] * len(streams)
    coded = []
    for i, s in enumerate(streams):
        if s.n and s.table.symbols.size == 1:
            out[i] = np.full(s.n, s.table.symbols[0], dtype=symbol_dtype(s.width)).tobytes()
        elif s.n:
            coded.append(i)
    coded.sort(key=lambda i: -streams[i].steps)
    names = None if labels is None else [labels[i] for i in coded]
    for i, symbols in zip(coded, run_band([streams[i] for i in coded], names), strict=True):
        out[i] = symbols.tobytes()
    return out
