"""A file with a new header and the same payloads, copied byte for byte: :func:`with_header`, :func:`strip`.

A deployed model needs its tensors, their Winograd attributes and, for a Winograd runtime, the trained
Winograd sparsity; the stored recipe and stage report (1.3 KB of a 71 KB ResNet-32 file) are for
people. :func:`strip` keeps only ``recipe.report.sparsity.s_wd_deployed`` (what
:func:`formats.loader.stored_winograd_sparsity` reads first), so ``load(domain="winograd")`` and
``compress.deploy`` behave as on the original file. Every tensor record, checksum and payload is kept,
so the decoded tensors are identical. The new file is written in format 2.0 (spec 4.8) whatever the
source's version; from a 1.0 source it drops the ``crc32`` of RAW/RAW records, which 2.0 does not store
(their ``sha256_64`` covers the same bytes).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from formats.container.header import Header, parse_header
from formats.container.limits import DEFAULT_LIMITS, Limits
from formats.container.preamble import FORMAT_MAJOR, READ_VERSIONS, pack_preamble
from formats.container.reader import Reader, Source, open_dsz
from formats.errors import LimitError

__all__ = ["strip", "with_header"]

_KEEP = object()


def with_header(
    source: Source,
    *,
    metadata: Mapping[str, str] | None | object = _KEEP,
    recipe: Mapping[str, Any] | None | object = _KEEP,
    limits: Limits = DEFAULT_LIMITS,
) -> bytes:
    """The bytes of ``source`` with its metadata and/or recipe replaced, payloads and records unchanged.

    Args:
        source: a ``.dsz`` path or its bytes (opened with every reader check).
        metadata: the new metadata (None or ``{}``: none); left out: kept.
        recipe: the new recipe map (None: none); left out: kept.
        limits: reader and writer caps.

    Returns:
        The new file's bytes.

    Example:
        >>> import numpy as np
        >>> from formats.container.writer import dumps
        >>> blob = dumps({"w": np.ones(3, np.float32)}, recipe={"notes": "x" * 500}, codec="raw")
        >>> len(with_header(blob, recipe=None)) < len(blob)
        True
    """
    with open_dsz(source, limits=limits) as reader:
        return _rewritten(reader, metadata, recipe, limits)


def strip(source: Source, *, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """``source`` without its metadata and recipe, keeping only the trained Winograd sparsity, if stored.

    Example:
        >>> import numpy as np
        >>> from formats.container.writer import dumps
        >>> from formats.container.reader import open_dsz
        >>> report = {"sparsity": {"s_wd_deployed": 0.7}, "quality": {"dense": 0.9}}
        >>> blob = dumps({"w": np.ones(3, np.float32)}, recipe={"report": report}, codec="raw")
        >>> open_dsz(strip(blob)).recipe
        {'report': {'sparsity': {'s_wd_deployed': 0.7}}}
    """
    from formats.loader import stored_winograd_sparsity  # the loader imports the container

    with open_dsz(source, limits=limits) as reader:
        sparsity = stored_winograd_sparsity(reader)
        recipe = None if sparsity is None else {"report": {"sparsity": {"s_wd_deployed": sparsity}}}
        return _rewritten(reader, None, recipe, limits)


def _rewritten(reader: Reader, metadata: Mapping[str, str] | None | object, recipe: Mapping[str, Any] | None | object,
               limits: Limits) -> bytes:
    """:func:`with_header` on an open reader."""
    reader.verify()  # never copy a payload the reader would refuse
    records = reader.records
    payloads = b"".join(reader.read_payload(r.name) for r in records)
    header, stored = Header(
        reader.producer,
        dict(reader.metadata if metadata is _KEEP else (metadata or {})),  # type: ignore[call-overload]
        reader.recipe if recipe is _KEEP else (None if recipe is None else dict(recipe)),  # type: ignore[call-overload]
        tuple(records),
    ).stored(limits)
    parse_header(header, READ_VERSIONS[FORMAT_MAJOR], limits)  # never write what a reader would refuse
    if max(len(header), len(stored)) > limits.max_header_bytes:
        raise LimitError(f"the new header needs {len(header)} bytes, above the limit of {limits.max_header_bytes}")
    out = io.BytesIO()
    out.write(pack_preamble(stored, len(header), len(payloads)))
    out.write(stored)
    out.write(payloads)
    return out.getvalue()
