"""Build and check the `.dsz` vectors of spec/vectors/ (deterministically).

Golden files (valid ones, with a .json of what they decode to) are written here by the reference writer
(`formats`); the negative files come from the sibling spec/negative_vectors.py, which also holds the
hand-assembly helpers and test values both share.  Nothing is written unless ``GENERATE_EXPECTED=1``
is set; otherwise the script compares a fresh build with the committed files and exits 1 on any
difference (the tests do the same).

Usage:
    GENERATE_EXPECTED=1 python spec/generate_vectors.py     # rewrite spec/vectors/
    python spec/generate_vectors.py                         # check the committed files
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import os
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import formats
from formats import CodecId, Dither, DType, PrngId, QuantizedTensor, SparseTensor

VECTORS = Path(__file__).resolve().parent / "vectors"
LITERAL_MAX = 16  # tensors with at most this many elements carry their values in the .json
CODECS = ("raw", "zstd", "brotli", "bzip2", "lzma", "lzw", "rans", "rans-zs", "rans-ctx")


def load_sibling(name: str) -> ModuleType:
    """Import spec/NAME.py once as ``spec_NAME``: spec/ is no package, and tests/spec loads it the same way."""
    key = f"spec_{name}"
    if key not in sys.modules:
        found = importlib.util.spec_from_file_location(key, Path(__file__).resolve().with_name(f"{name}.py"))
        if found is None or found.loader is None:
            raise ImportError(f"cannot load {name}.py beside {__file__}")
        sys.modules[key] = importlib.util.module_from_spec(found)
        found.loader.exec_module(sys.modules[key])
    return sys.modules[key]


negative = load_sibling("negative_vectors")
PRODUCER, pseudo_uniform, weights = negative.PRODUCER, negative.pseudo_uniform, negative.weights
split, pack, assemble, set_payload = negative.split, negative.pack, negative.assemble, negative.set_payload
dumps_v1 = negative.dumps_v1  # the vectors made before 2.0 stay 1.0 files


def sparse_values(shape: tuple[int, ...], seed: int, density: float, dtype: str) -> np.ndarray:
    keep = pseudo_uniform(int(np.prod(shape)), seed + 100) < 2 * density - 1
    return np.where(keep.reshape(shape), weights(shape, seed, 4.0), 0).astype(dtype)


# --------------------------------------------------------------------------- golden files

def codec_tensors() -> dict[str, Any]:
    """The same nine tensors for every codec file."""
    w8, w16 = weights((4, 3, 3, 3), 11), pseudo_uniform(600, 12).reshape(20, 30)
    wide = weights((96, 96), 14)  # 9216 symbols: rANS uses K = 9 lanes (ceil(9216 / 1024)), rANS-ZS 36
    return {
        "raw_f32": weights((3, 5), 10).astype(np.float32),
        "q_u8": formats.quantize_dithered(w8, formats.step_for_bits(w8, 4), seed=7, name="q_u8"),
        "q_u16": formats.quantize_dithered(w16, 2.0**-8, seed=7, name="q_u16"),
        "sparse_f32": SparseTensor(sparse_values((6, 10), 13, 0.2, "float32")),
        "scalar_i32": np.array(-123456, np.int32),
        "empty_f32": np.zeros((0, 4), np.float32),
        "empty_q": formats.quantize_dithered(np.zeros((2, 0)), 0.5, seed=7, name="empty_q"),
        "q_lanes": formats.quantize_dithered(wide, formats.step_for_bits(wide, 3), seed=7, name="q_lanes"),
        "q_sparse": formats.quantize_dithered(wide[:40], 0.25, seed=7, name="q_sparse"),  # mostly zero symbols
    }


def golden_raw_dtypes() -> bytes:
    tensors = {
        "float16": np.array([0.5, -2.0, 65504.0, 6e-08, -0.0], np.float16),
        "bfloat16": np.array([0x3F80, 0xC000, 0x7F7F, 0x0001, 0x8000], np.uint16),
        "float64": np.array([[1.0 / 3.0, -1e300], [5e-324, 2.0]]),
        "int8": np.array([-128, -1, 0, 127], np.int8),
        "uint8": np.array([0, 1, 254, 255], np.uint8),
        "int16": np.array([-32768, 258, 32767], np.int16),
        "uint16": np.array([0, 258, 65535], np.uint16),
        "int32": np.array([-(2**31), 16909060, 2**31 - 1], np.int32),
        "uint32": np.array([0, 16909060, 2**32 - 1], np.uint32),
        "int64": np.array([-(2**63), 72623859790382856, 2**63 - 1], np.int64),
        "uint64": np.array([0, 72623859790382856, 2**64 - 1], np.uint64),
        "bool": np.array([[True, False, True]]),
        "scalar_f64": np.array(-2.5),
        "empty_u8": np.zeros((3, 0, 2), np.uint8),
    }
    return dumps_v1(tensors, codec="raw", dtypes={"bfloat16": DType.BFLOAT16}, producer=PRODUCER)


def golden_sparse_dtypes() -> bytes:
    tensors = {
        "spec_example_i16": SparseTensor(np.array([0, 0x0102, 0, 0, 0, 0, 0, 0, 0, -2], np.int16)),
        "neg_zero_f32": SparseTensor(np.array([0.0, -0.0, 1.5, 0.0], np.float32)),
        "f64": SparseTensor(sparse_values((5, 7), 21, 0.3, "float64")),
        "u8_dense": SparseTensor(np.arange(1, 10, dtype=np.uint8)),
        "i64": SparseTensor(np.array([0, -1, 0, 2**40], np.int64)),
        "bool": SparseTensor(np.array([False, True, False, False, False, False, False, False, True])),
        "all_zero_f16": SparseTensor(np.zeros((2, 3), np.float16)),
        "scalar_i32": SparseTensor(np.array(7, np.int32)),
        "empty_f32": SparseTensor(np.zeros((0,), np.float32)),
        "bfloat16": SparseTensor(np.array([0, 0x3F80, 0, 0xBF00], np.uint16)),
    }
    return dumps_v1(tensors, codec="zstd", dtypes={"bfloat16": DType.BFLOAT16}, producer=PRODUCER)


def golden_quantized() -> bytes:
    w = weights((6, 8), 31)
    implicit = formats.quantize_dithered(w, formats.step_for_bits(w, 3), seed=99, name="implicit_uniform")
    tuned = formats.quantize_dithered(w, formats.step_for_bits(w, 3), seed=99, name="explicit_finetuned")
    codebook = tuned.codebook.copy()
    codebook[codebook != 0] *= np.float32(1.0625)  # a "fine-tuned" codebook: not the uniform one
    tensors = {
        "implicit_uniform": implicit,
        "explicit_finetuned": QuantizedTensor(tuned.symbols, codebook, tuned.zero_symbol, tuned.step, tuned.dither),
        "dither_none": formats.quantize_dithered(w, 0.03125, seed=0, name="dither_none", prng=PrngId.NONE),
        "custom_stream": formats.quantize_dithered(w[:2], 0.03125, seed=5, stream=12345, name="custom_stream"),
        "scalar_q": formats.quantize_dithered(np.array(0.3), 0.125, seed=3, name="scalar_q"),
        "tiny_k1": QuantizedTensor(np.zeros(4, np.uint8), np.zeros(1, np.float32), 0, 0.5,
                                   Dither(PrngId.SPLITMIX64, 1, 0)),
    }
    return dumps_v1(tensors, codec="zstd", producer=PRODUCER)


def golden_winograd_model() -> bytes:
    conv = weights((4, 2, 3, 3), 41, 0.2)
    tensors = {
        "conv1.weight": formats.quantize_dithered(conv, formats.step_for_bits(conv, 4), seed=2024,
                                                  name="conv1.weight"),
        "conv1.bias": np.array([0.25, -0.125, 0.0, 1.0], np.float32),
        "fc.weight": SparseTensor(sparse_values((3, 8), 42, 0.25, "float32")),
    }
    recipe = {"method": "jointly-sparse", "quantize": {"bits": 4, "seed": 2024}, "winograd": [2, 4],
              "lr": 0.001, "prune": None, "done": True, "tag": b"\x00\x01"}
    metadata = {"model": "tiny-cnn", "dataset": "none", "note": "golden vector, not a trained model"}
    return dumps_v1(tensors, codec="brotli", metadata=metadata, recipe=recipe,
                         attrs={"conv1.weight": {"winograd": {"m": 4, "r": 3}}}, producer=PRODUCER)


def golden_newer_minor() -> bytes:
    """Minor 1 (newer than 1.0) with unknown keys everywhere: a 1.0 reader MUST ignore them."""
    header, payloads, _ = split(dumps_v1(
        {"w": formats.quantize_dithered(weights((5,), 51), 0.0625, seed=1, name="w"),
         "b": np.array([1, 2], np.int8)}, codec="raw", producer=PRODUCER))
    header["future"] = {"x": 1}
    header["producer"]["build"] = "nightly"
    header["tensors"][0]["hint"] = [1, 2, 3]
    header["tensors"][0]["dither"]["variant"] = 0
    header["tensors"][1]["ext"] = {"note": "ignored"}
    return assemble(pack(header), payloads, minor=1)


def golden_rans_zs_split() -> bytes:
    """Codec 7 in split mode: streams of 2^16 symbols always split; plus CODECS.md 5.5's hand-made payload."""
    count = 1 << 16
    sparse = weights((256, 256), 71)
    rare = pseudo_uniform(count, 72) > 0.9  # about 5 % non-zero symbols
    wide = np.where(rare, (pseudo_uniform(count, 73) * 149 + 150).astype(np.int64), 150).reshape(256, 256)
    tensors = {
        "split_u8": formats.quantize_dithered(sparse, 0.375, seed=3, name="split_u8"),
        "split_u16": QuantizedTensor(wide.astype(np.uint16), (np.arange(300) - 150).astype(np.float32) / 64, 150,
                                     1 / 64, Dither(PrngId.SPLITMIX64, 3, 0)),
        "example": np.frombuffer(b"aaabaaaa", np.uint8),
    }
    blob = dumps_v1(tensors, codec="rans-zs", producer=PRODUCER)
    return set_payload("example", bytes.fromhex("01 61 01 09 01 01 01 10 00 00 00 00 00 01 01 01 62 00 00 00 00 00"),
                       blob=blob)


def golden_rans_ctx_groups() -> bytes:
    """Codec 8 in context mode: pruned 3x3 kernels (u8, several lanes with words), a u16 stream, a stream whose
    last group is short; plus the hand-made payload of CODECS.md 6.8."""
    conv = weights((32, 16, 3, 3), 81)
    conv = np.where(pseudo_uniform(32 * 16, 82).reshape(32, 16, 1, 1) > 0.3, conv, 0.0)  # whole kernels pruned
    count = 9 * 16 * 20
    dense_kernel = np.repeat(pseudo_uniform(count // 9, 84) > 0.0, 9) & (pseudo_uniform(count, 86) > 0.3)
    levels = (pseudo_uniform(count, 85) * 149 + 150).astype(np.int64)
    wide = np.where((pseudo_uniform(count, 83) > 0.8) | dense_kernel, levels, 150).reshape(20, 16, 3, 3)
    active = np.repeat(pseudo_uniform(126, 91) > 0.4, 8)[:1003]  # runs of 8: groups of 8, the last one of 3
    tail = np.where(active & (pseudo_uniform(1003, 92) > -0.4), (pseudo_uniform(1003, 93) * 6).round(), 0) + 8
    tensors = {
        "conv3x3": formats.quantize_dithered(conv, 0.05, seed=5, name="conv3x3"),
        "conv_u16": QuantizedTensor(wide.astype(np.uint16), (np.arange(300) - 150).astype(np.float32) / 64, 150,
                                    1 / 64, Dither(PrngId.SPLITMIX64, 5, 0)),
        "short_last_group": tail.astype(np.uint8),
        "example": np.frombuffer(negative.CTX_SYMBOLS, np.uint8),
    }
    blob = dumps_v1(tensors, codec="rans-ctx", producer=PRODUCER)
    return set_payload("example", bytes.fromhex(negative.CTX_EXAMPLE), blob=blob)


def lzw_stream(codes: list[int]) -> bytes:
    """Pack LZW codes with the widths of CODECS.md 3.2, ``n`` restarting after each CLEAR (256)."""
    value, bit, n = 0, 0, 0
    for code in codes:
        width = min(16, (257 + n).bit_length())
        value, bit, n = value | code << bit, bit + width, 0 if code == 256 else n + 1
    return value.to_bytes((bit + 7) // 8, "little")


def golden_lzw_segments() -> bytes:
    """LZW streams the reference encoder never writes but readers MUST accept (CODECS.md 3.4)."""
    streams = {
        "clear_first": (b"ab", [256, 97, 98, 257]),
        "clear_twice": (b"abab", [97, 98, 256, 256, 97, 98, 257]),
        "clear_then_end": (b"abb", [97, 98, 98, 256, 257]),
        "clear_in_empty": (b"", [256, 257]),
        "repeat_after_clear": (b"aaaaaa", [97, 258, 256, 97, 258, 257]),
    }
    blob = dumps_v1({name: np.frombuffer(text, np.uint8) for name, (text, _) in streams.items()}, codec="lzw",
                         producer=PRODUCER)
    for name, (_, codes) in streams.items():
        blob = set_payload(name, lzw_stream(codes), blob=blob)
    return blob


def golden_winograd_domain() -> bytes:
    """Winograd-marked tensors of every output dtype of WINOGRAD.md 4.1, two with equal transforms (ties)."""
    conv = weights((4, 2, 3, 3), 101, 0.2)
    bf16 = (weights((2, 1, 3, 3), 104, 0.3).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    five = np.where(pseudo_uniform(50, 106).reshape(2, 1, 5, 5) > -0.2, weights((2, 1, 5, 5), 105, 0.1), 0.0)
    twin = weights((1, 1, 3, 3), 107, 0.2).astype(np.float32)
    tensors = {
        "conv_q": formats.quantize_dithered(conv, formats.step_for_bits(conv, 4), seed=9, name="conv_q"),
        "bias": np.array([0.25, -0.5, 0.0, 0.125], np.float32),
        "conv_f16": weights((2, 2, 3, 3), 102, 0.3).astype(np.float16),
        "conv_bf16": bf16,
        "conv_i8": (weights((1, 2, 3, 3), 103, 60.0)).round().astype(np.int8),
        "conv_5x5": SparseTensor(five),
        "tie_a": twin,
        "tie_b": twin.copy(),
    }
    attrs = {name: {"winograd": {"m": 2, "r": 3}} for name in ("conv_q", "conv_i8", "tie_a", "tie_b")}
    attrs |= {"conv_f16": {"winograd": {"m": 4, "r": 3}}, "conv_bf16": {"winograd": {"m": 2}},
              "conv_5x5": {"winograd": {"m": 2, "r": 5}}}
    return dumps_v1(tensors, codec="zstd", dtypes={"conv_bf16": DType.BFLOAT16}, attrs=attrs,
                         producer=PRODUCER)


def tie_sparsity(blob: bytes) -> float:
    """A sparsity whose threshold falls inside a group of equal magnitudes shared by tie_a and tie_b."""
    out = formats.load(blob, domain="winograd", sparsity=0.0)
    with formats.open_dsz(blob) as reader:
        names = [r.name for r in reader.records if "winograd" in r.attrs]
    mags = np.concatenate([np.abs(out[n]).astype(np.float64).ravel() for n in names])
    a = np.abs(out["tie_a"]).astype(np.float64).ravel()
    value = min(v for v in a if v > 0 and np.count_nonzero(a == v) == 1)  # once in tie_a, so twice in all
    k = int(np.count_nonzero(mags < value)) + 1  # prune tie_a's copy, keep tie_b's
    sparsity = (k + 0.5) / mags.size
    if int(np.count_nonzero(mags == value)) != 2 or math.floor(sparsity * mags.size) != k:
        raise AssertionError("tie_sparsity: the tie is not where it was designed to be")
    return sparsity


def winograd_sparsities(name: str, blob: bytes) -> list[float]:
    """The Winograd-domain sparsities whose outputs a golden file's .json pins (none for unmarked files)."""
    if name == "winograd_model":
        return [0.0, 0.6]
    if name == "winograd_domain":
        return [0.0, 0.5, tie_sparsity(blob), 0.9]
    return []


def golden_v2_mixed() -> bytes:
    """Format 2.0 (FORMAT.md 4.8) with every column: QUANTIZED (implicit and explicit codebooks, dither NONE,
    a stored stream), SPARSE, RAW/RAW (sha256_64 only, no length), RAW with codecs that store a length,
    attrs on one record, front-coded names (shared prefixes, a split character backed off), 0-d and empty."""
    w = weights((4, 6), 71)
    tuned = formats.quantize_dithered(w, formats.step_for_bits(w, 3), seed=5, name="enc.0.tuned")
    codebook = tuned.codebook.copy()
    codebook[0] = np.float32(codebook[0] * 1.125)
    tensors = {
        "enc.0.weight": formats.quantize_dithered(w, formats.step_for_bits(w, 4), seed=5, name="enc.0.weight"),
        "enc.0.bias": np.array([0.25, -0.5, 1.0, 2.0], np.float32),
        "enc.0.tuned": QuantizedTensor(tuned.symbols, codebook, tuned.zero_symbol, tuned.step, tuned.dither),
        "enc.0.bn.running_mean": weights((16,), 72),
        "enc.0.bn.running_var": np.abs(weights((16,), 73)).astype(np.float32),
        "enc.1.mask": SparseTensor(np.array([0, 0, 3, 0, 0, 0, -7, 0, 0], np.int16)),
        "enc.1.none": formats.quantize_dithered(w[:2], 0.125, seed=0, name="enc.1.none", prng=PrngId.NONE),
        "enc.1.stream": formats.quantize_dithered(w[:1], 0.0625, seed=9, stream=77, name="enc.1.stream"),
        "\u00e9t\u00e9": np.array(-3, np.int32),
        "\u00eat\u00e9": np.zeros((0, 3), np.float16),
    }
    codecs = {"enc.0.bn.running_mean": "zstd", "enc.0.bn.running_var": "brotli", "enc.0.tuned": "rans",
              "enc.1.none": "lzma"}
    return formats.dumps(tensors, codec="raw", codecs=codecs, producer=PRODUCER, metadata={"model": "v2"},
                         recipe={"bits": 4}, attrs={"enc.0.weight": {"layout": "oi"}})


def golden_v2_raw() -> bytes:
    """Format 2.0 with RAW/RAW records only: no QUANTIZED or SPARSE columns, an empty length blob,
    8 check bytes (sha256_64 of the payload, no CRC-32) a record."""
    tensors = {
        "a": np.array([1.5, -0.0, 3.0], np.float32),
        "ab": np.array([[1, 2], [3, 4]], np.uint16),
        "abc": np.array([True, False]),
        "b": np.array(2**40, np.int64),
    }
    return formats.dumps(tensors, codec="raw", producer=PRODUCER)


def golden_builders() -> dict[str, Callable[[], bytes]]:
    builders: dict[str, Callable[[], bytes]] = {
        f"codec_{name.replace('-', '_')}": (lambda n=name: dumps_v1(codec_tensors(), codec=n, producer=PRODUCER))
        for name in CODECS
    }
    builders |= {"raw_dtypes": golden_raw_dtypes, "sparse_dtypes": golden_sparse_dtypes,
                 "quantized": golden_quantized, "winograd_model": golden_winograd_model,
                 "newer_minor": golden_newer_minor, "rans_zs_split": golden_rans_zs_split,
                 "rans_ctx_groups": golden_rans_ctx_groups, "lzw_segments": golden_lzw_segments,
                 "winograd_domain": golden_winograd_domain, "v2_mixed": golden_v2_mixed, "v2_raw": golden_v2_raw}
    return builders


def winograd_expectation(blob: bytes, sparsity: float) -> dict[str, Any]:
    """What ``formats.load(domain="winograd", sparsity=...)`` returns: every tensor's dtype, SHA-256 and values."""
    out = formats.load(blob, domain="winograd", sparsity=sparsity)
    rows = []
    for name, array in out.items():
        little = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"))
        rows.append({"name": name, "shape": list(array.shape), "dtype": array.dtype.name,
                     "sha256": hashlib.sha256(little.tobytes()).hexdigest(),
                     "zeros": int(np.count_nonzero(array == 0)), "values": array.tolist()})
    return {"sparsity": sparsity, "tensors": rows}


def expectation(blob: bytes, sparsities: list[float] | None = None) -> dict[str, Any]:
    """The .json of a golden file, from formats' decode (tests cross-check the reference decoder)."""
    with formats.open_dsz(blob) as reader:
        rows = []
        for record in reader.records:
            array = reader.read(record.name)
            kind = formats.TensorKind(record.kind)
            row = {
                "name": record.name, "shape": list(record.shape),
                "dtype": "FLOAT32" if kind == formats.TensorKind.QUANTIZED else DType(record.dtype).name,
                "kind": kind.name, "codec": CodecId(record.codec).name,
                "sha256": hashlib.sha256(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"))
                                         .tobytes()).hexdigest(),
            }
            if array.size <= LITERAL_MAX:
                row["values"] = array.tolist()
            rows.append(row)
        stored_header = blob[40:40 + struct.unpack_from("<Q", blob, 16)[0]]
        extra = {"winograd": [winograd_expectation(blob, s) for s in sparsities]} if sparsities else {}
        return extra | {
            "file_sha256": hashlib.sha256(blob).hexdigest(),
            "inflated_header_sha256": hashlib.sha256(zlib.decompress(stored_header)).hexdigest(),
            "zlib_runtime_version": zlib.ZLIB_RUNTIME_VERSION,
            "metadata": reader.metadata, "tensors": rows,
        }


# --------------------------------------------------------------------------- build, write, check

def build() -> dict[str, bytes]:
    """Every file of spec/vectors/, by relative path."""
    files: dict[str, bytes] = {}
    for name, builder in golden_builders().items():
        blob = builder()
        files[f"golden/{name}.dsz"] = blob
        files[f"golden/{name}.json"] = dump_json(expectation(blob, winograd_sparsities(name, blob)))
    expected = {"zlib_runtime_version": zlib.ZLIB_RUNTIME_VERSION, "vectors": {}}
    for name, (error, stage, defect, builder) in negative.NEGATIVE.items():
        files[f"negative/{name}.dsz"] = builder()
        expected["vectors"][name] = {"error": error, "stage": stage, "defect": defect}
    files["negative/expected.json"] = dump_json(expected)
    return files


def dump_json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()


def differences(fresh: dict[str, bytes], root: Path = VECTORS) -> list[str]:
    """Paths whose committed content differs from ``fresh`` (stored zlib bytes only compared on the same zlib)."""
    committed = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
                 and p.suffix in (".dsz", ".json")}
    same_zlib = json.loads(committed.get("negative/expected.json", b"{}")).get(
        "zlib_runtime_version") == zlib.ZLIB_RUNTIME_VERSION
    found = sorted(set(committed) ^ set(fresh))
    for path in sorted(set(committed) & set(fresh)):
        old, new = committed[path], fresh[path]
        if same_zlib or old == new:
            found += [path] if old != new else []
        elif path.startswith("golden/") and path.endswith(".dsz"):
            found += [path] if not same_content(old, new) else []
        elif path.endswith(".json"):  # negative .dsz files embed deflate output and are not compared
            drop = ("file_sha256", "zlib_runtime_version")
            old_j, new_j = ({k: v for k, v in json.loads(b).items() if k not in drop} for b in (old, new))
            found += [path] if old_j != new_j else []
    return sorted(found)


def same_content(a: bytes, b: bytes) -> bool:
    """Equal files up to the deflate implementation: same preamble fields, inflated header and payloads."""
    def parts(blob: bytes) -> tuple[bytes, ...]:
        h = struct.unpack_from("<Q", blob, 16)[0]
        return blob[8:16], blob[24:36], zlib.decompress(blob[40:40 + h]), blob[40 + h:]
    return parts(a) == parts(b)


def main() -> int:
    fresh = build()
    if os.environ.get("GENERATE_EXPECTED") == "1":
        for sub in ("golden", "negative"):
            for old in (VECTORS / sub).glob("*"):
                old.unlink()
        for path, blob in fresh.items():
            (VECTORS / path).parent.mkdir(parents=True, exist_ok=True)
            (VECTORS / path).write_bytes(blob)
        total = sum(len(b) for b in fresh.values())
        sys.stdout.write(f"wrote {len(fresh)} files, {total} bytes, under {VECTORS}\n")
        return 0
    diff = differences(fresh)
    for path in diff:
        sys.stdout.write(f"differs: {path}\n")
    sys.stdout.write("set GENERATE_EXPECTED=1 to regenerate\n" if diff else "vectors up to date\n")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
