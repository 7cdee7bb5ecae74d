"""The version 2.0 tensor table (spec 4.8): the 1.0 record maps as columns, their checks in one blob.

:func:`to_table` turns 1.0 wire records (``TensorRecord.to_wire`` maps) into the columns and the
``checks`` blob; :func:`from_table` turns them back, checking only what belongs to the table (column
lengths, blob lengths, front coding). The records themselves are then validated as in 1.0
(:func:`formats.container.records.parse_record`), so both versions share every record rule.

Example:
    >>> records = [{"name": "a.w", "shape": [2], "dtype": 6, "kind": 0, "codec": 0, "length": 2,
    ...             "crc32": 7, "sha256_64": b"\\0" * 8}]
    >>> table, checks = to_table(records)
    >>> table["name_suffix"], len(checks)
    (['a.w'], 8)
    >>> sorted(from_table(table, checks, lenient=False)[0])  # a RAW/RAW record: sha256_64, no crc32
    ['codec', 'dtype', 'kind', 'length', 'name', 'sha256_64', 'shape']
"""

from __future__ import annotations

import struct
from typing import Any

from formats.container.fields import FieldReader
from formats.errors import HeaderError
from formats.ids import CodecId, TensorKind

CRC_BYTES = 4
DIGEST_BYTES = 8
_RAW = int(CodecId.RAW)
_RAW_KIND = int(TensorKind.RAW)
_QUANTIZED = int(TensorKind.QUANTIZED)
_SPARSE = int(TensorKind.SPARSE)


def has_crc(codec: int, kind: int) -> bool:
    """Whether a 2.0 record stores a payload ``crc32``: all but codec RAW with kind RAW. Those run no decoder
    and their decoded bytes are their payload bytes, so their ``sha256_64`` (which every record stores)
    covers the bytes the CRC-32 would (spec 4.8, 9).

    Example:
        >>> has_crc(0, 0), has_crc(1, 0), has_crc(0, 1)
        (False, True, True)
    """
    return not (codec == _RAW and kind == _RAW_KIND)


def front_code(names: list[str]) -> tuple[list[int], list[str]]:
    """``(name_prefix, name_suffix)``: each name as the longest prefix of the previous one's UTF-8 bytes
    that ends on a character boundary, plus the rest.

    Example:
        >>> front_code(["layer1.bn.weight", "layer1.bn.bias"])
        ([0, 10], ['layer1.bn.weight', 'bias'])
    """
    prefixes, suffixes, previous = [], [], b""
    for name in names:
        raw = name.encode("utf-8")
        k = 0
        limit = min(len(raw), len(previous))
        while k < limit and raw[k] == previous[k]:
            k += 1
        while k < len(previous) and _continuation(previous[k]):  # back to a character boundary
            k -= 1
        prefixes.append(k)
        suffixes.append(raw[k:].decode("utf-8"))
        previous = raw
    return prefixes, suffixes


def front_decode(prefixes: list[Any], suffixes: list[Any]) -> list[str]:
    """The names of a front coding; raises :class:`HeaderError` on a bad prefix or suffix.

    Example:
        >>> front_decode([0, 10], ["layer1.bn.weight", "bias"])
        ['layer1.bn.weight', 'layer1.bn.bias']
    """
    names: list[str] = []
    previous = b""
    for j, (prefix, suffix) in enumerate(zip(prefixes, suffixes, strict=True)):
        if isinstance(prefix, bool) or not isinstance(prefix, int) or prefix < 0:
            raise HeaderError(f"tensor table: name_prefix[{j}] must be an integer >= 0, got {prefix!r}")
        if not isinstance(suffix, str):
            raise HeaderError(f"tensor table: name_suffix[{j}] must be a string, got {type(suffix).__name__}")
        if j == 0 and prefix != 0:
            raise HeaderError(f"tensor table: name_prefix[0] must be 0, got {prefix}")
        if prefix > len(previous):
            raise HeaderError(
                f"tensor table: name_prefix[{j}] = {prefix} is longer than the previous name ({len(previous)} bytes)"
            )
        if prefix < len(previous) and _continuation(previous[prefix]):
            raise HeaderError(f"tensor table: name_prefix[{j}] = {prefix} splits a UTF-8 character")
        raw = previous[:prefix] + suffix.encode("utf-8")
        names.append(raw.decode("utf-8"))
        previous = raw
    return names


def to_planes(values: list[int] | bytes, width: int) -> bytes:
    """Byte planes of ``width``-byte values, most significant plane first (``bytes``: already packed LE).

    Example:
        >>> to_planes([300, 5], 2).hex()
        '01002c05'
    """
    packed = values if isinstance(values, bytes) else b"".join(v.to_bytes(width, "little") for v in values)
    count = len(packed) // width
    return bytes(packed[i * width + width - 1 - p] for p in range(width) for i in range(count))


def from_planes(planes: bytes, width: int) -> bytes:
    """The little-endian values of byte planes (inverse of :func:`to_planes`).

    Example:
        >>> from_planes(bytes.fromhex("01002c05"), 2).hex()
        '2c010500'
    """
    count = len(planes) // width
    return bytes(planes[(width - 1 - b) * count + i] for i in range(count) for b in range(width))


def to_table(records: list[dict[str, Any]]) -> tuple[dict[str, Any], bytes]:
    """The tensor table and ``checks`` blob of 1.0 wire records (spec 4.8), default columns omitted."""
    prefixes, suffixes = front_code([r["name"] for r in records])
    checks = bytearray()
    lengths: list[int] = []
    for r in records:
        if has_crc(r["codec"], r["kind"]):
            checks += struct.pack("<I", r["crc32"])
        checks += r["sha256_64"]
        if r["codec"] != _RAW:
            lengths.append(r["length"])
    table: dict[str, Any] = {
        "name_prefix": prefixes,
        "name_suffix": suffixes,
        "shape": [r["shape"] for r in records],
        "dtype": [r["dtype"] for r in records],
        "kind": [r["kind"] for r in records],
        "codec": [r["codec"] for r in records],
        "length": to_planes(lengths, 8),
    }
    if any(r.get("attrs") for r in records):
        table["attrs"] = [r.get("attrs", {}) for r in records]
    quantized = [r for r in records if r["kind"] == _QUANTIZED]
    if quantized:
        table["step"] = to_planes(b"".join(struct.pack("<f", r["step"]) for r in quantized), 4)
        table["zero_symbol"] = [r["zero_symbol"] for r in quantized]
        table["codebook"] = [r["codebook"] if "codebook" in r else r["codebook_size"] for r in quantized]
        table["dither"] = [r["dither"] for r in quantized]
    sparse = [r for r in records if r["kind"] == _SPARSE]
    if sparse:
        table["nnz"] = [r["nnz"] for r in sparse]
    return table, bytes(checks)


def table_size(table: Any) -> int:
    """Number of records a table declares (entries of ``name_suffix``), before anything else is checked."""
    if not isinstance(table, dict):
        raise HeaderError(f"tensor table must be a map, got {type(table).__name__}")
    suffixes = table.get("name_suffix")
    if not isinstance(suffixes, list):
        raise HeaderError("tensor table: 'name_suffix' must be an array")
    return len(suffixes)


def from_table(table: Any, checks: bytes, *, lenient: bool) -> list[dict[str, Any]]:
    """1.0 wire records of a tensor table and ``checks`` blob (not yet validated as records).

    A codec RAW record gets ``length`` 0: its length is S, which only the parsed record knows.

    Raises:
        HeaderError: a column of the wrong type or number of entries, a bin of the wrong length,
            a bad front coding, an unknown key (unless ``lenient``).
    """
    n = table_size(table)
    f = FieldReader(table, "tensor table", lenient=lenient)
    names = front_decode(_column(f, "name_prefix", n), _column(f, "name_suffix", n))
    shapes, dtypes = _column(f, "shape", n), _column(f, "dtype", n)
    kinds, codecs = _column(f, "kind", n), _column(f, "codec", n)
    attrs = _column(f, "attrs", n) if f.has("attrs") else [{}] * n
    q = sum(1 for k in kinds if k == _QUANTIZED)
    s = sum(1 for k in kinds if k == _SPARSE)
    stored_lengths = [c != _RAW for c in codecs]
    m = sum(stored_lengths)
    length_bytes = f.binary("length")
    if len(length_bytes) != 8 * m:
        raise HeaderError(f"tensor table: 'length' is {len(length_bytes)} bytes, {m} non-RAW records need {8 * m}")
    lengths = iter(struct.unpack(f"<{m}Q", from_planes(length_bytes, 8)))
    optional = {key: _column(f, key, q) if f.has(key) else [] for key in ("zero_symbol", "codebook", "dither")}
    for key, values in optional.items():
        if len(values) != q:
            raise HeaderError(f"tensor table: '{key}' has {len(values)} entries, the {q} quantized records need {q}")
    step_bytes = f.binary("step") if f.has("step") else b""
    if len(step_bytes) != 4 * q:
        raise HeaderError(f"tensor table: 'step' is {len(step_bytes)} bytes, {q} quantized records need {4 * q}")
    steps = iter(struct.unpack(f"<{q}f", from_planes(step_bytes, 4)))
    nnz = _column(f, "nnz", s) if f.has("nnz") else []
    if len(nnz) != s:
        raise HeaderError(f"tensor table: 'nnz' has {len(nnz)} entries, the {s} sparse records need {s}")
    f.finish()
    expected = sum((CRC_BYTES if has_crc(c, k) else 0) + DIGEST_BYTES for c, k in zip(codecs, kinds, strict=True))
    if len(checks) != expected:
        raise HeaderError(f"header 'checks' is {len(checks)} bytes; the {n} records need {expected}")
    records, pos, qi, si = [], 0, 0, 0
    for j in range(n):
        record: dict[str, Any] = {
            "name": names[j], "shape": shapes[j], "dtype": dtypes[j], "kind": kinds[j], "codec": codecs[j],
            "length": next(lengths) if stored_lengths[j] else 0,
        }
        if has_crc(codecs[j], kinds[j]):
            record["crc32"] = struct.unpack_from("<I", checks, pos)[0]
            pos += CRC_BYTES
        record["sha256_64"] = checks[pos:pos + DIGEST_BYTES]
        pos += DIGEST_BYTES
        if attrs[j] != {}:
            record["attrs"] = attrs[j]
        if kinds[j] == _QUANTIZED:
            book = optional["codebook"][qi]
            record.update(step=next(steps), zero_symbol=optional["zero_symbol"][qi], dither=optional["dither"][qi])
            record["codebook" if isinstance(book, bytes) else "codebook_size"] = book
            qi += 1
        elif kinds[j] == _SPARSE:
            record["nnz"] = nnz[si]
            si += 1
        records.append(record)
    return records


def _column(f: FieldReader, key: str, entries: int) -> list[Any]:
    values = f.array(key)
    if len(values) != entries:
        raise HeaderError(f"tensor table: '{key}' has {len(values)} entries, expected {entries}")
    return values


def _continuation(byte: int) -> bool:
    return 0x80 <= byte <= 0xBF
