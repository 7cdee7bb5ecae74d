"""Every bad input ends as one line on stderr and exit 1: no traceback, no usage block, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


def _files(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / f"{name}.pt" for name in ("nan", "inf", "complex", "sparse", "quantized", "good")}
    torch.save({"w": torch.tensor([[1.0, float("nan")], [0.0, 1.0]])}, paths["nan"])
    torch.save({"w": torch.tensor([[1.0, float("inf")], [0.0, 1.0]])}, paths["inf"])
    torch.save({"w": torch.randn(2, 2, dtype=torch.complex64)}, paths["complex"])
    torch.save({"w": torch.randn(4, 4).to_sparse()}, paths["sparse"])
    torch.save({"w": torch.quantize_per_tensor(torch.randn(4, 4), 0.1, 0, torch.qint8)}, paths["quantized"])
    torch.save({"w": torch.randn(4, 4), "b": torch.zeros(4)}, paths["good"])
    paths["binary_recipe"] = tmp_path / "recipe.toml"
    paths["binary_recipe"].write_bytes(b"\x89DSZ\r\n\x1a\n\x80\x81")
    paths["fifo"] = tmp_path / "pipe.dsz"
    os.mkfifo(paths["fifo"])
    return paths


CASES = [
    (("compress", "{nan}", "-o", "{out}.dsz"), "NaN or infinite"),
    (("compress", "{inf}", "-o", "{out}.dsz"), "NaN or infinite"),
    (("prune", "{nan}", "--sparsity", "0.5", "-o", "{out}.dsz"), "NaN or infinite"),
    (("compress", "{complex}", "-o", "{out}.dsz"), "is complex"),
    (("compress", "{sparse}", "-o", "{out}.dsz"), "sparse tensor"),
    (("compress", "{quantized}", "-o", "{out}.dsz"), "quantized tensor"),
    (("compress", "--recipe", "{binary_recipe}", "-o", "{out}.dsz"), "not UTF-8"),
    (("compress", "--recipe", "{good}", "-o", "{out}.dsz"), "not UTF-8"),
    (("compress", "{dir}", "-o", "{out}.dsz"), "is a directory"),
    (("compress", "{good}", "-o", "{dir}"), "is a directory"),
    (("decompress", "{fifo}", "-o", "{out}.npz"), "not a regular file"),
    (("inspect", "{fifo}"), "not a regular file"),
    (("verify", "{fifo}"), "not a regular file"),
    (("strip", "{fifo}", "-o", "{out}.dsz"), "not a regular file"),
    (("strip", "{good}", "-o", "{out}.dsz"), "not the .dsz magic"),
    (("decompress", "{good}", "-o", "{out}.npz", "--domain", "winograd", "--sparsity", "80"), "not in the range"),
    (("compress", "{good}", "-o", "{out}.dsz", "--bits", "4", "--step", "0.1"), "not both"),
    (("compress", "{good}", "-o", "{out}.dsz", "--rd-lambda", "-0.5"), "not in the range"),
    (("compress", "{good}", "-o", "{out}.dsz", "--rest-dtype", "int8"), "is not one of"),
    (("--no-such-option",), "No such option"),
    (("no-such-command",), "No such command"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_line_and_exit_1(run_cli, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    paths = _files(tmp_path)
    (tmp_path / "dir").mkdir()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.is_fifo()}
    fields = {**{k: str(v) for k, v in paths.items()}, "dir": str(tmp_path / "dir"), "out": str(tmp_path / "out")}
    result = run_cli(*(a.format(**fields) for a in args))
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("dualsparse"), result.output
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file() and not p.is_fifo()}
    assert after == before  # nothing written, no input touched


def test_a_files_stored_recipe_is_never_run_by_inspect_verify_or_decompress(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    import formats

    marker = tmp_path / "ran"
    (tmp_path / "marker_task.py").write_text(f"def build(**_):\n    open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    recipe = {"_type": "DualsparseRecipe", "_version": 1,
              "_data": {"task": {"name": "marker_task:build", "options": {}}, "seed": 0}}
    artifact = tmp_path / "m.dsz"
    formats.save(artifact, {"w": np.ones((2, 2), np.float32)}, recipe=recipe, codec="raw")
    for args in (("inspect", artifact), ("verify", artifact), ("decompress", artifact, "-o", tmp_path / "o.npz")):
        assert run_cli(*args).exit_code == 0
    assert not marker.exists()


@pytest.mark.parametrize("command", ["verify", "inspect", "decompress"])
def test_a_decompression_bomb_is_one_line_limit_error_and_exit_1(
        run_cli, tmp_path: Path, bomb_file: Path, command: str) -> None:
    out = tmp_path / "out.npz"
    result = run_cli(command, bomb_file, *(("-o", out) if command == "decompress" else ()))
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and "6,710,886,400 decoded bytes" in lines[0] and "--max-decoded-bytes" in lines[0]
    assert not out.exists()


def test_max_decoded_bytes_raises_and_lowers_the_cap(run_cli, tmp_path: Path, small_bomb_file: Path) -> None:
    assert run_cli("verify", small_bomb_file).exit_code == 1
    assert run_cli("verify", small_bomb_file, "--max-decoded-bytes", "320MiB").exit_code == 0
    assert run_cli("verify", small_bomb_file, "--max-decoded-bytes", "319M").exit_code == 1
    small = tmp_path / "small.dsz"
    import numpy as np

    import formats

    formats.save(small, {"w": np.ones(1000, np.float32)}, codec="raw")
    assert run_cli("inspect", small, "--max-decoded-bytes", "4000").exit_code == 0
    lowered = run_cli("decompress", small, "-o", tmp_path / "o.npz", "--max-decoded-bytes", "3K")
    assert lowered.exit_code == 1 and "more than 3,072 bytes in total" in lowered.output
    bad = run_cli("verify", small, "--max-decoded-bytes", "lots")
    assert bad.exit_code == 1 and "not a byte count" in bad.output


@pytest.mark.parametrize("domain", ["spatial", "winograd"])
def test_decompress_passes_max_decoded_bytes_to_the_loader(
        run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, domain: str) -> None:
    import numpy as np

    import formats

    seen = []
    original = formats.load

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["limits"].max_file_decoded_bytes(1))
        return original(*args, **kwargs)

    monkeypatch.setattr(formats, "load", recording)
    small = tmp_path / "small.dsz"
    formats.save(small, {"c": np.ones((1, 1, 3, 3), np.float32)}, attrs={"c": {"winograd": {"m": 2, "r": 3}}})
    result = run_cli("decompress", small, "-o", tmp_path / "o.npz", "--domain", domain, "--max-decoded-bytes", "5G")
    assert result.exit_code == 0, result.output
    assert seen == [5 << 30]
