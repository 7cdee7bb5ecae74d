"""compress -> verify -> inspect -> decompress through the CLI, and its bad-input behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from compress.checkpoints import load_state_dict
from formats.quantize import dequantize, quantize_dithered, step_for_bits


def _expected(checkpoint: Path, bits: int, seed: int) -> dict[str, np.ndarray]:
    """What decoding must give: the quantizer applied independently of the CLI."""
    out = {}
    for name, tensor in load_state_dict(checkpoint).items():
        array = tensor.numpy()
        if array.dtype.kind == "f" and array.ndim >= 2:
            values = array.astype(np.float32)
            out[name] = dequantize(quantize_dithered(values, step_for_bits(values, bits), seed=seed, name=name))
        else:
            out[name] = array
    return out


def test_roundtrip_is_bit_exact(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "small.dsz"
    result = run_cli("compress", small_checkpoint, "-o", artifact, "--bits", "5", "--seed", "3", "--dither")
    assert result.exit_code == 0, result.output
    assert "5 tensors (2 quantized)" in result.output
    assert run_cli("verify", artifact).exit_code == 0
    decoded_path = tmp_path / "small.safetensors"
    assert run_cli("decompress", artifact, "-o", decoded_path).exit_code == 0
    decoded = load_file(str(decoded_path))
    expected = _expected(small_checkpoint, bits=5, seed=3)
    assert sorted(decoded) == sorted(expected)
    for name, array in expected.items():
        assert decoded[name].dtype == array.dtype, name
        assert decoded[name].tobytes() == array.tobytes(), name


def test_same_seed_same_bytes_and_other_seed_differs(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    paths = [tmp_path / f"{i}.dsz" for i in range(3)]
    for path, seed in zip(paths, (1, 1, 2), strict=True):
        assert run_cli("compress", small_checkpoint, "-o", path, "--seed", str(seed), "--dither", "-q").exit_code == 0
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


@pytest.mark.parametrize("suffix", [".pt", ".npz"])
def test_decompress_formats(run_cli, small_checkpoint: Path, tmp_path: Path, suffix: str) -> None:
    artifact = tmp_path / "small.dsz"
    run_cli("compress", small_checkpoint, "-o", artifact, "-q")
    out = tmp_path / f"out{suffix}"
    assert run_cli("decompress", artifact, "-o", out, "-q").exit_code == 0
    if suffix == ".pt":
        loaded = {k: v.numpy() for k, v in torch.load(out, weights_only=True).items()}
    else:
        with np.load(out, allow_pickle=False) as npz:
            loaded = {k: npz[k] for k in npz.files}
    assert set(loaded) == {"conv.weight", "conv.bias", "fc.weight", "fc.bias", "bn.num_batches_tracked"}
    assert loaded["bn.num_batches_tracked"] == 7


def test_inspect_json_totals(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "small.dsz"
    run_cli("compress", small_checkpoint, "-o", artifact, "--codec", "zstd", "-q")
    result = run_cli("inspect", artifact, "--json")
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["file_bytes"] == artifact.stat().st_size
    assert [t["name"] for t in doc["tensors"]][:2] == ["conv.weight", "conv.bias"]
    weight = doc["tensors"][0]
    assert weight["kind"] == "quantized" and weight["codec"] == "zstd"
    assert weight["elements"] == 8 * 4 * 3 * 3
    assert doc["recipe"]["_type"] == "PostTrainingConfig"
    assert doc["totals"]["elements"] == 8 * 4 * 9 + 8 + 320 + 10 + 1
    table = run_cli("inspect", artifact)
    assert "conv.weight" in table.output and "bits/w" in table.output


def test_winograd_decompress_needs_marks(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "small.dsz"
    run_cli("compress", small_checkpoint, "-o", artifact, "-q")
    out = tmp_path / "w.npz"
    # no --model: nothing is marked, so the Winograd domain would silently be the spatial one
    _one_line_error(run_cli("decompress", artifact, "-o", out, "--domain", "winograd", "--sparsity", "0.5"),
                    "no tensor marked for Winograd deployment")
    assert not out.exists()


def _one_line_error(result, needle: str) -> None:
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert "Traceback" not in result.output


def test_missing_input(run_cli, tmp_path: Path) -> None:
    _one_line_error(run_cli("compress", tmp_path / "nope.pt", "-o", tmp_path / "x.dsz"), "does not exist")
    assert not (tmp_path / "x.dsz").exists()


def test_not_a_checkpoint(run_cli, tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"this is not a checkpoint")
    _one_line_error(run_cli("compress", bogus, "-o", tmp_path / "x.dsz"), "cannot read")
    assert not (tmp_path / "x.dsz").exists()
    assert bogus.read_bytes() == b"this is not a checkpoint"


def test_existing_output_needs_force(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.dsz"
    out.write_bytes(b"keep me")
    _one_line_error(run_cli("compress", small_checkpoint, "-o", out), "--force")
    assert out.read_bytes() == b"keep me"
    assert run_cli("compress", small_checkpoint, "-o", out, "--force", "-q").exit_code == 0
    assert out.read_bytes() != b"keep me"


def test_wrong_output_suffix(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    _one_line_error(run_cli("compress", small_checkpoint, "-o", tmp_path / "x.bin"), "suffix")


def test_verify_and_inspect_reject_damaged_file(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "small.dsz"
    run_cli("compress", small_checkpoint, "-o", artifact, "-q")
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0x40
    damaged = tmp_path / "damaged.dsz"
    damaged.write_bytes(bytes(data))
    result = run_cli("verify", damaged)
    assert result.exit_code == 1 and "FAILED" in result.stderr
    _one_line_error(run_cli("inspect", damaged), "error")
    truncated = tmp_path / "truncated.dsz"
    truncated.write_bytes(artifact.read_bytes()[:-9])
    assert run_cli("verify", truncated).exit_code == 1
    _one_line_error(run_cli("decompress", truncated, "-o", tmp_path / "t.npz"), "error")
    assert not (tmp_path / "t.npz").exists()


def test_sparsity_only_with_winograd(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "small.dsz"
    run_cli("compress", small_checkpoint, "-o", artifact, "-q")
    result = run_cli("decompress", artifact, "-o", tmp_path / "o.npz", "--sparsity", "0.5")
    assert result.exit_code == 1


def test_strip_writes_a_smaller_file_with_the_same_tensors(run_cli, small_checkpoint: Path, tmp_path: Path) -> None:
    import formats

    full, stripped = tmp_path / "full.dsz", tmp_path / "stripped.dsz"
    assert run_cli("compress", str(small_checkpoint), "-o", str(full), "--bits", "6").exit_code == 0
    result = run_cli("strip", str(full), "-o", str(stripped))
    assert result.exit_code == 0 and "tensors unchanged" in result.output
    assert stripped.stat().st_size < full.stat().st_size
    a, b = formats.load(full), formats.load(stripped)
    assert list(a) == list(b) and all(np.array_equal(a[n], b[n]) for n in a)
    again = run_cli("strip", str(full), "-o", str(stripped))
    assert again.exit_code == 1 and "pass --force" in again.output
    assert run_cli("strip", str(full), "-o", str(stripped), "--force").exit_code == 0
