"""A file whose stored report states that file's own size: :func:`encode_stating_own_size`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

__all__ = ["encode_stating_own_size"]

log = logging.getLogger(__name__)

_SIZE_ROUNDS = 4  # encodings tried until the report states the file's own size (2 in most runs seen)
_SIZE_SEARCH = 16  # then sizes tried this far either side of those seen, ...
_SIZE_PADDINGS = 8  # ... with 0 to 7 spaces of "size_padding" in the report


def encode_stating_own_size(report: dict[str, Any], sizes_for: Callable[[int], dict[str, Any]],
                            encode: Callable[[dict[str, Any]], bytes]) -> tuple[bytes, dict[str, Any]]:
    """Encode a file whose stored ``report`` states that file's own size; returns ``(file, report stored)``.

    The size sits inside the compressed header it measures, so its digits and the file's length move
    together. A few rounds of re-encoding usually settle; when they do not (the compressed header a few
    bytes longer or shorter for each stated size), stated sizes near those seen are tried with 0 to 7
    spaces of ``size_padding`` in the report (a fixed point exists for one of them in every run seen).
    ``sizes_for(coded)`` gives the report's ``sizes`` for a file of ``coded`` bytes.

    Example:
        >>> encode = lambda report: b"x" * (90 + len(str(report["sizes"]["coded"])))
        >>> blob, stated = encode_stating_own_size({"sizes": {"coded": 0}}, lambda n: {"coded": n}, encode)
        >>> len(blob) == stated["sizes"]["coded"] == 92
        True
    """
    seen: list[int] = []
    for _ in range(_SIZE_ROUNDS):
        final = encode(report)
        if report["sizes"]["coded"] == len(final):
            return final, report
        seen.append(len(final))
        report = {**report, "sizes": sizes_for(len(final))}
    for padding in range(_SIZE_PADDINGS):
        for claimed in range(min(seen) - _SIZE_SEARCH, max(seen) + _SIZE_SEARCH + 1):
            candidate = {**report, "sizes": sizes_for(claimed)}
            if padding:
                candidate["size_padding"] = " " * padding
            final = encode(candidate)
            if len(final) == claimed:
                return final, candidate
    final = encode(report)
    log.warning("the stored report states %d bytes for a file of %d bytes (no stated size matched its file)",
                report["sizes"]["coded"], len(final))
    return final, report
