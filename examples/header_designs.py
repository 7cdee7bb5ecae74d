"""Stored size of candidate header layouts, rebuilt from the header of real ``.dsz`` files (issue 11).

Each design re-encodes the same header map (same records, same check values) and prints the bytes
the writer would store: canonical msgpack, deflated at level 9. Nothing is written. A 2.0 file is first
turned back into its 1.0 record maps (the CRC-32 of its RAW/RAW payloads computed from the payloads).

    python examples/header_designs.py FILE.dsz [FILE.dsz ...]

Designs (letters combine):

- ``maps``: today's layout (1.0), one msgpack map per record.
- ``blob``: record maps without ``crc32``/``sha256_64``; all check values in one binary blob.
- ``col``: columnar ``tensors``: one array per field, check values in one binary blob.
- ``+front``: names front-coded (bytes shared with the previous name, then the rest).
- ``+raw4``: a record whose codec and kind are both RAW keeps only its payload CRC-32 (its
  decoded bytes are its payload bytes); other records keep CRC-32 + ``sha256_64``.
- ``+raw8``: like ``raw4`` but those records keep ``sha256_64`` of the payload instead (64 bits; the
  same value as their decoded-tensor digest, since their decoded bytes are their payload bytes).
- ``+len``: no length for codec RAW records (it must equal S, derived from shape and dtype).
- ``+f32``: quantization steps as float32 bytes in one blob instead of msgpack float64.
- ``+planes``: the stored lengths as u64 and the float32 steps as byte planes, most significant first.
- ``+block``: the check blob at the root (first key) and a DEFLATE block ended right after it, so zlib
  stores the incompressible checks as they are. ``col+raw8+front+len+planes+block`` is format 2.0
  (``raw4`` was the first 2.0 draft, which gave up the 64-bit check of RAW/RAW records).
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from header_costs import read_header, stored_size  # noqa: E402

from formats.container.preamble import PREAMBLE_SIZE  # noqa: E402
from formats.container.reader import open_dsz  # noqa: E402
from formats.container.table import to_planes  # noqa: E402

_PER_RECORD = ("name", "shape", "dtype", "kind", "codec", "length")


def _is_raw_raw(record: dict[str, Any]) -> bool:
    return record["codec"] == 0 and record["kind"] == 0


def _checks(records: list[dict[str, Any]], mode: str) -> bytes:
    """All check values of the records, fixed width each, in record order."""
    out = bytearray()
    for r in records:
        if mode == "raw8" and _is_raw_raw(r):
            out += r["sha256_64"]  # RAW/RAW: the digest of the decoded bytes is that of the payload
        else:
            out += struct.pack("<I", r["crc32"])
            if mode == "full" or not _is_raw_raw(r):
                out += r["sha256_64"]
    return bytes(out)


def _front(names: list[str]) -> tuple[list[int], list[str]]:
    prefixes, suffixes, previous = [], [], b""
    for name in names:
        raw = name.encode()
        k = 0
        while k < min(len(raw), len(previous)) and raw[k] == previous[k]:
            k += 1
        while k and (raw[k] & 0xC0) == 0x80:  # never split a UTF-8 sequence
            k -= 1
        prefixes.append(k)
        suffixes.append(raw[k:].decode())
        previous = raw
    return prefixes, suffixes


def _quantized_fields(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in (*_PER_RECORD, "crc32", "sha256_64", "attrs")}


def design(header: dict[str, Any], *, layout: str, front: bool, mode: str, implicit_len: bool,
           f32: bool, planes: bool = False, block: bool = False) -> dict[str, Any]:
    """The header map of one candidate design (``stored_size`` ends a block after a root ``checks``)."""
    records = header["tensors"]
    top = {k: v for k, v in header.items() if k != "tensors"}
    if layout == "maps":
        return header
    names = [r["name"] for r in records]
    if layout == "blob":
        out = []
        prefixes, suffixes = _front(names)
        for i, r in enumerate(records):
            m = {k: v for k, v in r.items() if k not in ("crc32", "sha256_64")}
            if front:
                del m["name"]
                m["prefix"], m["suffix"] = prefixes[i], suffixes[i]
            if implicit_len and r["codec"] == 0:
                del m["length"]
            if f32 and "step" in m:
                m["step"] = struct.pack("<f", m["step"])
            out.append(m)
        return {**top, "tensors": out, "record_checks": _checks(records, mode)}  # not "checks": no block
    cols: dict[str, Any] = {
        "shape": [r["shape"] for r in records],
        "dtype": [r["dtype"] for r in records],
        "kind": [r["kind"] for r in records],
        "codec": [r["codec"] for r in records],
        "length": [r["length"] for r in records if not (implicit_len and r["codec"] == 0)],
        "checks": _checks(records, mode),
        "attrs": [r.get("attrs", {}) for r in records],
    }
    if front:
        cols["name_prefix"], cols["name_suffix"] = _front(names)
    else:
        cols["name"] = names
    quantized = [r for r in records if r["kind"] == 1]
    if quantized:
        steps = [r["step"] for r in quantized]
        cols["step"] = b"".join(struct.pack("<f", s) for s in steps) if f32 else steps
        cols["zero_symbol"] = [r["zero_symbol"] for r in quantized]
        cols["codebook"] = [r.get("codebook", r.get("codebook_size")) for r in quantized]
        cols["dither"] = [r["dither"] for r in quantized]
    sparse = [r for r in records if r["kind"] == 2]
    if sparse:
        cols["nnz"] = [r["nnz"] for r in sparse]
    if planes:
        cols["length"] = to_planes(cols["length"], 8)
        if quantized:
            cols["step"] = to_planes(b"".join(struct.pack("<f", r["step"]) for r in quantized), 4)
    if block:
        return {**top, "checks": cols.pop("checks"), "tensors": cols}
    return {**top, "tensors": cols}


DESIGNS: list[tuple[str, dict[str, Any]]] = [
    ("maps (1.0 today)", dict(layout="maps", front=False, mode="full", implicit_len=False, f32=False)),
    ("blob", dict(layout="blob", front=False, mode="full", implicit_len=False, f32=False)),
    ("blob+raw4", dict(layout="blob", front=False, mode="raw4", implicit_len=False, f32=False)),
    ("blob+raw4+front+len+f32", dict(layout="blob", front=True, mode="raw4", implicit_len=True, f32=True)),
    ("col", dict(layout="col", front=False, mode="full", implicit_len=False, f32=False)),
    ("col+front", dict(layout="col", front=True, mode="full", implicit_len=False, f32=False)),
    ("col+raw4", dict(layout="col", front=False, mode="raw4", implicit_len=False, f32=False)),
    ("col+raw8", dict(layout="col", front=False, mode="raw8", implicit_len=False, f32=False)),
    ("col+len", dict(layout="col", front=False, mode="full", implicit_len=True, f32=False)),
    ("col+f32", dict(layout="col", front=False, mode="full", implicit_len=False, f32=True)),
    ("col+raw4+front", dict(layout="col", front=True, mode="raw4", implicit_len=False, f32=False)),
    ("col+raw4+front+len", dict(layout="col", front=True, mode="raw4", implicit_len=True, f32=False)),
    ("col+raw4+front+len+f32", dict(layout="col", front=True, mode="raw4", implicit_len=True, f32=True)),
    ("col+raw4+len+f32 (no front)", dict(layout="col", front=False, mode="raw4", implicit_len=True, f32=True)),
    ("col+raw8+front", dict(layout="col", front=True, mode="raw8", implicit_len=False, f32=False)),
    ("col+raw8+front+len", dict(layout="col", front=True, mode="raw8", implicit_len=True, f32=False)),
    ("col+raw8+front+len+f32", dict(layout="col", front=True, mode="raw8", implicit_len=True, f32=True)),
    ("col+raw8+front+len+planes", dict(layout="col", front=True, mode="raw8", implicit_len=True, f32=True,
                                       planes=True)),
    ("col+raw4+front+len+block", dict(layout="col", front=True, mode="raw4", implicit_len=True, f32=True,
                                      block=True)),
    ("col+raw4+front+len+planes", dict(layout="col", front=True, mode="raw4", implicit_len=True, f32=True,
                                       planes=True)),
    ("col+raw4+front+len+planes+block", dict(layout="col", front=True, mode="raw4", implicit_len=True,
                                                   f32=True, planes=True, block=True)),
    ("col+full+front+len+planes+block", dict(layout="col", front=True, mode="full", implicit_len=True,
                                             f32=True, planes=True, block=True)),
    ("col+raw8+front+len+planes+block (2.0)", dict(layout="col", front=True, mode="raw8", implicit_len=True,
                                             f32=True, planes=True, block=True)),
]


def v1_header(data: bytes) -> dict[str, Any]:
    """The 1.0 header map of a ``.dsz`` file of either version (a 2.0 RAW/RAW record gets the CRC-32 of its
    payload, which 1.0 stores and 2.0 does not)."""
    if data[8] == 1:
        return read_header(data)[0]
    with open_dsz(data) as reader:
        records = []
        for record in reader.records:
            wire_record = record.to_wire()
            if record.crc32 is None:
                wire_record["crc32"] = zlib.crc32(reader.read_payload(record.name)) & 0xFFFFFFFF
            records.append(wire_record)
        header: dict[str, Any] = {"producer": {"name": reader.producer.name, "version": reader.producer.version},
                                  "tensors": records}
        if reader.metadata:
            header["metadata"] = dict(reader.metadata)
        if reader.recipe is not None:
            header["recipe"] = reader.recipe
    return header


def stored_header_bytes(data: bytes) -> int:
    """``H``: the stored header bytes a file's preamble declares."""
    return struct.unpack_from("<Q", data, 16)[0] if len(data) >= PREAMBLE_SIZE else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    headers = [v1_header(p.read_bytes()) for p in args.files]
    print(f"{'design':<40}" + "".join(f"{p.name:>12}" for p in args.files))
    for label, options in DESIGNS:
        sizes = [stored_size(design(h, **options)) for h in headers]
        print(f"{label:<40}" + "".join(f"{s:>12,}" for s in sizes))
    print(f"{'stored header of the file itself':<40}"
          + "".join(f"{stored_header_bytes(p.read_bytes()):>12,}" for p in args.files))
    for h, p in zip(headers, args.files, strict=True):
        print(f"{p.name}: check bytes, raw4 {len(_checks(h['tensors'], 'raw4')):,}, "
              f"raw8 {len(_checks(h['tensors'], 'raw8')):,}, full {len(_checks(h['tensors'], 'full')):,}")


if __name__ == "__main__":
    main()
