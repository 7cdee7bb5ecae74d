"""compress/prune then decompress keep 0-d shapes and bfloat16 tensors exactly (.pt and .safetensors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


def _state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {"scale": torch.tensor(2.5), "b": torch.randn(5).bfloat16(), "w": torch.randn(8, 8)}


def _read(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
@pytest.mark.parametrize("command", [("compress",), ("prune", "--sparsity", "0.5")])
def test_compress_or_prune_then_decompress_keeps_0d_and_bfloat16(run_cli, tmp_path: Path, suffix: str,
                                                                 command: tuple[str, ...]) -> None:
    source = tmp_path / "in.pt"
    state = _state()
    torch.save(state, source)
    artifact, out = tmp_path / "m.dsz", tmp_path / f"out{suffix}"
    assert run_cli(command[0], source, *command[1:], "-o", artifact, "-q").exit_code == 0
    assert run_cli("decompress", artifact, "-o", out, "-q").exit_code == 0
    back = _read(out)
    assert {k: (tuple(v.shape), v.dtype) for k, v in back.items()} == {
        "scale": ((), torch.float32), "b": ((5,), torch.bfloat16), "w": ((8, 8), torch.float32)}
    assert torch.equal(back["b"], state["b"]) and torch.equal(back["scale"], state["scale"])
