"""Build the negative `.dsz` vectors of spec/vectors/negative/: valid files with one defect each.

Every vector starts from a small valid file written by the reference writer (`formats`), then is taken
apart and reassembled byte by byte here (header edits, payload swaps, preamble fields, hand-made codec
streams).  ``NEGATIVE`` maps each vector's name to the error class a reader MUST raise, the stage at
which it raises it, a one-line defect and the builder.  The file-assembly helpers and the deterministic
test values are defined here once and shared with the golden builders of generate_vectors.py, which
writes and checks all the files (spec/ is not a package: generate_vectors.py loads this module by path).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np

import formats
from formats import Producer, SparseTensor

MAGIC = b"\x89DSZ\r\n\x1a\n"
PRODUCER = Producer("dualsparse-vectors", "1")


def pseudo_uniform(count: int, seed: int) -> np.ndarray:
    """Values in [-1, 1) from a SplitMix64-style hash: identical on every numpy version."""
    with np.errstate(over="ignore"):
        z = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-52 - 1.0


def weights(shape: tuple[int, ...], seed: int, scale: float = 0.1) -> np.ndarray:
    """Bell-shaped float64 weights (sum of three uniforms)."""
    count = int(np.prod(shape))
    parts = [pseudo_uniform(count, seed + k) for k in range(3)]
    return (scale * sum(parts) / 1.5).reshape(shape)


# --------------------------------------------------------------------------- assembling files by hand

def dumps_v1(tensors: dict[str, Any], **kwargs: Any) -> bytes:
    """The reference writer's file in format 1.0: the vectors made before 2.0 keep their bytes (FORMAT.md 13)."""
    return formats.dumps(tensors, format_major=1, **kwargs)


def split(blob: bytes) -> tuple[dict[str, Any], bytes, int]:
    """(header object, payload section, minor) of a valid file."""
    h, u = struct.unpack_from("<Q", blob, 16)[0], struct.unpack_from("<I", blob, 32)[0]
    raw = zlib.decompress(blob[40:40 + h])
    if len(raw) != u:
        raise ValueError(f"inflated header has {len(raw)} bytes, the preamble says {u}")
    return msgpack.unpackb(raw, raw=False), blob[40 + h:], struct.unpack_from("<H", blob, 10)[0]


def pack(obj: Any) -> bytes:
    """msgpack with sorted keys (canonical enough for hand-made files)."""
    def sort(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: sort(value[k]) for k in sorted(value, key=lambda s: str(s).encode())}
        if isinstance(value, list):
            return [sort(v) for v in value]
        return value
    return msgpack.packb(sort(obj), use_bin_type=True)


def deflate(raw: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 15, 8)
    return compressor.compress(raw) + compressor.flush()


def assemble(raw: bytes, payloads: bytes, *, major: int = 1, minor: int = 0, flags: int = 0,
             stored: bytes | None = None, raw_length: int | None = None, payload_length: int | None = None) -> bytes:
    """A file from an inflated header and a payload section, with correct sizes and CRC unless overridden."""
    stored = deflate(raw) if stored is None else stored
    fields = struct.pack("<HHIQQI", major, minor, flags, len(stored),
                         len(payloads) if payload_length is None else payload_length,
                         len(raw) if raw_length is None else raw_length)
    return MAGIC + fields + struct.pack("<I", zlib.crc32(fields + stored)) \
        + stored + payloads


# --------------------------------------------------------------------------- negative files

def base_file(codec: str = "raw") -> bytes:
    """The valid file every negative vector damages: four tiny tensors of every kind."""
    tensors = {
        "w": formats.quantize_dithered(weights((2, 3), 61), 0.0625, seed=1, name="w"),
        "s": SparseTensor(np.array([0, 0x0102, 0, 0, 0, 0, 0, 0, 0, -2], np.int16)),
        "flag": np.array([True, False, True]),
        "b": np.array([0.5, -1.0], np.float32),
    }
    return dumps_v1(tensors, codec=codec, producer=PRODUCER)


def edit_header(change: Callable[[dict[str, Any]], Any], **preamble: Any) -> bytes:
    header, payloads, _ = split(base_file())
    change(header)
    return assemble(pack(header), payloads, **preamble)


def record(header: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in header["tensors"] if r["name"] == name)


def set_payload(name: str, new: bytes | Callable[[bytes], bytes], codec: int | None = None,
                source: str = "raw", blob: bytes | None = None) -> bytes:
    """Replace one payload (bytes or a function of the old payload); lengths and CRC stay consistent."""
    header, payloads, _ = split(blob or base_file(source))
    parts, offset = [], 0
    for rec in header["tensors"]:
        old = payloads[offset:offset + rec["length"]]
        offset += rec["length"]
        if rec["name"] == name:
            old = new(old) if callable(new) else new
            rec.update(length=len(old), crc32=zlib.crc32(old))
            if codec is not None:
                rec["codec"] = codec
        parts.append(old)
    return assemble(pack(header), b"".join(parts))


def flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ mask]) + data[index + 1:]


def raw_header() -> bytes:
    header, _, _ = split(base_file())
    return pack(header)


def with_raw(raw: bytes, **preamble: Any) -> bytes:
    return assemble(raw, split(base_file())[1], **preamble)


def zstd_frame(data: bytes, content_size: bool = True) -> bytes:
    import zstandard
    return zstandard.ZstdCompressor(level=19, write_content_size=content_size).compress(data)


def lzw_codes(codes: list[int]) -> bytes:
    """Pack LZW codes with the widths of CODECS.md 3.2 (no CLEAR inside)."""
    bits = sum(code << sum(min(16, (257 + k).bit_length()) for k in range(n)) for n, code in enumerate(codes))
    total = sum(min(16, (257 + k).bit_length()) for k in range(len(codes)))
    return bits.to_bytes((total + 7) // 8, "little")


def rans_aab(payload_hex: str, text: bytes = b"aab", codec: str = "rans") -> bytes:
    """The "aab" stream of CODECS.md 4.6 (or another text) as tensor "r", with another payload."""
    blob = dumps_v1({"r": np.frombuffer(text, np.uint8)}, codec=codec, producer=PRODUCER)
    return set_payload("r", bytes.fromhex(payload_hex), blob=blob)


AAB = "01 01 01 61 01 00"  # P, K and table of the "aab" payload of CODECS.md 4.6; its lane fields: 00 00 03 00 04
ABCD = "02 01 01 61 03 00 00 04 00 20 00 e4 e4 e4 e4"  # the "abcd" x 20 payload of 4.6 up to its four words


CTX_SYMBOLS = bytes([4, 4, 4, 4, 6, 4, 4, 4, 3] + [4] * 9)  # the two 3x3 kernels of CODECS.md 6.8
CTX_HEAD = "01 09 04 01"  # mode 1, g = 9, m = 4, K = 1
CTX_COUNTS = "01 02 00 00 01 00 00"  # Pc = 1, counts {0, 2}, f = (1, 1)
CTX_MAGNITUDES = "01 01 01 01 00"  # Pm = 1, magnitudes {1, 2}, f = (1, 1)
CTX_SIGNS = "03 01 02 01 02"  # pattern slack 3, first-sign and flip tables: the one symbol 1
CTX_LANE = "00 00 0a 00 35 03"  # one lane, state 2^10 + 821, no words
CTX_EXAMPLE = f"{CTX_HEAD} {CTX_COUNTS} {CTX_MAGNITUDES} {CTX_SIGNS} {CTX_LANE}"
# N = 10 (groups of 9 and 1): one lane in state 6 decodes the counts 0 (x = 3) and 2 (x = 1); 2 > 1 symbol
CTX_COUNT_OVER = f"{CTX_HEAD} {CTX_COUNTS} {CTX_MAGNITUDES} {CTX_SIGNS} 00 00 02 00 02"


def rans_ctx_example(**parts: str) -> bytes:
    """The payload of CODECS.md 6.8 (tensor "r", codec 8) with some of its parts replaced."""
    fields = {"head": CTX_HEAD, "counts": CTX_COUNTS, "magnitudes": CTX_MAGNITUDES, "signs": CTX_SIGNS,
              "lane": CTX_LANE} | parts
    return rans_aab(" ".join(fields.values()), CTX_SYMBOLS, "rans-ctx")


def rans_zs_example(head: str, flags: str = "01 01 01 10 00 00 00 00 00",
                    residual: str = "01 01 01 62 00 00 00 00 00") -> bytes:
    """The split "aaabaaaa" example of CODECS.md 5.5 with its fields replaced."""
    return rans_aab(f"{head} {flags} {residual}", b"aaabaaaa", "rans-zs")


def bomb() -> bytes:
    header, payloads, _ = split(dumps_v1({"x": np.zeros(1000, np.float32)}, codec="zstd", producer=PRODUCER))
    header["tensors"][0]["shape"] = [1 << 28]
    return assemble(pack(header), payloads)


def too_many_tensors() -> bytes:
    """65537 records, each valid (the base file's four and 65533 empty UINT8 tensors): only max_tensors is broken."""
    empty = {"shape": [0], "dtype": 6, "kind": 0, "codec": 0, "length": 0, "crc32": 0,
             "sha256_64": bytes.fromhex("e3b0c44298fc1c14")}  # sha256_64 of no bytes
    return edit_header(lambda h: h["tensors"].extend({**empty, "name": f"e{i}"} for i in range((1 << 16) + 1 - 4)))


def zstd_skippable(where: str) -> bytes:
    """A zstd skippable frame (RFC 8878 3.1.2) instead of, or before, the data frame of a tensor."""
    skippable = struct.pack("<II", 0x184D2A50, 4) + b"skip"
    blob = dumps_v1({"e": np.zeros(0, np.float32), "b": np.array([0.5, -1.0], np.float32)}, codec="zstd",
                         producer=PRODUCER)
    if where == "alone":
        return set_payload("e", skippable, blob=blob)
    return set_payload("b", lambda old: skippable + old, blob=blob)


def duplicate_key() -> bytes:
    raw = raw_header()  # a fixmap of two keys: producer, tensors
    return with_raw(bytes([raw[0] + 1]) + raw[1:] + pack("producer") + pack({"name": "x", "version": "y"}))


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def preset_dictionary() -> bytes:
    stored = deflate(raw_header())
    flg = 0xC0 | 0x20  # FLEVEL 3, FDICT set, FCHECK below
    flg += (31 - (0x78 * 256 + flg) % 31) % 31
    return with_raw(raw_header(), stored=bytes([0x78, flg]) + b"\x00\x00\x00\x01" + stored[2:])


def invalid_utf8() -> bytes:
    raw = pack({**split(base_file())[0], "metadata": {"note": "@@@@"}})
    return with_raw(raw.replace(b"@@@@", b"\xff\xfe\xff\xfe"))


def sparse_edit(bitmap: bytes, planes: bytes = bytes([0x01, 0xFF, 0x02, 0xFE])) -> bytes:
    return set_payload("s", bitmap + planes)


ValueEdit = Callable[[dict[str, Any]], Any]


def rec_edit(tensor: str, **changes: Any) -> ValueEdit:
    return lambda h: record(h, tensor).update(changes)


# --------------------------------------------------------------------------- version 2.0 (FORMAT.md 4.8)

def base_file_v2() -> bytes:
    """The valid 2.0 file the v2_ vectors damage: a QUANTIZED, a SPARSE, RAW/RAW and RAW/ZSTD records, and
    names whose front coding shares prefixes ("layer.") and backs off from a split character ("é", "ê")."""
    tensors = {
        "layer.w": formats.quantize_dithered(weights((2, 3), 61), 0.0625, seed=1, name="layer.w"),
        "layer.s": SparseTensor(np.array([0, 0x0102, 0, 0, 0, 0, 0, 0, 0, -2], np.int16)),
        "layer.b": np.array([0.5, -1.0], np.float32),
        "layer.z": np.zeros(64, np.float32),
        "\u00e9": np.array([1, -2, 3], np.int8),
        "\u00ea": np.array([4], np.int8),
    }
    return formats.dumps(tensors, codec="raw", codecs={"layer.z": "zstd"}, producer=PRODUCER)


def edit_v2(change: Callable[[dict[str, Any]], Any], **preamble: Any) -> bytes:
    """``base_file_v2`` with ``change(header)`` applied to its 2.0 header map, CRC valid."""
    header, payloads, _ = split(base_file_v2())
    change(header)
    return assemble(pack(header), payloads, major=2, **preamble)


def column(name: str, change: Callable[[Any], Any]) -> ValueEdit:
    """An edit replacing one column of the tensor table by ``change(column)``."""
    return lambda h: h["tensors"].update({name: change(h["tensors"][name])})


def flip_checks(index: int) -> ValueEdit:
    """An edit flipping one bit of byte ``index`` of the checks blob."""
    return lambda h: h.update(checks=flip(h["checks"], index))


def v2_payload_flip(name: str) -> bytes:
    """``base_file_v2`` with the last byte of ``name``'s payload flipped (the header, CRC included, unchanged)."""
    blob = base_file_v2()
    with formats.open_dsz(blob) as reader:
        record_ = reader.record(name)
        start = len(blob) - sum(r.length for r in reader.records) + record_.offset
    return flip(blob, start + record_.length - 1, 0x80)


V2_NEGATIVE: dict[str, tuple[str, str, str, Callable[[], bytes]]] = {
    "v2_checks_short": ("HeaderError", "open", "2.0: checks one byte short", lambda: edit_v2(
        lambda h: h.update(checks=h["checks"][:-1]))),
    "v2_checks_long": ("HeaderError", "open", "2.0: checks 8 bytes longer than its records need", lambda: edit_v2(
        lambda h: h.update(checks=h["checks"] + bytes(8)))),
    "v2_checks_missing": ("HeaderError", "open", "2.0: no checks key", lambda: edit_v2(lambda h: h.pop("checks"))),
    "v2_column_short": ("HeaderError", "open", "2.0: dtype column one entry short",
                        lambda: edit_v2(column("dtype", lambda c: c[:-1]))),
    "v2_quantized_column_long": ("HeaderError", "open", "2.0: zero_symbol has 2 entries for 1 QUANTIZED record",
                                 lambda: edit_v2(column("zero_symbol", lambda c: c + [0]))),
    "v2_nnz_missing": ("HeaderError", "open", "2.0: nnz column missing with one SPARSE record",
                       lambda: edit_v2(lambda h: h["tensors"].pop("nnz"))),
    "v2_length_bytes": ("HeaderError", "open", "2.0: length blob of 8m - 1 bytes",
                        lambda: edit_v2(column("length", lambda c: c[:-1]))),
    "v2_step_bytes": ("HeaderError", "open", "2.0: step blob of 4q + 4 bytes",
                      lambda: edit_v2(column("step", lambda c: c + bytes(4)))),
    "v2_prefix_first": ("HeaderError", "open", "2.0: name_prefix[0] = 1",
                        lambda: edit_v2(column("name_prefix", lambda c: [1] + c[1:]))),
    "v2_prefix_past_previous": ("HeaderError", "open", "2.0: a name_prefix longer than the previous name",
                                lambda: edit_v2(column("name_prefix", lambda c: c[:1] + [8] + c[2:]))),
    "v2_prefix_splits_char": ("HeaderError", "open", "2.0: name_prefix keeps the first byte of \"\u00e9\" (C3 A9)",
                              lambda: edit_v2(lambda h: (h["tensors"]["name_prefix"].__setitem__(-1, 1),
                                                         h["tensors"]["name_suffix"].__setitem__(-1, "\u00aa")))),
    "v2_duplicate_name": ("LayoutError", "open", "2.0: front coding repeats the previous name",
                          lambda: edit_v2(lambda h: (h["tensors"]["name_prefix"].__setitem__(1, 7),
                                                     h["tensors"]["name_suffix"].__setitem__(1, "")))),
    "v2_tensors_array": ("HeaderError", "open", "2.0: tensors is a 1.0 record array",
                         lambda: edit_v2(lambda h: h.update(tensors=[]))),
    "v2_unknown_table_key": ("HeaderError", "open", "2.0: unknown tensor-table key in a minor-0 file",
                             lambda: edit_v2(lambda h: h["tensors"].update(hint=1))),
    "v2_raw_payload_digest": ("ChecksumError", "read:layer.b",
                              "2.0: RAW/RAW payload byte flipped (caught by its sha256_64: it has no CRC-32)",
                              lambda: v2_payload_flip("layer.b")),
    "v2_raw_digest_mismatch": ("ChecksumError", "read:layer.b", "2.0: a bit of a RAW/RAW record's sha256_64 flipped",
                               lambda: edit_v2(flip_checks(24))),
    "v2_digest_mismatch": ("ChecksumError", "read:layer.w", "2.0: a bit of the QUANTIZED record's sha256_64 flipped",
                           lambda: edit_v2(flip_checks(4))),
    "v2_zstd_crc": ("ChecksumError", "read:layer.z", "2.0: ZSTD payload byte flipped, CRC not updated",
                    lambda: v2_payload_flip("layer.z")),
}


NEGATIVE: dict[str, tuple[str, str, str, Callable[[], bytes]]] = {
    # name: (error class, stage "open" or "read:TENSOR", defect, builder)
    "truncated_payload": ("TruncatedError", "open", "last 3 bytes cut", lambda: base_file()[:-3]),
    "truncated_header": ("TruncatedError", "open", "cut inside the stored header", lambda: base_file()[:60]),
    "truncated_preamble": ("TruncatedError", "open", "30 bytes only", lambda: base_file()[:30]),
    "truncated_magic": ("TruncatedError", "open", "first 5 magic bytes only", lambda: base_file()[:5]),
    "crlf_to_lf": ("BadMagicError", "open", "text-mode damage: every CR LF became LF",
                   lambda: base_file().replace(b"\r\n", b"\n")),
    "lf_to_crlf": ("BadMagicError", "open", "text-mode damage: every LF became CR LF",
                   lambda: base_file().replace(b"\n", b"\r\n")),
    "wrong_magic": ("BadMagicError", "open", "a zip file's magic", lambda: b"PK\x03\x04" + base_file()[4:]),
    "newer_major": ("UnsupportedVersionError", "open", "major 3, CRC valid", lambda: edit_header(lambda h: 0, major=3)),
    "flags_set": ("HeaderError", "open", "flags = 1, CRC valid", lambda: edit_header(lambda h: 0, flags=1)),
    "header_bitflip": ("ChecksumError", "open", "one bit of the stored header flipped",
                       lambda: flip(base_file(), 50, 0x10)),
    "raw_length_bitflip": ("ChecksumError", "open", "one bit of U flipped (CRC not updated)",
                           lambda: flip(base_file(), 32, 0x01)),
    "header_bomb": ("LimitError", "open", "U = 2^24 + 1 declared",
                    lambda: with_raw(raw_header(), raw_length=(1 << 24) + 1)),
    "header_empty": ("HeaderError", "open", "H = 0", lambda: with_raw(raw_header(), stored=b"")),
    "raw_length_short": ("HeaderError", "open", "U one less than the inflated size",
                         lambda: with_raw(raw_header(), raw_length=len(raw_header()) - 1)),
    "raw_length_long": ("HeaderError", "open", "U one more than the inflated size",
                        lambda: with_raw(raw_header(), raw_length=len(raw_header()) + 1)),
    "zlib_trailing_bytes": ("HeaderError", "open", "a byte after the zlib stream",
                            lambda: with_raw(raw_header(), stored=deflate(raw_header()) + b"\x00")),
    "zlib_bad_adler": ("HeaderError", "open", "Adler-32 wrong, CRC-32 valid",
                       lambda: with_raw(raw_header(), stored=flip(deflate(raw_header()), -1))),
    "zlib_preset_dictionary": ("HeaderError", "open", "FDICT set", preset_dictionary),
    "zlib_raw_deflate": ("HeaderError", "open", "raw DEFLATE without the zlib wrapper",
                         lambda: with_raw(raw_header(), stored=deflate(raw_header())[2:-4])),
    "msgpack_trailing": ("HeaderError", "open", "a nil after the header map",
                         lambda: with_raw(raw_header() + b"\xc0")),
    "msgpack_not_map": ("HeaderError", "open", "header is an array", lambda: with_raw(pack([1, 2]))),
    "msgpack_ext": ("HeaderError", "open", "ext type in metadata",
                    lambda: edit_header(lambda h: h.update(metadata={"k": msgpack.ExtType(1, b"x")}))),
    "msgpack_never_used_byte": ("HeaderError", "open", "0xC1 as a metadata value",
                                lambda: with_raw(pack({**split(base_file())[0], "metadata": {"k": "@"}})
                                                 .replace(b"\xa1@", b"\xc1"))),
    "msgpack_duplicate_key": ("HeaderError", "open", "the root map repeats producer", duplicate_key),
    "msgpack_int_key": ("HeaderError", "open", "metadata key is an int",
                        lambda: edit_header(lambda h: h.update(metadata={1: "x"}))),
    "msgpack_invalid_utf8": ("HeaderError", "open", "metadata value not UTF-8", invalid_utf8),
    "msgpack_deep_nesting": ("LimitError", "open", "recipe nested 40 deep",
                             lambda: edit_header(lambda h: h.update(recipe={"x": nested(40)}))),
    "msgpack_too_many_objects": ("LimitError", "open", "2^21 + 1 objects: 2^21 - 9 integers in the recipe",
                                 lambda: edit_header(lambda h: h.update(recipe={"x": [0] * (1 << 21)}))),
    "missing_field": ("HeaderError", "open", "record without crc32", lambda: edit_header(
        lambda h: record(h, "b").pop("crc32"))),
    "unknown_field": ("HeaderError", "open", "unknown record key in a minor-0 file", lambda: edit_header(
        rec_edit("b", hint=1))),
    "wrong_type": ("HeaderError", "open", "length is a str", lambda: edit_header(rec_edit("b", length="8"))),
    "recipe_nil": ("HeaderError", "open", "recipe = nil", lambda: edit_header(lambda h: h.update(recipe=None))),
    "metadata_not_str": ("HeaderError", "open", "metadata value is an int",
                         lambda: edit_header(lambda h: h.update(metadata={"k": 1}))),
    "empty_name": ("HeaderError", "open", "name is empty", lambda: edit_header(rec_edit("b", name=""))),
    "crc_out_of_range": ("HeaderError", "open", "crc32 >= 2^32", lambda: edit_header(rec_edit("b", crc32=1 << 32))),
    "digest_short": ("HeaderError", "open", "sha256_64 of 7 bytes",
                     lambda: edit_header(lambda h: record(h, "b").update(sha256_64=record(h, "b")["sha256_64"][:7]))),
    "nnz_over_n": ("HeaderError", "open", "SPARSE nnz 11 > N 10", lambda: edit_header(rec_edit("s", nnz=11))),
    "codebook_and_size": ("HeaderError", "open", "both codebook and codebook_size", lambda: edit_header(
        lambda h: record(h, "w").update(codebook=np.zeros(record(h, "w")["codebook_size"], "<f4").tobytes()))),
    "codebook_neither": ("HeaderError", "open", "neither codebook nor codebook_size",
                         lambda: edit_header(lambda h: record(h, "w").pop("codebook_size"))),
    "codebook_zero_entry": ("HeaderError", "open", "explicit codebook with c[z] = 1.0", lambda: edit_header(
        lambda h: record(h, "w").update(codebook=np.ones(record(h, "w").pop("codebook_size"), "<f4").tobytes()))),
    "zero_symbol_range": ("HeaderError", "open", "zero_symbol = K", lambda: edit_header(
        lambda h: record(h, "w").update(zero_symbol=record(h, "w")["codebook_size"]))),
    "step_not_float32": ("HeaderError", "open", "step 0.1 (not a float32 value)",
                         lambda: edit_header(rec_edit("w", step=0.1))),
    "step_zero": ("HeaderError", "open", "step 0.0", lambda: edit_header(rec_edit("w", step=0.0))),
    "implicit_codebook_overflow": ("HeaderError", "open", "step 2^127: implicit codebook has inf",
                                   lambda: edit_header(rec_edit("w", step=2.0**127))),
    "quantized_not_float32": ("HeaderError", "open", "QUANTIZED record with dtype FLOAT16",
                              lambda: edit_header(rec_edit("w", dtype=2))),
    "unknown_codec": ("UnknownIdError", "open", "codec id 127 (reserved, standard range)",
                      lambda: edit_header(rec_edit("b", codec=127))),
    "unknown_codec_private": ("UnknownIdError", "open", "codec id 200", lambda: edit_header(rec_edit("b", codec=200))),
    "unknown_dtype": ("UnknownIdError", "open", "dtype id 14", lambda: edit_header(rec_edit("b", dtype=14))),
    "unknown_dtype_zero": ("UnknownIdError", "open", "dtype id 0", lambda: edit_header(rec_edit("b", dtype=0))),
    "unknown_kind": ("UnknownIdError", "open", "kind id 3", lambda: edit_header(rec_edit("b", kind=3))),
    "unknown_prng": ("UnknownIdError", "open", "prng id 2",
                     lambda: edit_header(lambda h: record(h, "w")["dither"].update(prng=2))),
    "name_too_long": ("LimitError", "open", "name of 1025 bytes", lambda: edit_header(rec_edit("b", name="n" * 1025))),
    "too_many_dims": ("LimitError", "open", "17 dims", lambda: edit_header(rec_edit("b", shape=[2] + [1] * 16))),
    "absurd_shape": ("LimitError", "open", "shape [2^20, 2^20] > max_elements",
                     lambda: edit_header(rec_edit("b", shape=[1 << 20, 1 << 20]))),
    "decompression_bomb": ("LimitError", "open", "zstd payload of a few bytes declares 2^28 float32", bomb),
    "too_many_tensors": ("LimitError", "open", "65537 records, every one valid (65533 empty tensors added)",
                         too_many_tensors),
    "duplicate_names": ("LayoutError", "open", "two tensors named b", lambda: edit_header(rec_edit("flag", name="b"))),
    "payload_past_end": ("LayoutError", "open", "last length 1 more than the bytes left",
                         lambda: edit_header(lambda h: h["tensors"][-1].update(length=h["tensors"][-1]["length"] + 1))),
    "payload_not_covered": ("LayoutError", "open", "P holds a byte no record claims",
                            lambda: assemble(pack(split(base_file())[0]), split(base_file())[1] + b"\x00")),
    "trailing_bytes": ("LayoutError", "open", "a byte after 40 + H + P", lambda: base_file() + b"\x00"),
    "raw_codec_length": ("LayoutError", "open", "RAW-codec payload of S + 1 bytes (next record shortened)",
                         lambda: edit_header(lambda h: (record(h, "flag").update(length=4),
                                                        record(h, "b").update(length=7)))),
    "payload_crc": ("ChecksumError", "read:b", "payload byte flipped, CRC not updated",
                    lambda: flip(base_file(), -1, 0x80)),
    "digest_mismatch": ("ChecksumError", "read:b", "sha256_64 of other bytes",
                        lambda: edit_header(rec_edit("b", sha256_64=bytes(8)))),
    "sparse_popcount": ("CodecError", "read:s", "3 bitmap bits set (none in the padding), nnz 2",
                        lambda: sparse_edit(b"\x60\x40")),
    "sparse_popcount_low": ("CodecError", "read:s", "1 bitmap bit set, nnz 2", lambda: sparse_edit(b"\x40\x00")),
    "sparse_padding": ("CodecError", "read:s", "a padding bit of the bitmap set", lambda: sparse_edit(b"\x40\x01")),
    "sparse_zero_element": ("CodecError", "read:s", "non-zero-marked element stored as zero bytes",
                            lambda: sparse_edit(b"\x40\x40", bytes([0, 0xFF, 0, 0xFE]))),
    "bool_byte": ("CodecError", "read:flag", "BOOL byte 2", lambda: set_payload("flag", b"\x01\x02\x01")),
    "symbol_out_of_range": ("CodecError", "read:w", "symbol = K",
                            lambda: set_payload("w", lambda old: bytes([old[0], 255]) + old[2:])),
    "zstd_no_content_size": ("CodecError", "read:b", "zstd frame without content size",
                             lambda: set_payload("b", zstd_frame(bytes(8), False), codec=1)),
    "zstd_skippable_alone": ("CodecError", "read:e", "a zstd skippable frame as the payload of an empty tensor",
                             lambda: zstd_skippable("alone")),
    "zstd_skippable_first": ("CodecError", "read:b", "a zstd skippable frame before the data frame",
                             lambda: zstd_skippable("first")),
    "zstd_trailing": ("CodecError", "read:b", "a byte after the zstd frame",
                      lambda: set_payload("b", zstd_frame(bytes(8)) + b"\x00", codec=1)),
    "zstd_short": ("CodecError", "read:b", "zstd frame of S - 1 bytes",
                   lambda: set_payload("b", zstd_frame(bytes(7)), codec=1)),
    "brotli_truncated": ("CodecError", "read:b", "brotli stream cut short",
                         lambda: set_payload("b", lambda old: old[:-2], source="brotli")),
    "bzip2_trailing": ("CodecError", "read:b", "a byte after the bzip2 stream",
                       lambda: set_payload("b", lambda old: old + b"\x00", source="bzip2")),
    "lzma_no_end_marker": ("CodecError", "read:b", "LZMA2 stream without its end marker",
                           lambda: set_payload("b", lambda old: old[:-1], source="lzma")),
    "lzw_code_beyond_table": ("CodecError", "read:b", "LZW code 300 when the table has 258 entries",
                              lambda: set_payload("b", lzw_codes([0, 300, 257]), codec=5)),
    "rans_table_sum": ("CodecError", "read:r", "rANS frequencies 2 + 1 with M = 2",
                       lambda: rans_aab("01 01 01 61 01 01 00 00 00 03 00 04")),
    "rans_final_state": ("CodecError", "read:r", "rANS lane state 16 = 2^4 ends at 2 after three symbols, not 1",
                         lambda: rans_aab("01 01 01 61 01 00 00 00 04 00 00")),
    "rans_unread_words": ("CodecError", "read:r", "a rANS word never read: the state 2^40 stays above L",
                          lambda: rans_aab("01 01 01 61 01 00 01 00 28 00 00 00 00 00 00 00 00 00 00")),
    "rans_nonminimal_varint": ("CodecError", "read:r", "K written as 81 00",
                               lambda: rans_aab("01 81 00 01 61 01 00 00 00 03 00 04")),
    "rans_lanes_over_n": ("CodecError", "read:r", "K = 4 lanes for 3 symbols",
                          lambda: rans_aab("01 04 01 61 01 00 00 00 00 00")),
    "rans_precision_zero": ("CodecError", "read:r", "rANS P = 0 (single-symbol \"aaa\", otherwise valid)",
                            lambda: rans_aab("00 01 01 61 00 00 00 00 00", b"aaa")),
    "rans_cbits_over_32": ("CodecError", "read:r", "rANS cbits = 33 (d_0 = 0 on 33 bits, then m_0)",
                           lambda: rans_aab(f"{AAB} 00 21 03 00 00 00 00 00 08")),
    "rans_emin_over_63": ("CodecError", "read:r", "rANS emin = 64 (64 mantissa bits follow)",
                          lambda: rans_aab(f"{AAB} 00 00 40 00 {'00 ' * 8}")),
    "rans_ebits_over_6": ("CodecError", "read:r", "rANS ebits = 7 (g_0 = 0 on 7 bits, then m_0)",
                          lambda: rans_aab(f"{AAB} 00 00 03 07 00 02")),
    "rans_exponent_over_63": ("CodecError", "read:r", "rANS lane state exponent emin 63 + g_0 1 = 64",
                              lambda: rans_aab(f"{AAB} 00 00 3f 01 01 {'00 ' * 8}")),
    "rans_counts_past_end": ("CodecError", "read:r", "rANS cbits = 8 but the payload ends before the count field",
                             lambda: rans_aab(f"{AAB} 00 08 03 00")),
    "rans_states_past_end": ("CodecError", "read:r", "rANS payload ends before the 3 bits of lane 0's state",
                             lambda: rans_aab(f"{AAB} 00 00 03 00")),
    "rans_field_padding": ("CodecError", "read:r", "rANS lane-field padding bit set (0c, not 04)",
                           lambda: rans_aab(f"{AAB} 00 00 03 00 0c")),
    "rans_words_missing": ("CodecError", "read:r", "rANS lanes own 4 words, 3 follow (the \"abcd\" x 20 example)",
                           lambda: rans_aab(f"{ABCD} {'4e ' * 12}", b"abcd" * 20)),
    "rans_words_extra": ("CodecError", "read:r", "rANS lanes own 4 words, 5 follow (the \"abcd\" x 20 example)",
                         lambda: rans_aab(f"{ABCD} {'4e ' * 16} 00 00 00 00", b"abcd" * 20)),
    "rans_single_symbol_state": ("CodecError", "read:r", "rANS single-symbol stream with lane state 2",
                                 lambda: rans_aab("01 01 01 61 00 00 00 01 00 00", b"aaa")),
    "rans_single_symbol_words": ("CodecError", "read:r", "rANS single-symbol stream, state 1, with one word",
                                 lambda: rans_aab("01 01 01 61 00 01 00 00 00 00 00 00 00", b"aaa")),
    "rans_zs_mode": ("CodecError", "read:r", "rANS-ZS mode 2", lambda: rans_zs_example("02 61 01 09")),
    "rans_zs_flag_count": ("CodecError", "read:r", "rANS-ZS R = 2 but one flag bit set",
                           lambda: rans_zs_example("01 61 02 09")),
    "rans_zs_residual_is_m": ("CodecError", "read:r", "rANS-ZS residual symbol equals m",
                              lambda: rans_zs_example("01 61 01 09", residual="01 01 01 61 00 00 00 00 00")),
    "rans_zs_no_residual": ("CodecError", "read:r", "rANS-ZS F leaves no residual payload",
                            lambda: rans_zs_example("01 61 01 12")),
    "rans_ctx_mode": ("CodecError", "read:r", "rANS-CTX mode 2", lambda: rans_ctx_example(head="02 09 04 01")),
    "rans_ctx_group_zero": ("CodecError", "read:r", "rANS-CTX group length 0",
                            lambda: rans_ctx_example(head="01 00 04 01")),
    "rans_ctx_group_over_16": ("CodecError", "read:r", "rANS-CTX group length 17 (N = 18)",
                               lambda: rans_ctx_example(head="01 11 04 01")),
    "rans_ctx_lanes_over_groups": ("CodecError", "read:r", "rANS-CTX K = 3 lanes for G = 2 groups",
                                   lambda: rans_ctx_example(head="01 09 04 03")),
    "rans_ctx_precision_zero": ("CodecError", "read:r", "rANS-CTX count table precision 0",
                                lambda: rans_ctx_example(counts="00 02 00 00 01 00 00")),
    "rans_ctx_count_symbol": ("CodecError", "read:r", "rANS-CTX count table holds 10 (g = 9)",
                              lambda: rans_ctx_example(counts="01 02 00 00 09 00 00")),
    "rans_ctx_magnitude_zero": ("CodecError", "read:r", "rANS-CTX magnitude table holds 0",
                                lambda: rans_ctx_example(magnitudes="01 01 00 01 00")),
    "rans_ctx_pattern_slack": ("CodecError", "read:r", "rANS-CTX pattern slack 17 (at most 16)",
                               lambda: rans_ctx_example(signs="11 01 02 01 02")),
    "rans_ctx_sign_frequency": ("CodecError", "read:r", "rANS-CTX first-sign frequency 3 > 2^1",
                                lambda: rans_ctx_example(signs="03 01 03 01 02")),
    "rans_ctx_count_over_length": ("CodecError", "read:r", "rANS-CTX count 2 decoded for a last group of 1 symbol",
                                   lambda: rans_aab(CTX_COUNT_OVER, CTX_SYMBOLS[:10], "rans-ctx")),
    "rans_ctx_final_state": ("CodecError", "read:r", "rANS-CTX lane state 1844: counts 0, 0 end in 461, not 1",
                             lambda: rans_ctx_example(lane="00 00 0a 00 34 03")),
    "rans_ctx_symbol_range": ("CodecError", "read:r", "rANS-CTX m = 0: the flipped non-zero is 0 - 1",
                              lambda: rans_ctx_example(head="01 09 00 01")),
    "rans_ctx_words_extra": ("CodecError", "read:r", "rANS-CTX 4 bytes after the lane's (no) words",
                             lambda: rans_ctx_example(lane=f"{CTX_LANE} 00 00 00 00")),
    "rans_ctx_truncated": ("CodecError", "read:r", "rANS-CTX payload cut inside the magnitude table",
                           lambda: rans_aab(f"{CTX_HEAD} {CTX_COUNTS} 01 01 01", CTX_SYMBOLS, "rans-ctx")),
    "lzw_no_end": ("CodecError", "read:b", "LZW stream without END",
                   lambda: set_payload("b", lzw_codes([0] * 8), codec=5)),
}
NEGATIVE |= V2_NEGATIVE
