"""What each part of a ``.dsz`` header costs, measured on real files (issue 11: a leaner header).

The stored header is one zlib stream over a msgpack map, so a field's cost is not its raw size: this
script re-deflates the header with one field left out of every tensor record (or one top-level entry
left out) and prints the bytes saved, next to the payload bytes and the whole file. Nothing is written.
Both versions: a 1.0 header's fields are the keys of its record maps (spec 4.4); a 2.0 header's are
the columns of its tensor table and its ``checks`` blob (spec 4.8), deflated as the writer does (a
DEFLATE block ends after ``checks``).

    python examples/header_costs.py FILE.dsz [FILE.dsz ...]

Typical use: before and after a format change, on the recipe files of ``examples/study`` and the
post-training files of ``examples/results/baselines.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from formats.container import wire
from formats.container.header_codec import deflate_header, inflate_header
from formats.container.limits import DEFAULT_LIMITS
from formats.container.preamble import PREAMBLE_SIZE, parse_preamble
from formats.container.table import from_table, to_table

_CONSTANT_BATCHNORM = ("running_mean", "running_var", "num_batches_tracked")


def read_header(data: bytes) -> tuple[dict[str, Any], int, int]:
    """``(header map, stored header bytes, payload bytes)`` of a ``.dsz`` file's bytes (preamble checked)."""
    preamble = parse_preamble(data[:PREAMBLE_SIZE], len(data), DEFAULT_LIMITS)
    stored = data[PREAMBLE_SIZE:PREAMBLE_SIZE + preamble.header_length]
    header = wire.unpack(inflate_header(stored, preamble.header_raw_length), DEFAULT_LIMITS)
    return header, preamble.header_length, preamble.payload_length


def stored_size(header: dict[str, Any]) -> int:
    """Bytes of ``header`` as the writer stores it (canonical msgpack, deflated; in 2.0 a block ends after
    ``checks``, the first key of the root map)."""
    value = wire.canonical(header, max_depth=64)
    raw = wire.pack(value)
    checks = value.get("checks")
    block_end = 1 + len(wire.pack("checks")) + len(wire.pack(checks)) if isinstance(checks, bytes) else 0
    return len(deflate_header(raw, block_end))


def costs_v2(header: dict[str, Any]) -> list[tuple[str, int]]:
    """``(what, bytes saved if left out)`` for each top-level entry and each column of a 2.0 header."""
    whole = stored_size(header)
    rows = []
    for key in sorted(k for k in header if k != "tensors"):
        rows.append((f"top-level {key!r}", whole - stored_size({k: v for k, v in header.items() if k != key})))
    table = header["tensors"]
    for key in sorted(table):
        rows.append((f"column {key!r}", whole - stored_size({**header, "tensors": {
            k: v for k, v in table.items() if k != key}})))
    records = from_table(table, header["checks"], lenient=True)
    kept = [r for r in records if r["name"].rsplit(".", 1)[-1] not in _CONSTANT_BATCHNORM]
    if len(kept) < len(records):
        table, checks = to_table(kept)
        rows.append((f"records of BatchNorm statistics ({len(records) - len(kept)})",
                     whole - stored_size({**header, "tensors": table, "checks": checks})))
    return rows


def costs(header: dict[str, Any]) -> list[tuple[str, int]]:
    """``(what, bytes saved if left out)`` for each top-level entry and each record field."""
    whole = stored_size(header)
    rows = []
    for key in sorted(k for k in header if k != "tensors"):
        rows.append((f"top-level {key!r}", whole - stored_size({k: v for k, v in header.items() if k != key})))
    records = header["tensors"]
    for key in sorted({k for r in records for k in r}):
        trimmed = [{k: v for k, v in r.items() if k != key} for r in records]
        rows.append((f"record field {key!r} ({sum(key in r for r in records)} records)",
                     whole - stored_size({**header, "tensors": trimmed})))
    constant = [r for r in records if r["name"].rsplit(".", 1)[-1] in _CONSTANT_BATCHNORM]
    if constant:
        kept = [r for r in records if r not in constant]
        rows.append((f"records of BatchNorm statistics ({len(constant)})",
                     whole - stored_size({**header, "tensors": kept})))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.files:
        data = path.read_bytes()
        header, header_bytes, payload_bytes = read_header(data)
        table = header["tensors"]
        count = len(table["name_suffix"]) if isinstance(table, dict) else len(table)
        print(f"{path}: {len(data):,} bytes = preamble {PREAMBLE_SIZE} + header {header_bytes:,} "
              f"({header_bytes / len(data):.1%}) + payloads {payload_bytes:,}; {count} records, "
              f"format {'2.0' if isinstance(table, dict) else '1.0'}")
        for what, saved in (costs_v2(header) if isinstance(table, dict) else costs(header)):
            print(f"  {what:<52} {saved:>7,} bytes ({saved / len(data):.1%} of the file)")


if __name__ == "__main__":
    main()
