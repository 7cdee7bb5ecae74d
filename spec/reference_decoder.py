"""Reference decoder for `.dsz` files, written from spec/FORMAT.md and spec/CODECS.md alone.

It exists to show that the spec is complete: it imports only the standard library, numpy,
zstandard and brotli (never the `formats` package), favours clarity over speed, and checks
everything a reader MUST check.  Section numbers below ("F4.1", "C3.4") point into
FORMAT.md (F) and CODECS.md (C).

Usage:
    python spec/reference_decoder.py FILE [--json]

    >>> tensors = decode_file("spec/vectors/golden/raw_dtypes.dsz")   # doctest: +SKIP
    >>> sorted(tensors)[:1]                                           # doctest: +SKIP
    ['bool']

Decoded arrays are little-endian numpy arrays of the record's dtype; BFLOAT16 tensors come
back as their uint16 bit patterns, QUANTIZED tensors as float32.
"""

from __future__ import annotations

import argparse
import bisect
import bz2
import hashlib
import json
import lzma
import math
import struct
import sys
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import brotli
import numpy as np
import zstandard

MAGIC = b"\x89DSZ\r\n\x1a\n"
READER_MINORS = {1: 0, 2: 0}  # F13: the majors this reader implements, each with its newest minor
MASK64 = (1 << 64) - 1

# F10.1 default caps.
MAX_HEADER_BYTES = 1 << 24
MAX_DEPTH = 32
MAX_OBJECTS = 1 << 21
MAX_TENSORS = 1 << 16
MAX_DIMS = 16
MAX_NAME_BYTES = 1024
MAX_ELEMENTS = 1 << 32
MAX_TOTAL_BYTES = 1 << 38
MAX_EXPANSION = 1 << 16
EXPANSION_ALLOWANCE = 1 << 24

# F5.2 dtype id -> (name, numpy dtype of the decoded bytes).  BOOL is checked, then viewed as bool.
DTYPES = {
    1: ("FLOAT32", "<f4"), 2: ("FLOAT16", "<f2"), 3: ("BFLOAT16", "<u2"), 4: ("FLOAT64", "<f8"),
    5: ("INT8", "i1"), 6: ("UINT8", "u1"), 7: ("INT16", "<i2"), 8: ("UINT16", "<u2"),
    9: ("INT32", "<i4"), 10: ("UINT32", "<u4"), 11: ("INT64", "<i8"), 12: ("UINT64", "<u8"),
    13: ("BOOL", "u1"),
}
CODEC_NAMES = {0: "raw", 1: "zstd", 2: "brotli", 3: "bzip2", 4: "lzma", 5: "lzw", 6: "rans", 7: "rans-zs",
               8: "rans-ctx"}
KIND_RAW, KIND_QUANTIZED, KIND_SPARSE = 0, 1, 2
KIND_NAMES = {KIND_RAW: "RAW", KIND_QUANTIZED: "QUANTIZED", KIND_SPARSE: "SPARSE"}
PRNG_NONE, PRNG_SPLITMIX64 = 0, 1


class DszReject(ValueError):
    """The file is not a valid `.dsz` file.  ``error`` names the spec's error class (F11)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}")
        self.error = error


def reject(error: str, message: str) -> DszReject:
    return DszReject(error, message)


# --------------------------------------------------------------------------- msgpack (F4.2)

class _Msgpack:
    """Parse one msgpack object with the header's rules: no ext types, str keys, no repeats."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.objects = data, 0, 0

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise reject("HeaderError", f"msgpack: needs {n} bytes at offset {self.pos}, header ends first")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def read(self, depth: int) -> Any:
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise reject("LimitError", f"header has more than max_objects={MAX_OBJECTS} msgpack objects")
        b = self.take(1)[0]
        if b <= 0x7F:
            return b
        if b >= 0xE0:
            return b - 0x100
        if 0x80 <= b <= 0x8F:
            return self.map(b & 0x0F, depth)
        if 0x90 <= b <= 0x9F:
            return self.array(b & 0x0F, depth)
        if 0xA0 <= b <= 0xBF:
            return self.text(b & 0x1F)
        simple = {0xC0: None, 0xC2: False, 0xC3: True}
        if b in simple:
            return simple[b]
        sizes = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4, 0xDC: 2, 0xDD: 4, 0xDE: 2, 0xDF: 4}
        if b in (0xC4, 0xC5, 0xC6):
            return self.take(self.uint(sizes[b]))
        if b in (0xD9, 0xDA, 0xDB):
            return self.text(self.uint(sizes[b]))
        if b in (0xDC, 0xDD):
            return self.array(self.uint(sizes[b]), depth)
        if b in (0xDE, 0xDF):
            return self.map(self.uint(sizes[b]), depth)
        if b == 0xCA:
            return struct.unpack(">f", self.take(4))[0]
        if b == 0xCB:
            return struct.unpack(">d", self.take(8))[0]
        if 0xCC <= b <= 0xCF:
            return self.uint(1 << (b - 0xCC))
        if 0xD0 <= b <= 0xD3:
            n = 1 << (b - 0xD0)
            return int.from_bytes(self.take(n), "big", signed=True)
        raise reject("HeaderError", f"msgpack byte 0x{b:02X} (ext type or never-used) is not allowed in a header")

    def text(self, n: int) -> str:
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise reject("HeaderError", f"msgpack str is not valid UTF-8: {exc}") from None

    def container(self, count: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise reject("LimitError", f"header nesting exceeds max_depth={MAX_DEPTH}")
        if count > len(self.data) - self.pos:  # every element takes at least one byte
            raise reject("HeaderError", f"msgpack container claims {count} elements, too few bytes left")

    def array(self, n: int, depth: int) -> list[Any]:
        self.container(n, depth)
        return [self.read(depth + 1) for _ in range(n)]

    def map(self, n: int, depth: int) -> dict[str, Any]:
        self.container(2 * n, depth)
        out: dict[str, Any] = {}
        for _ in range(n):
            key = self.read(depth + 1)
            if not isinstance(key, str):
                raise reject("HeaderError", f"msgpack map key {key!r} is not a str")
            if key in out:
                raise reject("HeaderError", f"msgpack map repeats the key {key!r}")
            out[key] = self.read(depth + 1)
        return out


# --------------------------------------------------------------------------- header schema (F4.3-F4.6)

class _Fields:
    """Typed access to one header map; ``done()`` rejects keys nobody asked for (F13)."""

    def __init__(self, value: Any, where: str, strict: bool) -> None:
        if not isinstance(value, dict):
            raise reject("HeaderError", f"{where} must be a map, got {type(value).__name__}")
        self.map, self.where, self.strict, self.seen = value, where, strict, {"ext"}

    def get(self, key: str, required: bool = True) -> Any:
        self.seen.add(key)
        if key not in self.map and required:
            raise reject("HeaderError", f"{self.where} lacks the required key {key!r}")
        return self.map.get(key)

    def typed(self, key: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
        value = self.get(key, required)
        if key not in self.map:
            return None
        if type(value) not in (kind if isinstance(kind, tuple) else (kind,)):
            raise reject("HeaderError", f"{self.where}.{key} has type {type(value).__name__}")
        return value

    def uint(self, key: str, limit: int = 1 << 64, required: bool = True) -> int | None:
        value = self.typed(key, int, required)
        if value is not None and not 0 <= value < limit:
            raise reject("HeaderError", f"{self.where}.{key} = {value} is outside [0, {limit})")
        return value

    def done(self) -> None:
        if "ext" in self.map and not isinstance(self.map["ext"], dict):
            raise reject("HeaderError", f"{self.where}.ext must be a map")
        unknown = sorted(set(self.map) - self.seen)
        if unknown and self.strict:
            raise reject("HeaderError", f"{self.where} has unknown keys {unknown}")


@dataclass
class Record:
    name: str
    shape: tuple[int, ...]
    dtype: int
    kind: int
    codec: int
    length: int
    crc32: int | None  # None: a 2.0 RAW/RAW record, whose sha256_64 covers its payload bytes (F4.8, F9)
    digest: bytes
    attrs: dict[str, Any]
    offset: int = 0
    stored_size: int = 0  # S (F6)
    decoded_size: int = 0  # D (F6)
    itemsize: int = 1  # the codec's itemsize (F6)
    codebook: np.ndarray | None = None  # QUANTIZED only
    zero_symbol: int = 0
    step: float = 0.0
    prng: int = PRNG_NONE
    seed: int = 0
    stream: int = 0
    nnz: int = 0  # SPARSE only


@dataclass
class Container:
    data: bytes
    payload_start: int
    producer: dict[str, str]
    metadata: dict[str, str]
    recipe: dict[str, Any] | None
    records: list[Record]


def stream_for_name(name: str) -> int:
    """F7: first 8 bytes of SHA-256(name), little-endian."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


def _parse_record(value: Any, index: int, strict: bool, major: int = 1) -> Record:
    f = _Fields(value, f"tensors[{index}]", strict)
    name = f.typed("name", str)
    where = f"tensor {name!r}"
    if not name or len(name.encode("utf-8")) > MAX_NAME_BYTES:
        if name:
            raise reject("LimitError", f"{where}: name longer than max_name_bytes={MAX_NAME_BYTES}")
        raise reject("HeaderError", f"tensors[{index}] has an empty name")
    shape_list = f.typed("shape", list)
    if len(shape_list) > MAX_DIMS:
        raise reject("LimitError", f"{where}: {len(shape_list)} dims > max_dims={MAX_DIMS}")
    n = 1
    for dim in shape_list:
        if type(dim) is not int or dim < 0:
            raise reject("HeaderError", f"{where}: shape entry {dim!r} is not a uint")
        n *= dim
        if n > MAX_ELEMENTS:
            raise reject("LimitError", f"{where}: shape {shape_list} exceeds max_elements={MAX_ELEMENTS}")
    dtype, kind, codec = f.uint("dtype", 256), f.uint("kind", 256), f.uint("codec", 256)
    if dtype not in DTYPES:
        raise reject("UnknownIdError", f"{where}: dtype id {dtype} is reserved")
    if kind not in KIND_NAMES:
        raise reject("UnknownIdError", f"{where}: kind id {kind} is reserved")
    if codec not in CODEC_NAMES:
        raise reject("UnknownIdError", f"{where}: codec id {codec} is reserved")
    digest = f.typed("sha256_64", bytes)
    if len(digest) != 8:
        raise reject("HeaderError", f"{where}: sha256_64 has {len(digest)} bytes, not 8")
    attrs = f.typed("attrs", dict, required=False) or {}
    crc = None if major == 2 and codec == 0 and kind == KIND_RAW else f.uint("crc32", 1 << 32)
    rec = Record(name, tuple(shape_list), dtype, kind, codec, f.uint("length"), crc,
                 digest, attrs)
    width = int(DTYPES[dtype][1][-1])
    if kind == KIND_RAW:
        rec.stored_size = rec.decoded_size = n * width
        rec.itemsize = width
    elif kind == KIND_SPARSE:
        rec.nnz = f.uint("nnz")
        if rec.nnz > n:
            raise reject("HeaderError", f"{where}: nnz {rec.nnz} > N {n}")
        rec.stored_size, rec.decoded_size = (n + 7) // 8 + rec.nnz * width, n * width
    else:
        _parse_quantized(f, rec, where)
        rec.itemsize = 1 if len(rec.codebook) <= 256 else 2
        rec.stored_size, rec.decoded_size = n * rec.itemsize, n * 4
    f.done()
    return rec


def _parse_quantized(f: _Fields, rec: Record, where: str) -> None:
    if rec.dtype != 1:
        raise reject("HeaderError", f"{where}: a QUANTIZED record must have dtype FLOAT32, not {rec.dtype}")
    step = f.typed("step", float)
    if not (math.isfinite(step) and step > 0 and float(np.float32(step)) == step):
        raise reject("HeaderError", f"{where}: step {step!r} is not a finite positive float32 value")
    rec.step = step
    explicit, size = f.typed("codebook", bytes, required=False), f.uint("codebook_size", 65537, required=False)
    if (explicit is None) == (size is None):
        raise reject("HeaderError", f"{where}: exactly one of codebook and codebook_size must be present")
    if explicit is not None:
        if len(explicit) % 4:
            raise reject("HeaderError", f"{where}: codebook has {len(explicit)} bytes, not a multiple of 4")
        codebook = np.frombuffer(explicit, "<f4").astype(np.float32)
    else:
        codebook = np.empty(size, np.float32)  # filled once z is known
    if not 1 <= len(codebook) <= 65536:
        raise reject("HeaderError", f"{where}: codebook size {len(codebook)} is outside [1, 65536]")
    z = f.uint("zero_symbol")
    if z >= len(codebook):
        raise reject("HeaderError", f"{where}: zero_symbol {z} >= K = {len(codebook)}")
    if explicit is None:  # F8.2 implicit uniform codebook: float32(s - z) * float32(step), one rounding
        with np.errstate(over="ignore"):
            codebook = (np.arange(len(codebook)) - z).astype(np.float32) * np.float32(step)
    if not np.all(np.isfinite(codebook)) or codebook[z] != 0:
        raise reject("HeaderError", f"{where}: codebook has a non-finite entry or a non-zero c[z]")
    rec.codebook, rec.zero_symbol = codebook, z
    dither = _Fields(f.get("dither"), f"{where}.dither", f.strict)
    rec.prng, rec.seed = dither.uint("prng", 256), dither.uint("seed")
    stream = dither.uint("stream", required=False)
    rec.stream = stream_for_name(rec.name) if stream is None else stream
    dither.done()
    if rec.prng not in (PRNG_NONE, PRNG_SPLITMIX64):
        raise reject("UnknownIdError", f"{where}: prng id {rec.prng} is reserved")


def _planes(blob: bytes, width: int) -> list[int]:
    """F4.8 byte planes, most significant plane first, back to unsigned integers."""
    count = len(blob) // width
    return [sum(blob[p * count + i] << (8 * (width - 1 - p)) for p in range(width)) for i in range(count)]


def _table_records(table: Any, checks: bytes, strict: bool) -> list[dict[str, Any]]:
    """F4.8: the columns of a 2.0 tensor table, and its checks, as the 1.0 record maps of F4.4-F4.6."""
    t = _Fields(table, "tensors", strict)
    n = len(t.typed("name_suffix", list))
    if n > MAX_TENSORS:
        raise reject("LimitError", f"{n} tensors > max_tensors={MAX_TENSORS}")

    def column(key: str, count: int, required: bool = True) -> list[Any]:
        value = t.typed(key, list, required)
        value = [] if value is None and count == 0 else value
        if value is None or len(value) != count:
            raise reject("HeaderError", f"tensors.{key} needs {count} entries")
        return value

    prefixes, suffixes = column("name_prefix", n), column("name_suffix", n)
    shapes, dtypes, kinds, codecs = (column(key, n) for key in ("shape", "dtype", "kind", "codec"))
    attrs = column("attrs", n, required=False) if "attrs" in table else [{}] * n
    quantized = sum(1 for k in kinds if type(k) is int and k == KIND_QUANTIZED)
    sparse = sum(1 for k in kinds if type(k) is int and k == KIND_SPARSE)
    with_length = [not (type(c) is int and c == 0) for c in codecs]
    lengths = t.typed("length", bytes)
    steps = t.typed("step", bytes, required=False) or b""
    if len(lengths) != 8 * sum(with_length) or len(steps) != 4 * quantized:
        raise reject("HeaderError", "tensors.length or tensors.step has the wrong number of bytes")
    lengths_iter = iter(_planes(lengths, 8))
    step_iter = iter(struct.unpack(f"<{quantized}f", struct.pack(f"<{quantized}I", *_planes(steps, 4))))
    zero, books, dithers = (iter(column(key, quantized, required=quantized > 0))
                            for key in ("zero_symbol", "codebook", "dither"))
    nnz = iter(column("nnz", sparse, required=sparse > 0))
    t.done()
    records, previous, pos = [], b"", 0
    for j in range(n):
        prefix, suffix = prefixes[j], suffixes[j]
        if type(prefix) is not int or type(suffix) is not str:
            raise reject("HeaderError", f"tensors.name_prefix/name_suffix[{j}] has the wrong type")
        if (j == 0 and prefix != 0) or prefix > len(previous) or (
                prefix < len(previous) and 0x80 <= previous[prefix] <= 0xBF):
            raise reject("HeaderError", f"tensors.name_prefix[{j}] = {prefix} is not a valid front coding")
        previous = previous[:prefix] + suffix.encode("utf-8")
        rec: dict[str, Any] = {"name": previous.decode("utf-8"), "shape": shapes[j], "dtype": dtypes[j],
                               "kind": kinds[j], "codec": codecs[j],
                               "length": next(lengths_iter) if with_length[j] else 0}
        crc = with_length[j] or kinds[j] != KIND_RAW or type(kinds[j]) is not int  # not RAW/RAW
        if len(checks) < pos + 4 * crc + 8:
            raise reject("HeaderError", "checks is shorter than its records need")
        if crc:
            rec["crc32"] = int.from_bytes(checks[pos:pos + 4], "little")
        rec["sha256_64"] = checks[pos + 4 * crc:pos + 4 * crc + 8]
        pos += 4 * crc + 8
        if attrs[j] != {}:
            rec["attrs"] = attrs[j]
        if rec["kind"] == KIND_QUANTIZED and type(rec["kind"]) is int:
            book = next(books)
            rec.update(step=next(step_iter), zero_symbol=next(zero), dither=next(dithers))
            rec["codebook" if type(book) is bytes else "codebook_size"] = book
        elif rec["kind"] == KIND_SPARSE and type(rec["kind"]) is int:
            rec["nnz"] = next(nnz)
        records.append(rec)
    if pos != len(checks):
        raise reject("HeaderError", f"checks has {len(checks) - pos} bytes more than its records need")
    return records


def _parse_header(raw: bytes, minor: int, major: int = 1
                  ) -> tuple[dict[str, str], dict[str, str], dict | None, list[Record]]:
    parser = _Msgpack(raw)
    if not raw or not 0x80 <= raw[0] <= 0x8F and raw[0] not in (0xDE, 0xDF):
        raise reject("HeaderError", "the header is not a msgpack map")
    root = parser.read(1)
    if parser.pos != len(raw):
        raise reject("HeaderError", f"{len(raw) - parser.pos} bytes follow the header map")
    strict = minor <= READER_MINORS[major]
    top = _Fields(root, "header", strict)
    producer_fields = _Fields(top.get("producer"), "producer", strict)
    producer = {key: producer_fields.typed(key, str) for key in ("name", "version")}
    producer_fields.done()
    if major == 1:
        tensors = top.typed("tensors", list)
        if len(tensors) > MAX_TENSORS:
            raise reject("LimitError", f"{len(tensors)} tensors > max_tensors={MAX_TENSORS}")
    else:
        tensors = _table_records(top.typed("tensors", dict), top.typed("checks", bytes), strict)
    metadata = top.typed("metadata", dict, required=False) or {}
    if any(type(v) is not str for v in metadata.values()):
        raise reject("HeaderError", "metadata values must be str")
    recipe = top.typed("recipe", dict, required=False)
    top.done()
    records, names = [], set()
    for index, value in enumerate(tensors):
        rec = _parse_record(value, index, strict, major)
        if major == 2 and rec.codec == 0:
            rec.length = rec.stored_size  # F4.8: a codec RAW record's length is S, not stored
        if rec.name in names:
            raise reject("LayoutError", f"duplicate tensor name {rec.name!r}")
        names.add(rec.name)
        records.append(rec)
    return producer, metadata, recipe, records


# --------------------------------------------------------------------------- container (F2, F3, F4.1, F6, F9)

def _inflate_header(stored: bytes, raw_length: int) -> bytes:
    """F4.1: one zlib stream, bounded to U + 1 bytes of output, exactly U bytes, nothing after."""
    cmf, flg = stored[0], stored[1] if len(stored) > 1 else 0
    if len(stored) < 2 or cmf & 0x0F != 8 or cmf >> 4 > 7 or (cmf * 256 + flg) % 31 or flg & 0x20:
        raise reject("HeaderError", "stored header does not start with a valid zlib CMF/FLG pair")
    inflater = zlib.decompressobj(15)
    try:
        raw = inflater.decompress(stored, raw_length + 1)
    except zlib.error as exc:
        raise reject("HeaderError", f"stored header is not a valid zlib stream: {exc}") from None
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail or len(raw) != raw_length:
        raise reject("HeaderError", f"stored header does not inflate to exactly U = {raw_length} bytes")
    return raw


def parse_container(data: bytes) -> Container:
    """Check everything F9 lists for "on open" and return the parsed header."""
    if data[:8] != MAGIC[:len(data[:8])]:
        raise reject("BadMagicError", f"first bytes {data[:8].hex()} are not the .dsz magic {MAGIC.hex()}")
    if len(data) < 40:
        raise reject("TruncatedError", f"file has {len(data)} bytes, shorter than the 40-byte preamble")
    major, minor, flags, h, p, u, crc = struct.unpack("<HHIQQII", data[8:40])
    if major not in READER_MINORS:
        raise reject("UnsupportedVersionError", f"format major {major}; this reader implements {set(READER_MINORS)}")
    if flags:
        raise reject("HeaderError", f"flags 0x{flags:08X} are not 0")
    if h > MAX_HEADER_BYTES or u > MAX_HEADER_BYTES:
        raise reject("LimitError", f"header sizes H={h}, U={u} exceed max_header_bytes={MAX_HEADER_BYTES}")
    if h == 0 or u == 0:
        raise reject("HeaderError", f"header sizes H={h}, U={u} must be at least 1")
    if len(data) < 40 + h + p:
        raise reject("TruncatedError", f"file has {len(data)} bytes, preamble says {40 + h + p}")
    if len(data) > 40 + h + p:
        raise reject("LayoutError", f"{len(data) - 40 - h - p} trailing bytes after the payload section")
    stored = data[40:40 + h]
    if zlib.crc32(data[8:36] + stored) != crc:
        raise reject("ChecksumError", "header_crc32 does not match the preamble and stored header")
    producer, metadata, recipe, records = _parse_header(_inflate_header(stored, u), minor, major)
    offset, total = 0, 0
    for rec in records:  # F6 layout, F10.2 expansion rule, F10.1 total size
        if rec.length > p - offset:
            raise reject("LayoutError", f"tensor {rec.name!r}: payload runs past the payload section")
        rec.offset, offset = 40 + h + offset, offset + rec.length
        if rec.codec == 0 and rec.length != rec.stored_size:
            raise reject("LayoutError", f"tensor {rec.name!r}: RAW payload of {rec.length} bytes, expected S")
        if max(rec.stored_size, rec.decoded_size) > max(EXPANSION_ALLOWANCE, MAX_EXPANSION * rec.length):
            raise reject("LimitError", f"tensor {rec.name!r}: declared size breaks the expansion rule")
        total += rec.decoded_size
    if offset != p:
        raise reject("LayoutError", f"payloads cover {offset} bytes of a {p}-byte payload section")
    if total > MAX_TOTAL_BYTES:
        raise reject("LimitError", f"decoded tensors total {total} bytes > max_total_bytes")
    return Container(data, 40 + h, producer, metadata, recipe, records)


# --------------------------------------------------------------------------- codecs (CODECS.md)

def _lzw_decode(payload: bytes, out_size: int) -> bytes:
    """C3.4."""
    total_bits, bit, n = 8 * len(payload), 0, 0
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    prev: bytes | None = None
    out = bytearray()
    while True:
        width = min(16, (257 + n).bit_length())
        if bit + width > total_bits:
            raise reject("CodecError", "lzw: payload ends before END")
        code = sum(((payload[(bit + k) >> 3] >> ((bit + k) & 7)) & 1) << k for k in range(width))
        bit, n = bit + width, n + 1
        if code == 257:
            break
        if code == 256:
            del table[258:]
            prev, n = None, 0
            continue
        if prev is None:
            if code >= 256:
                raise reject("CodecError", f"lzw: segment starts with code {code}")
            string = table[code]
        else:
            size = len(table)
            if code < size:
                string = table[code]
            elif code == size:
                string = prev + prev[:1]
            else:
                raise reject("CodecError", f"lzw: code {code} is beyond the table ({size})")
            if size < 65536:
                table.append(prev + string[:1])
        if len(out) + len(string) > out_size:
            raise reject("CodecError", "lzw: output exceeds S")
        out += string
        prev = string
    end = (bit + 7) // 8
    if end != len(payload) or (bit & 7 and payload[-1] >> (bit & 7)):
        raise reject("CodecError", "lzw: non-zero padding or bytes after END")
    return bytes(out)


class _Bytes:
    """Cursor over a rANS payload: bytes, LEB128 varints (C4.2) and LSB-first bit blocks (C3.2, C4.2)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos, self.bit = data, 0, 0  # bit: bits read from the bit block that starts at pos

    def take(self, n: int) -> bytes:
        if n > len(self.data) - self.pos:
            raise reject("CodecError", "rans: payload ends inside its header")
        self.pos += n
        return self.data[self.pos - n:self.pos]

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if byte == 0 and shift:
                    raise reject("CodecError", "rans: non-minimal LEB128 varint")
                return value
            shift += 7
            if shift > 63:
                raise reject("CodecError", "rans: varint too long")

    def bits(self, width: int) -> int:
        """The next ``width``-bit field of the bit block: bit k of the block is bit k mod 8 of byte pos + k div 8."""
        first, end = self.pos + self.bit // 8, self.pos + (self.bit + width + 7) // 8
        if end > len(self.data):
            raise reject("CodecError", "rans: a bit field runs past the end of the payload")
        value = int.from_bytes(self.data[first:end], "little") >> (self.bit % 8)
        self.bit += width
        return value & ((1 << width) - 1)

    def end_bits(self) -> None:
        """Close the bit block: the bits up to the next byte boundary MUST be 0; pos moves past the block."""
        used, self.bit = self.bit, 0
        self.pos += (used + 7) // 8
        if used % 8 and self.data[self.pos - 1] >> (used % 8):
            raise reject("CodecError", "rans: non-zero padding bits after a bit block")

    def frequencies(self, m: int) -> list[int]:
        """C4.3: one bit block of m 4-bit exponents, then m mantissas, then zero padding."""
        exponents = [self.bits(4) for _ in range(m)]
        freqs = [(1 << e) + self.bits(e) for e in exponents]
        self.end_bits()
        return freqs


def _rans_table(cur: _Bytes, precision: int, alphabet: int) -> tuple[list[int], list[int]]:
    """C4.3: the present symbols (runs, each below ``alphabet``) and their frequencies, which MUST sum to M."""
    m_total = 1 << precision
    symbols, end, runs = [], 0, cur.varint()
    if runs < 1:
        raise reject("CodecError", "rans: the table needs at least one run")
    for run in range(runs):
        gap, length = cur.varint(), cur.varint() + 1
        if run and gap < 1:
            raise reject("CodecError", "rans: a later run must have gap >= 1")
        start, end = end + gap, end + gap + length
        if end > alphabet or len(symbols) + length > m_total:  # checked before anything is allocated
            raise reject("CodecError", "rans: table symbol out of the alphabet or more symbols than slots")
        symbols.extend(range(start, end))
    freqs = [m_total] if len(symbols) == 1 else cur.frequencies(len(symbols))
    if sum(freqs) != m_total:
        raise reject("CodecError", f"rans: frequencies sum to {sum(freqs)}, not M = {m_total}")
    return symbols, freqs


def _slot_starts(freqs: list[int]) -> list[int]:
    """C4.3 slot order: slots go to the entries by decreasing frequency, ties to the lower symbol."""
    starts, taken = [0] * len(freqs), 0
    for i in sorted(range(len(freqs)), key=lambda i: (-freqs[i], i)):
        starts[i], taken = taken, taken + freqs[i]
    return starts


def _rans_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """C4: static rANS, K lanes of 64-bit state, two symbols per renormalisation, one word stream per lane."""
    w = 2 if itemsize == 2 else 1
    if out_size % w:
        raise reject("CodecError", f"rans: S = {out_size} is not a multiple of the symbol width {w}")
    n = out_size // w
    if n == 0:
        if payload:
            raise reject("CodecError", "rans: an empty stream must have an empty payload")
        return b""
    cur = _Bytes(payload)
    precision = cur.take(1)[0]
    lanes = cur.varint()
    if not 1 <= precision <= 16 or not 1 <= lanes <= min(n, 65536):
        raise reject("CodecError", f"rans: P = {precision} or K = {lanes} out of range (N = {n})")
    symbols, freqs = _rans_table(cur, precision, 1 << (8 * w))
    states, counts, words = _lane_fields(cur, lanes)
    if len(symbols) == 1:  # C4.4: f = M, no step changes a state: the checks reduce to states 1, no words
        if len(words) or any(x != 1 for x in states):
            raise reject("CodecError", "rans: a single-symbol stream needs every state 1 and no words")
        return np.full(n, symbols[0], "<u2" if w == 2 else "u1").tobytes()
    out = _rans_lanes(n, precision, symbols, freqs, states, counts, words)
    return out.astype("<u2" if w == 2 else "u1").tobytes()


def _lane_fields(cur: _Bytes, lanes: int) -> tuple[list[int], list[int], np.ndarray]:
    """C4.2 lane fields (also C6.2): cmin, cbits, emin, ebits, then one bit block of K counts, K exponents,
    K mantissas; then exactly the lanes' words. Returns (initial states, word counts, words)."""
    cmin = cur.varint()
    cbits, emin, ebits = cur.take(3)
    if cbits > 32 or emin > 63 or ebits > 6:
        raise reject("CodecError", f"rans: cbits = {cbits}, emin = {emin} or ebits = {ebits} out of range")
    if (cbits + ebits) * lanes > 8 * (len(cur.data) - cur.pos):
        raise reject("CodecError", f"rans: the count and exponent fields of {lanes} lanes run past the payload")
    counts = [cmin + cur.bits(cbits) for _ in range(lanes)]
    exponents = [emin + cur.bits(ebits) for _ in range(lanes)]
    if max(exponents) > 63:
        raise reject("CodecError", f"rans: a lane state exponent {max(exponents)} is above 63")
    states = [(1 << e) + cur.bits(e) for e in exponents]
    cur.end_bits()
    if len(cur.data) - cur.pos != 4 * sum(counts):
        raise reject("CodecError", f"rans: {len(cur.data) - cur.pos} bytes follow the lane fields, "
                                   f"the lanes own {sum(counts)} words")
    return states, counts, np.frombuffer(cur.data, "<u4", offset=cur.pos).astype(np.uint64)


def _rans_lanes(n: int, precision: int, symbols: list[int], freqs: list[int], states: list[int],
                counts: list[int], words: np.ndarray) -> np.ndarray:
    """C4.4, all lanes side by side: symbol j is symbol j div K of lane j mod K.

    Lanes 0 .. N mod K - 1 have one symbol more than the others, so the lanes that decode a given
    symbol index, or renormalise after a given block, are always the first ``active`` ones.
    """
    lanes, m_total, low = len(states), 1 << precision, np.uint64(1 << 32)
    starts = _slot_starts(freqs)
    owner = np.empty(m_total, np.int64)  # slot -> table entry
    for i, (c, f) in enumerate(zip(starts, freqs, strict=True)):
        owner[c:c + f] = i
    sym_of, f_of, c_of = np.array(symbols), np.array(freqs, np.uint64), np.array(starts, np.uint64)
    x = np.array(states, np.uint64)
    ptr = np.cumsum([0] + counts[:-1])  # lane l's next word; its words end at ptr + counts[l]
    end = ptr + np.array(counts)
    padded = np.append(words, np.uint64(0))  # a lane with no word left points here and reads nothing
    q, extra = divmod(n, lanes)  # lane l has q + 1 symbols if l < extra, else q
    out = np.empty(n, np.int64)
    for block in range((q + (extra > 0) + 1) // 2):
        for i in (2 * block, 2 * block + 1):  # the block's symbols, in order
            active = lanes if i < q else extra if i == q else 0
            xa = x[:active]
            slot = xa & np.uint64(m_total - 1)
            k = owner[slot]
            out[i * lanes:i * lanes + active] = sym_of[k]
            x[:active] = f_of[k] * (xa >> np.uint64(precision)) + slot - c_of[k]
        active = lanes if 2 * block < q else extra  # lanes that had a symbol in this block renormalise
        xa, pa = x[:active], ptr[:active]
        read = (xa < low) & (pa < end[:active])
        x[:active] = np.where(read, (xa << np.uint64(32)) | padded[pa], xa)
        ptr[:active] += read
    if np.any(ptr != end) or np.any(x != 1):
        raise reject("CodecError", "rans: a lane has unread words or does not end in state 1")
    return out


def _rans_zs_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """C5: zero-split rANS: plain (one codec-6 stream) or split into flag bytes and residual symbols."""
    w = 2 if itemsize == 2 else 1
    if out_size % w:
        raise reject("CodecError", f"rans-zs: S = {out_size} is not a multiple of the symbol width {w}")
    n = out_size // w
    if n == 0 or not payload:
        if payload or n:
            raise reject("CodecError", "rans-zs: the payload must be empty exactly when the stream is")
        return b""
    cur = _Bytes(payload)
    mode = cur.take(1)[0]
    if mode == 0:
        return _rans_decode(payload[1:], out_size, itemsize)
    if mode != 1 or n < 2:
        raise reject("CodecError", f"rans-zs: mode {mode} is not 0 or 1, or a split stream of {n} < 2 symbols")
    m = int.from_bytes(cur.take(w), "little")
    residual_count, flag_length = cur.varint(), cur.varint()
    if not 1 <= residual_count <= n - 1 or not 1 <= flag_length < len(payload) - cur.pos:
        raise reject("CodecError", f"rans-zs: R = {residual_count} or F = {flag_length} out of range")
    flag_bytes = _rans_decode(cur.take(flag_length), (n + 7) // 8, 1)
    residual = _rans_decode(payload[cur.pos:], residual_count * w, itemsize)
    flags = np.unpackbits(np.frombuffer(flag_bytes, np.uint8))
    symbols = np.frombuffer(residual, "<u2" if w == 2 else "u1")
    if flags[n:].any() or int(flags.sum()) != residual_count or np.any(symbols == m):
        raise reject("CodecError", "rans-zs: padding flag set, flag count != R, or a residual symbol equals m")
    out = np.full(n, m, "<u2" if w == 2 else "u1")
    out[flags[:n].astype(bool)] = symbols
    return out.tobytes()


class _Table:
    """C6.3: a table of precision P: its symbols own slots [c, c + f) by the rule of C4.3."""

    def __init__(self, precision: int, symbols: list[int], freqs: list[int]) -> None:
        self.precision = precision
        starts = _slot_starts(freqs)
        owned = sorted((c, f, s) for c, f, s in zip(starts, freqs, symbols, strict=True) if f)
        self.starts = [c for c, _, _ in owned]
        self.entries = owned

    def decode(self, x: int) -> tuple[int, int]:
        """One token (C6.4): returns (symbol, new state)."""
        slot = x % (1 << self.precision)
        c, f, symbol = self.entries[bisect.bisect_right(self.starts, slot) - 1]
        return symbol, f * (x >> self.precision) + slot - c


def _binary_table(precision: int, ones: int) -> _Table:
    """C6.3: symbol 1 has frequency ``ones``, symbol 0 the rest of 2^P (a frequency 0 owns no slot)."""
    return _Table(precision, [0, 1], [(1 << precision) - ones, ones])


def _pattern_table(n: int, precision: int) -> _Table:
    """C6.3 T(n) at P = min(16, bit_length(n - 1) + slack): ranks 0 .. u - 1 get q + 1 slots, the others q
    (q = 2^P div n, u = 2^P mod n)."""
    q, u = divmod(1 << precision, n)
    return _Table(precision, list(range(n)), [q + 1 if r < u else q for r in range(n)])


def _ctx_precision(cur: _Bytes, what: str) -> int:
    value = cur.take(1)[0]
    if not 1 <= value <= 16:
        raise reject("CodecError", f"rans-ctx: {what} precision {value} is outside 1..16")
    return value


def _rans_ctx_decode(payload: bytes, out_size: int, itemsize: int) -> bytes:
    """C6: group counts (phase A), then pattern ranks, magnitudes and sign tokens (phase B), on K lanes."""
    w = 2 if itemsize == 2 else 1
    if out_size % w:
        raise reject("CodecError", f"rans-ctx: S = {out_size} is not a multiple of the symbol width {w}")
    n, alphabet = out_size // w, 1 << (8 * w)
    if n == 0 or not payload:
        if payload or n:
            raise reject("CodecError", "rans-ctx: the payload must be empty exactly when the stream is")
        return b""
    if payload[0] == 0:
        return _rans_decode(payload[1:], out_size, itemsize)
    if payload[0] != 1:
        raise reject("CodecError", f"rans-ctx: mode {payload[0]} is not 0 or 1")
    cur = _Bytes(payload)
    cur.take(1)
    g = cur.take(1)[0]
    if not 1 <= g <= min(16, n):
        raise reject("CodecError", f"rans-ctx: group length {g} is outside 1..min(16, N)")
    m = int.from_bytes(cur.take(w), "little")
    groups = -(-n // g)
    lanes = cur.varint()
    if not 1 <= lanes <= groups:
        raise reject("CodecError", f"rans-ctx: K = {lanes} is outside 1..G = {groups}")
    precision = _ctx_precision(cur, "count table")
    count_table = _Table(precision, *_rans_table(cur, precision, g + 1))
    precision = _ctx_precision(cur, "magnitude table")
    symbols, freqs = _rans_table(cur, precision, alphabet)
    if symbols[0] == 0:
        raise reject("CodecError", "rans-ctx: the magnitude table holds 0")
    magnitude_table = _Table(precision, symbols, freqs)
    slack = cur.take(1)[0]
    if slack > 16:
        raise reject("CodecError", f"rans-ctx: pattern slack {slack} is above 16")
    sign_tables = []
    for what in ("first-sign", "flip"):
        precision = _ctx_precision(cur, what)
        ones = cur.varint()
        if ones > 1 << precision:
            raise reject("CodecError", f"rans-ctx: {what} frequency {ones} is above 2^{precision}")
        sign_tables.append(_binary_table(precision, ones))
    states, word_counts, words = _lane_fields(cur, lanes)
    lane_words = []  # C4.2: lane l's words follow those of lanes 0 .. l - 1
    for count in word_counts:
        lane_words.append([int(v) for v in words[:count]])
        words = words[count:]
    lengths = [g] * (groups - 1) + [n - (groups - 1) * g]

    # C6.4 phase A: every lane decodes its counts; the tables of phase B need all of them.
    x, read = list(states), [0] * lanes
    counts = [0] * groups
    for lane in range(lanes):
        mine = list(range(lane, groups, lanes))
        decoded, x[lane], read[lane] = _ctx_lane(x[lane], lane_words[lane], read[lane], [count_table] * len(mine))
        for j, value in zip(mine, decoded, strict=True):
            counts[j] = value
    if any(c > length for c, length in zip(counts, lengths, strict=True)):
        raise reject("CodecError", "rans-ctx: a group count exceeds its group's length")

    # C6.4 phase B: ranks of the pattern groups, magnitudes, sign tokens (C6.3 tables).
    tables: list[_Table] = []
    patterns = [i for i in range(groups) if 0 < counts[i] < lengths[i]]
    known: dict[int, _Table] = {}
    for i in patterns:
        size = math.comb(lengths[i], counts[i])
        known.setdefault(size, _pattern_table(size, min(16, (size - 1).bit_length() + slack)))
        tables.append(known[size])
    total = sum(counts)
    tables += [magnitude_table] * total
    first: list[bool] = []  # is non-zero k the first of its group?
    for c in counts:
        first += ([True] + [False] * (c - 1)) if c else []
    tables += [sign_tables[0] if f else sign_tables[1] for f in first]
    tokens = [0] * len(tables)
    for lane in range(lanes):
        mine = list(range(lane, len(tables), lanes))
        decoded, x[lane], read[lane] = _ctx_lane(x[lane], lane_words[lane], read[lane], [tables[j] for j in mine])
        for j, value in zip(mine, decoded, strict=True):
            tokens[j] = value
    if any(state != 1 for state in x) or read != word_counts:
        raise reject("CodecError", "rans-ctx: a lane has unread words or does not end in state 1")

    # C6.5: positions from the ranks, signs from the sign tokens.
    ranks = dict(zip(patterns, tokens[:len(patterns)], strict=True))
    magnitudes, sign_tokens = tokens[len(patterns):len(patterns) + total], tokens[len(patterns) + total:]
    out = [m] * n
    k, sign = 0, 0
    for i in range(groups):
        if counts[i] == lengths[i]:
            positions = list(range(lengths[i]))
        elif counts[i]:
            positions = _unrank(ranks[i], counts[i])
        else:
            positions = []
        for index, p in enumerate(positions):
            sign = sign_tokens[k] if index == 0 else sign ^ sign_tokens[k]
            value = m + magnitudes[k] if sign else m - magnitudes[k]
            if not 0 <= value < alphabet:
                raise reject("CodecError", f"rans-ctx: rebuilt symbol {value} is outside 0..{alphabet - 1}")
            out[i * g + p] = value
            k += 1
    return np.array(out, "<u2" if w == 2 else "u1").tobytes()


def _ctx_lane(x: int, words: list[int], read: int, tables: list[_Table]) -> tuple[list[int], int, int]:
    """C6.4: one lane's tokens of one phase, in blocks of two, renormalising after every block."""
    out = []
    for start in range(0, len(tables), 2):
        for table in tables[start:start + 2]:
            symbol, x = table.decode(x)
            out.append(symbol)
        if x < 1 << 32 and read < len(words):
            x, read = (x << 32) | words[read], read + 1
    return out, x, read


def _unrank(rank: int, count: int) -> list[int]:
    """C6.1: the set {p_1 < ... < p_c} with sum C(p_k, k) = rank (greedy from the largest element)."""
    positions = []
    for k in range(count, 0, -1):
        p = k - 1
        while math.comb(p + 1, k) <= rank:
            p += 1
        positions.append(p)
        rank -= math.comb(p, k)
    return positions[::-1]


def _lzma_dict_size(size: int) -> int:
    """C2.1 D(S): smallest power of two >= S, clamped to [2^12, 2^26]."""
    return min(1 << 26, max(1 << 12, 1 << max(0, size - 1).bit_length()))


def decode_payload(codec: int, payload: bytes, out_size: int, itemsize: int) -> bytes:
    """Decode one payload to exactly ``out_size`` bytes (C1) or raise a CodecError reject."""
    try:
        if codec == 0:
            out = payload
        elif codec == 1:
            if payload[:4] != b"\x28\xb5\x2f\xfd":  # C2: a data frame, not a skippable one
                raise reject("CodecError", "zstd: the payload does not start with a data frame's magic")
            params = zstandard.get_frame_parameters(payload)
            if params.content_size != out_size:
                raise reject("CodecError", f"zstd: frame content size {params.content_size} != S = {out_size}")
            inflater = zstandard.ZstdDecompressor().decompressobj()
            out = inflater.decompress(payload)
            if not inflater.eof or inflater.unused_data:
                raise reject("CodecError", "zstd: not exactly one complete frame")
        elif codec == 2:
            inflater = brotli.Decompressor()
            out = inflater.process(payload, output_buffer_limit=out_size + 1)
            if not inflater.is_finished():
                raise reject("CodecError", "brotli: stream incomplete or longer than S")
        elif codec == 3:
            inflater = bz2.BZ2Decompressor()
            out = inflater.decompress(payload, out_size + 1)
            if not inflater.eof or inflater.unused_data:
                raise reject("CodecError", "bzip2: not exactly one complete stream")
        elif codec == 4:
            filters = [{"id": lzma.FILTER_LZMA2, "dict_size": _lzma_dict_size(out_size)}]
            inflater = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
            out = inflater.decompress(payload, out_size + 1)
            if not inflater.eof or inflater.unused_data:
                raise reject("CodecError", "lzma: not exactly one LZMA2 stream with its end marker")
        elif codec == 5:
            out = _lzw_decode(payload, out_size)
        elif codec == 6:
            out = _rans_decode(payload, out_size, itemsize)
        elif codec == 7:
            out = _rans_zs_decode(payload, out_size, itemsize)
        else:
            out = _rans_ctx_decode(payload, out_size, itemsize)
    except (zstandard.ZstdError, brotli.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        if isinstance(exc, DszReject):
            raise
        raise reject("CodecError", f"{CODEC_NAMES[codec]}: {exc}") from None
    if len(out) != out_size:
        raise reject("CodecError", f"{CODEC_NAMES[codec]}: decoded {len(out)} bytes, expected S = {out_size}")
    return bytes(out)


# --------------------------------------------------------------------------- tensors (F7, F8)

def _mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def dither(prng: int, seed: int, stream: int, step: float, count: int) -> np.ndarray:
    """F7: the float32 dither U_0 .. U_{count-1}."""
    if prng == PRNG_NONE:
        return np.zeros(count, np.float32)
    with np.errstate(over="ignore"):
        key = _mix64(_mix64(np.array([seed], np.uint64)) ^ np.uint64(stream))[0]
        counters = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key
        x = _mix64(counters)
    u = (x >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    return np.float32(step) * (u - np.float32(0.5))


def _decode_sparse(rec: Record, stored: bytes, count: int, width: int) -> bytes:
    """F8.3: bitmap (MSB first), then byte planes from the most significant byte."""
    bitmap_bytes = (count + 7) // 8
    bits = np.unpackbits(np.frombuffer(stored[:bitmap_bytes], np.uint8))
    if bits[count:].any():
        raise reject("CodecError", f"tensor {rec.name!r}: SPARSE bitmap padding bits are not 0")
    mask = bits[:count].astype(bool)
    if int(mask.sum()) != rec.nnz:
        raise reject("CodecError", f"tensor {rec.name!r}: bitmap has {int(mask.sum())} set bits, nnz {rec.nnz}")
    planes = np.frombuffer(stored[bitmap_bytes:], np.uint8).reshape(width, rec.nnz)
    elements = planes[::-1].T  # row k: little-endian bytes b_0 .. b_{w-1} of the k-th non-zero
    if rec.nnz and not elements.any(axis=1).all():
        raise reject("CodecError", f"tensor {rec.name!r}: an element marked non-zero has all-zero bytes")
    dense = np.zeros((count, width), np.uint8)
    dense[mask] = elements
    return dense.tobytes()


def decode_record(container: Container, rec: Record) -> np.ndarray:
    """F9 "on reading a tensor": CRC, codec, value checks, dequantize or expand, sha256_64."""
    payload = container.data[rec.offset:rec.offset + rec.length]
    if rec.crc32 is None:  # 2.0 RAW/RAW: the payload is the decoded bytes, sha256_64 takes the CRC's place
        if hashlib.sha256(payload).digest()[:8] != rec.digest:
            raise reject("ChecksumError", f"tensor {rec.name!r}: sha256_64 of the RAW/RAW payload does not match")
    elif zlib.crc32(payload) != rec.crc32:
        raise reject("ChecksumError", f"tensor {rec.name!r}: payload CRC-32 mismatch")
    stored = decode_payload(rec.codec, payload, rec.stored_size, rec.itemsize)
    count = math.prod(rec.shape)
    width = int(DTYPES[rec.dtype][1][-1])
    if rec.kind == KIND_QUANTIZED:
        symbols = np.frombuffer(stored, "<u2" if rec.itemsize == 2 else "u1").astype(np.int64)
        if count and int(symbols.max()) >= len(rec.codebook):
            raise reject("CodecError", f"tensor {rec.name!r}: symbol {int(symbols.max())} >= K")
        u = dither(rec.prng, rec.seed, rec.stream, rec.step, count)
        values = np.where(symbols == rec.zero_symbol, np.float32(0), rec.codebook[symbols] - u)
        decoded = values.astype("<f4").tobytes()
    elif rec.kind == KIND_SPARSE:
        decoded = _decode_sparse(rec, stored, count, width)
    else:
        decoded = stored
    array = np.frombuffer(decoded, "<f4" if rec.kind == KIND_QUANTIZED else DTYPES[rec.dtype][1])
    if rec.dtype == 13 and rec.kind != KIND_QUANTIZED:
        if array.size and int(array.max()) > 1:
            raise reject("CodecError", f"tensor {rec.name!r}: BOOL byte {int(array.max())} is not 0 or 1")
        array = array.view(np.bool_)
    if rec.crc32 is not None and hashlib.sha256(decoded).digest()[:8] != rec.digest:
        raise reject("ChecksumError", f"tensor {rec.name!r}: sha256_64 of the decoded bytes does not match")
    return array.reshape(rec.shape)


def decode_bytes(data: bytes) -> dict[str, np.ndarray]:
    """Decode every tensor of a `.dsz` file held in memory; raise DszReject on any defect."""
    container = parse_container(bytes(data))
    return {rec.name: decode_record(container, rec) for rec in container.records}


def decode_file(path: str | Path) -> dict[str, np.ndarray]:
    """Decode every tensor of the `.dsz` file at ``path``; raise DszReject on any defect."""
    return decode_bytes(Path(path).read_bytes())


# --------------------------------------------------------------------------- Winograd domain (WINOGRAD.md)

def winograd_points(n: int) -> list[Fraction]:
    """W2: the n - 1 finite points 0, 1, -1, then k, -k, 1/k, -1/k for k = 2, 3, ..."""
    points = [Fraction(0), Fraction(1), Fraction(-1)]
    k = 2
    while len(points) < n - 1:
        points += [Fraction(k), Fraction(-k), Fraction(1, k), Fraction(-1, k)]
        k += 1
    return points[:n - 1]


def winograd_g(m: int, r: int) -> np.ndarray:
    """W3: the filter transform G of F(m, r) (n x r), exact rationals rounded once to float64."""
    n = m + r - 1
    points = winograd_points(n)
    rows = []
    for i, p in enumerate(points):
        f = math.prod((p - q for k, q in enumerate(points) if k != i), start=Fraction(1))
        rows.append([p ** j / f for j in range(r)])
    rows.append([Fraction(1 if j == r - 1 else 0) for j in range(r)])  # the point at infinity
    if n > 1 and math.prod((points[0] - q for q in points[1:]), start=Fraction(1)) < 0:
        rows[0] = [-v for v in rows[0]]  # sign normalisation: f_0 < 0
    return np.array([[float(v) for v in row] for row in rows], np.float64)


def _winograd_tile(rec: Record) -> tuple[int, int]:
    """F4.7 and W1: (m, r) of a marked record, or DszReject (HeaderError, LimitError)."""
    spec, where = rec.attrs["winograd"], f"tensor {rec.name!r}: attrs winograd"
    if type(spec) is not dict or set(spec) - {"m", "r"} or "m" not in spec:
        raise reject("HeaderError", f"{where} must be a map with m and optionally r, got {spec!r}")
    m, r = spec["m"], spec.get("r", rec.shape[-1] if rec.shape else None)
    if type(m) is not int or type(r) is not int or m < 1 or r < 1:
        raise reject("HeaderError", f"{where}: m and r must be integers >= 1, got {m!r} and {r!r}")
    if len(rec.shape) < 2 or rec.shape[-2:] != (r, r):
        raise reject("HeaderError", f"{where}: r = {r} needs a shape (..., {r}, {r}), got {rec.shape}")
    if m + r - 1 > 16:
        raise reject("LimitError", f"{where}: tile n = {m + r - 1} > 16")
    return m, r


def _spatial_for_winograd(rec: Record, array: np.ndarray) -> tuple[np.ndarray, str]:
    """W4.1: the spatial values as float64 and the dtype W is rounded to."""
    if rec.kind == KIND_QUANTIZED or rec.dtype == 1:
        return array.astype(np.float64), "<f4"
    if rec.dtype == 3:  # BFLOAT16 bit patterns, widened exactly: the 16 bits are the high half of a float32
        return (array.astype(np.uint32) << np.uint32(16)).view("<f4").astype(np.float64), "<f4"
    if rec.dtype in (2, 4):
        return array.astype(np.float64), DTYPES[rec.dtype][1]
    return array.astype(np.float64), "<f8"  # integers and BOOL


def winograd_prune(arrays: list[np.ndarray], sparsity: float) -> list[np.ndarray]:
    """W4.2: zero floor(s * N) smallest magnitudes of all arrays together, ties in order, NaN never."""
    flat = [a.reshape(-1).copy() for a in arrays]
    if not flat:
        return arrays
    mags = np.concatenate([np.abs(f.astype(np.float64)) for f in flat])
    k = min(math.floor(sparsity * mags.size), int(np.count_nonzero(~np.isnan(mags))))
    pruned = np.zeros(mags.size, bool)
    pruned[np.argsort(mags, kind="stable")[:k]] = True  # by magnitude, equal ones by position; NaN last
    start = 0
    for f in flat:
        f[pruned[start:start + f.size]] = 0  # +0.0
        start += f.size
    return [f.reshape(a.shape) for f, a in zip(flat, arrays, strict=True)]


def decode_winograd(data: bytes, sparsity: float = 0.0) -> dict[str, np.ndarray]:
    """Every tensor in the Winograd domain (WINOGRAD.md 4): marked ones as G w G^T, pruned to ``sparsity``.

    Unmarked tensors are as in :func:`decode_bytes`, except that BFLOAT16 is widened to float32 as a
    loader does (FORMAT.md 8); ``sparsity`` is a number in [0, 1).
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    container = parse_container(bytes(data))
    tiles = {rec.name: _winograd_tile(rec) for rec in container.records if "winograd" in rec.attrs}
    out: dict[str, np.ndarray] = {}
    for rec in container.records:
        array = decode_record(container, rec)
        if rec.name in tiles:
            values, dtype = _spatial_for_winograd(rec, array)
            g = winograd_g(*tiles[rec.name])
            array = (g @ values @ g.T).astype(dtype)  # W4: float64, any summation order within 1 ulp
        elif rec.kind != KIND_QUANTIZED and rec.dtype == 3:
            array = (array.astype(np.uint32) << np.uint32(16)).view("<f4")
        out[rec.name] = array
    marked = list(tiles)
    for name, array in zip(marked, winograd_prune([out[n] for n in marked], sparsity), strict=True):
        out[name] = array
    return out


def describe(data: bytes) -> list[dict[str, Any]]:
    """Per tensor: name, shape, dtype and kind names, codec name, SHA-256 of the decoded bytes."""
    container = parse_container(bytes(data))
    rows = []
    for rec in container.records:
        array = decode_record(container, rec)
        rows.append({
            "name": rec.name, "shape": list(rec.shape),
            "dtype": "FLOAT32" if rec.kind == KIND_QUANTIZED else DTYPES[rec.dtype][0],
            "kind": KIND_NAMES[rec.kind], "codec": CODEC_NAMES[rec.codec],
            "sha256": hashlib.sha256(array.tobytes()).hexdigest(),
        })
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Decode a .dsz file with the spec's reference decoder.")
    parser.add_argument("file")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    args = parser.parse_args(argv)
    try:
        rows = describe(Path(args.file).read_bytes())
    except DszReject as exc:
        print(f"reject: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"tensors": rows}, indent=1))
    else:
        for row in rows:
            print(f"{row['name']}  {tuple(row['shape'])}  {row['dtype']}  {row['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
