"""compress -> verify -> decompress on real pretrained checkpoints, checked bit for bit twice over:
against the quantizer applied independently of the CLI, and against the spec's reference decoder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from safetensors.numpy import load_file

import formats
from compress.checkpoints import load_state_dict
from formats.quantize import dequantize, quantize_dithered, step_for_bits

REPO_ROOT = Path(__file__).resolve().parents[3]
BITS, SEED = 6, 11

CASES = [
    # conv1, conv2 (5x5); ResNet-56: 55 3x3 convs but the two stride-2 ones
    pytest.param("mnist-lenet-dhl0917/LeNet_MNIST_params.pkl", "lenet5", "auto", 2, id="lenet5-auto"),
    pytest.param("cifar10-resnet-akamaster/resnet56-4bfd9763.th", "resnet56", "zstd", 53, id="resnet56-zstd"),
]


def _reference_decoder() -> ModuleType:
    if "reference_decoder" not in sys.modules:
        spec = importlib.util.spec_from_file_location("reference_decoder", REPO_ROOT / "spec" / "reference_decoder.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["reference_decoder"] = module
        spec.loader.exec_module(module)
    return sys.modules["reference_decoder"]


def _expected(checkpoint: Path) -> dict[str, np.ndarray]:
    """What decoding must give, recomputed as compress.post_training does (>= 2-d float tensors quantized)."""
    out = {}
    for name, tensor in load_state_dict(checkpoint).items():
        array = tensor.numpy()
        if array.dtype.kind == "f" and array.ndim >= 2 and array.size:
            values = array.astype(np.float32)
            out[name] = dequantize(quantize_dithered(values, step_for_bits(values, BITS), seed=SEED, name=name))
        else:
            out[name] = array
    return out


@pytest.mark.parametrize(("relative", "model", "codec", "winograd_marked"), CASES)
def test_real_checkpoint_round_trip(run_cli, shared_data: Path, tmp_path: Path, relative: str, model: str,
                                    codec: str, winograd_marked: int) -> None:
    checkpoint = shared_data / relative
    assert checkpoint.is_file(), f"{checkpoint} is missing from the shared data"
    artifact = tmp_path / f"{model}.dsz"
    result = run_cli("compress", checkpoint, "-o", artifact, "--model", model, "--codec", codec,
                     "--bits", str(BITS), "--seed", str(SEED), "--dither")
    assert result.exit_code == 0, result.output
    verified = run_cli("verify", artifact)
    assert verified.exit_code == 0 and "OK" in verified.output, verified.output
    decoded_path = tmp_path / f"{model}.safetensors"
    assert run_cli("decompress", artifact, "-o", decoded_path, "-q").exit_code == 0
    decoded = load_file(str(decoded_path))

    expected = _expected(checkpoint)
    assert sorted(decoded) == sorted(expected)
    for name, array in expected.items():
        assert decoded[name].dtype == array.dtype and decoded[name].shape == array.shape, name
        assert decoded[name].tobytes() == array.tobytes(), name

    reference = _reference_decoder().decode_file(artifact)
    assert sorted(reference) == sorted(decoded)
    for name, array in decoded.items():
        assert reference[name].tobytes() == array.tobytes(), name

    with formats.open_dsz(artifact) as reader:
        marked = [r.name for r in reader.records if "winograd" in r.attrs]
        used = {r.codec for r in reader.records if r.kind == formats.TensorKind.QUANTIZED}
    assert len(marked) == winograd_marked
    assert used == ({formats.CodecId.ZSTD} if codec == "zstd" else used - {formats.CodecId.RAW})
