"""The reference decoder is independent of formats/, follows the spec's worked examples, and has a usable CLI."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from spec_vectors import NEGATIVE, SPEC, VECTORS

ALLOWED_THIRD_PARTY = {"numpy", "zstandard", "brotli"}


def test_imports_only_the_standard_library_numpy_zstandard_and_brotli() -> None:
    tree = ast.parse((SPEC / "reference_decoder.py").read_text())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            modules.add((node.module or "").split(".")[0])
    assert not modules & {"formats", "compress", "msgpack", "torch"}
    assert modules - ALLOWED_THIRD_PARTY <= set(sys.stdlib_module_names), modules
    assert "__import__" not in (SPEC / "reference_decoder.py").read_text()


def _hexdump(section: str, first: str) -> bytes:
    """The bytes of the first hex dump in FORMAT.md whose first line starts with ``first``."""
    text = (SPEC / "FORMAT.md").read_text()
    block = text[text.index(section):]
    block = block[block.index("```\n" + first):]
    block = block[4:block.index("```", 4)]
    data = bytearray()
    for line in block.splitlines():
        fields = line.split("   ")[0].split()
        data += bytes(int(f, 16) for f in fields[1:])
    return bytes(data)


def test_format_md_example_file_decodes(reference) -> None:
    blob = _hexdump("## 15. Example file", "0000  89 44")
    assert len(blob) == 175
    assert reference.decode_bytes(blob)["x"].tolist() == [1, -2, 3]


def test_format_md_dither_table(reference) -> None:
    text = (SPEC / "FORMAT.md").read_text()
    rows = re.findall(r"\| \d \| `0x[0-9A-F]+` +\| \d+ +\| [0-9.]+ +\| `0x([0-9A-F]{8})`", text)
    assert len(rows) == 4
    got = reference.dither(1, seed=1, stream=0, step=1.0, count=4)
    assert [f"{b:08X}" for b in got.view(np.uint32)] == rows
    small = reference.dither(1, seed=1, stream=0, step=float(np.float32(0.1)), count=4)
    assert [f"{b:08X}" for b in small.view(np.uint32)] == ["BCC7FA97", "BD289F60", "BCABA04D", "3BD9325A"]
    assert reference.stream_for_name("conv1.weight") == 0x28ECF165EEB1ACF7


def test_codecs_md_worked_examples(reference) -> None:
    assert reference.decode_payload(5, bytes.fromhex("61c40404"), 2, 1) == b"ab"
    assert reference.decode_payload(5, bytes.fromhex("0101"), 0, 1) == b""
    assert reference.decode_payload(6, bytes.fromhex("0101016101000000030004"), 3, 1) == b"aab"
    assert reference.decode_payload(6, bytes.fromhex("010101050000000000"), 20, 1) == b"\x05" * 20
    abcd = bytes.fromhex("0201016103000004002000e4e4e4e4" + "4e4e4e4e" * 4)  # CODECS.md 4.6: one lane, 4 words
    assert reference.decode_payload(6, abcd, 80, 1) == b"abcd" * 20
    split = bytes.fromhex("01 61 01 09" "01 01 01 10 00 00 00 00 00" "01 01 01 62 00 00 00 00 00")  # CODECS.md 5.5
    assert reference.decode_payload(7, split, 8, 1) == b"aaabaaaa"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SPEC / "reference_decoder.py"), *args], capture_output=True,
                          text=True, timeout=60)


def test_cli_prints_every_tensor_and_its_sha256() -> None:
    result = _cli(str(VECTORS / "golden" / "winograd_model.dsz"), "--json")
    assert result.returncode == 0, result.stderr
    expected = json.loads((VECTORS / "golden" / "winograd_model.json").read_text())["tensors"]
    rows = json.loads(result.stdout)["tensors"]
    assert [(r["name"], r["shape"], r["dtype"], r["sha256"]) for r in rows] == [
        (t["name"], t["shape"], t["dtype"], t["sha256"]) for t in expected]
    plain = _cli(str(VECTORS / "golden" / "winograd_model.dsz"))
    assert plain.returncode == 0 and len(plain.stdout.splitlines()) == len(expected)


def test_cli_rejects_with_exit_1_and_one_line() -> None:
    name = next(n for n, e in NEGATIVE.items() if e["error"] == "CodecError")
    result = _cli(str(VECTORS / "negative" / f"{name}.dsz"))
    assert result.returncode == 1 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "CodecError" in result.stderr
    missing = _cli(str(VECTORS / "no-such-file.dsz"))
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("attr", "error"), [
    ({"m": 2, "r": 3}, None), ({"m": 2}, None), ({"m": 14, "r": 3}, None),
    ({"m": 15, "r": 3}, "LimitError"), ({"m": 0, "r": 3}, "HeaderError"), ({"m": True, "r": 3}, "HeaderError"),
    ({"m": 2.0, "r": 3}, "HeaderError"), ({"m": 2, "r": 5}, "HeaderError"), ({"r": 3}, "HeaderError"),
    ({"m": 2, "r": 3, "x": 1}, "HeaderError"), ([2, 3], "HeaderError"),
], ids=str)
def test_both_decoders_apply_the_same_winograd_attribute_rules(reference, attr: object, error: str | None) -> None:
    """FORMAT.md 4.7 and WINOGRAD.md 1: malformed -> HeaderError, tile n > 16 -> LimitError."""
    import formats
    import formats.errors

    blob = formats.dumps({"c": np.ones((2, 1, 3, 3), np.float32)}, attrs={"c": {"winograd": attr}})
    if error is None:
        ours, theirs = reference.decode_winograd(blob, 0.5), formats.load(blob, domain="winograd", sparsity=0.5)
        assert ours["c"].tobytes() == theirs["c"].tobytes()
        return
    with pytest.raises(reference.DszReject) as caught:
        reference.decode_winograd(blob)
    assert caught.value.error == error
    with pytest.raises(getattr(formats.errors, error)):
        formats.load(blob, domain="winograd", sparsity=0.0)
    formats.load(blob)  # the spatial domain ignores the attribute
