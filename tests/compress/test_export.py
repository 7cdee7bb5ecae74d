"""compress.export and the CLI paths through it keep shapes (0-d), dtypes (bfloat16) and names exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from compress.errors import OutputError
from compress.export import write_tensors


def _read(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".npz":
        return {k: torch.from_numpy(v) for k, v in np.load(path).items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, weights_only=True)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors", ".npz"])
def test_write_tensors_keeps_0d_shapes(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"t{suffix}"
    write_tensors(out, {"scale": np.float32(2.5), "v": np.arange(3, dtype=np.float32)})
    back = _read(out)
    assert tuple(back["scale"].shape) == () and float(back["scale"]) == 2.5


def test_npz_refuses_names_it_cannot_hold_and_bfloat16_tensors(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="NUL"):
        write_tensors(tmp_path / "a.npz", {"a\0b": np.zeros(2, np.float32)})
    with pytest.raises(OutputError, match="bfloat16"):
        write_tensors(tmp_path / "b.npz", {"b": torch.zeros(2, dtype=torch.bfloat16)})
    assert list(tmp_path.iterdir()) == []
