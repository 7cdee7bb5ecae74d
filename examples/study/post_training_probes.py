"""Probes behind the session-8 post-training study (``examples/study/POST_TRAINING_LOG.md``), one per subcommand.

Each prints one JSON line per setting; none writes a file. From the repository root, 1 thread::

    python examples/study/post_training_probes.py sweep resnet20 '[{"step": 0.043}, {"step": 0.043, "dither": 0}]'
    python examples/study/post_training_probes.py bn resnet32 0.04,0.05,0.0625 --images 512
    python examples/study/post_training_probes.py bias lenet5 0.02,0.03125
    python examples/study/post_training_probes.py coder resnet32

* ``sweep``: quantize every weight tensor at ``step`` (times ``(F_l / F̄)^-alpha`` with ``alpha``: F_l the
  mean squared gradient of layer l on 512 training images, F̄ their weighted geometric mean), rounding to
  nearest with rate-distortion levels ``lam`` (:func:`formats.rd_levels.rd_levels`), or with the dither of
  seed ``dither``; print codec-8 bytes of the weights, test accuracy, KL divergence to the dense model's
  predictions and density.
* ``bn``: round to nearest at each step; BatchNorm statistics re-estimated from scratch on training images
  (:func:`compress.pipeline.batchnorm.recalibrate_batchnorm`) against corrected for the quantization
  (:func:`compress.calibration.correct_for_quantization`).
* ``bias``: as ``bn`` for LeNet-5 (no BatchNorm): biases corrected or not.
* ``coder``: NNCodec at qp -20/-24, dq off/on, on the weight tensors alone, against our codecs on the levels
  NNCodec decoded (needs NNCodec: ``examples/results/nncodec_shim.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "results"))
import baselines as B  # noqa: E402 - the peers script's model and data loading

from compress.calibration import correct_for_quantization  # noqa: E402
from compress.pipeline.batchnorm import recalibrate_batchnorm  # noqa: E402
from compress.pipeline.deploy_eval import load_decoded  # noqa: E402
from formats import codecs  # noqa: E402
from formats.dither import dither_values, stream_for_name  # noqa: E402
from formats.ids import PrngId  # noqa: E402
from formats.rd_levels import rd_levels  # noqa: E402
from formats.tensors import Dither  # noqa: E402

RANS_CTX = codecs.get_codec(8)


class Scorer:
    """Test accuracy and KL divergence to the dense model's predictions."""

    def __init__(self, ctx: B.Context) -> None:
        self.ctx = ctx
        self.inputs = torch.stack([ctx.data[i][0] for i in range(len(ctx.data))])
        self.labels = torch.tensor([int(ctx.data[i][1]) for i in range(len(ctx.data))])
        self.reference = torch.log_softmax(self.logits(load_decoded(ctx.model, ctx.weights)), 1)

    def logits(self, model: nn.Module) -> torch.Tensor:
        model.eval()
        with torch.no_grad():
            return torch.cat([model(self.inputs[i:i + 500]) for i in range(0, len(self.inputs), 500)])

    def __call__(self, model: nn.Module) -> tuple[float, float]:
        logits = self.logits(model)
        accuracy = float((logits.argmax(1) == self.labels).float().mean()) * 100
        kl = float(torch.sum(self.reference.exp() * (self.reference - torch.log_softmax(logits, 1)), 1).mean())
        return round(accuracy, 2), round(kl, 5)


def rounded(ctx: B.Context, steps: dict[str, float], lam: float = 0.0, seed: int | None = None
            ) -> tuple[dict[str, np.ndarray], int]:
    """Decoded weights and codec-8 bytes of every quantized tensor."""
    weights, size = dict(ctx.weights), 0
    for name in ctx.quantized_names:
        values = ctx.weights[name].astype(np.float64).reshape(-1)
        step = float(np.float32(steps[name]))
        dither = np.zeros_like(values)
        if seed is not None:
            stream = Dither(PrngId.SPLITMIX64, seed, stream_for_name(name))
            dither = dither_values(stream, step, values.size).astype(np.float64)
        levels = rd_levels((values + dither) / step, lam)
        symbols = levels - min(levels.min(), 0)
        symbols = symbols.astype(np.uint16 if symbols.max() > 255 else np.uint8)
        size += len(RANS_CTX.encode(symbols.tobytes(), symbols.itemsize))
        decoded = (levels * step - dither).astype(np.float32)
        decoded[levels == 0] = 0
        weights[name] = decoded.reshape(ctx.weights[name].shape)
    return weights, size


def fisher(ctx: B.Context, images: int = 512, batch: int = 16) -> dict[str, float]:
    """Mean squared gradient of the loss per quantized tensor (batches of ``batch`` training images)."""
    train = (B.mnist_dataset(ctx.root / "mnist", "train") if ctx.name == "lenet5"
             else B.cifar10_dataset(ctx.root / "cifar10-partial", "train"))
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:images]
    inputs = torch.stack([torch.as_tensor(train[int(i)][0]) for i in order])
    labels = torch.tensor([int(train[int(i)][1]) for i in order])
    model = load_decoded(ctx.model, ctx.weights).eval()
    params = dict(model.named_parameters())
    total = {name: torch.zeros_like(params[name]) for name in ctx.quantized_names}
    for i in range(0, len(inputs), batch):
        model.zero_grad()
        nn.functional.cross_entropy(model(inputs[i:i + batch]), labels[i:i + batch]).backward()
        for name in ctx.quantized_names:
            total[name] += params[name].grad.detach() ** 2
    return {name: float(total[name].mean()) for name in ctx.quantized_names}


def sweep(ctx: B.Context, specs: list[dict[str, float]]) -> None:
    score = Scorer(ctx)
    sensitivity = fisher(ctx) if any(spec.get("alpha") for spec in specs) else {}
    counts = {name: ctx.weights[name].size for name in ctx.quantized_names}
    mean = math.exp(sum(counts[n] * math.log(sensitivity[n]) for n in sensitivity) / sum(counts.values())
                    ) if sensitivity else 1.0
    for spec in specs:
        alpha = spec.get("alpha", 0.0)
        steps = {n: spec["step"] * ((sensitivity[n] / mean) ** -alpha if alpha else 1.0) for n in ctx.quantized_names}
        seed = spec.get("dither")
        weights, size = rounded(ctx, steps, spec.get("lam", 0.0), None if seed is None else int(seed))
        accuracy, kl = score(load_decoded(ctx.model, weights))
        density = sum(int(np.count_nonzero(weights[n])) for n in ctx.quantized_names) / sum(counts.values())
        print(json.dumps({**spec, "bytes": size, "acc": accuracy, "kl": kl, "density": round(density, 4)}),
              flush=True)


def corrections(ctx: B.Context, steps: list[float], images: int) -> None:
    score = Scorer(ctx)
    inputs = B.calibration_inputs(ctx, 0)[:images]
    for step in steps:
        weights, size = rounded(ctx, dict.fromkeys(ctx.quantized_names, step))
        plain = score(load_decoded(ctx.model, weights))
        row: dict[str, object] = {"model": ctx.name, "step": step, "bytes": size, "plain": plain}
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in ctx.model.modules()):
            model = load_decoded(ctx.model, weights)
            recalibrate_batchnorm(model, [inputs[i:i + 128] for i in range(0, len(inputs), 128)])
            row["reestimated"] = score(model)
        state = {k: torch.from_numpy(np.array(v)) for k, v in ctx.weights.items()}
        quantized = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
        fixed = correct_for_quantization(ctx.model, state, quantized, inputs)
        row["corrected"] = score(load_decoded(ctx.model, {**weights, **{k: v.numpy() for k, v in fixed.items()}}))
        print(json.dumps(row), flush=True)


def coder(ctx: B.Context) -> None:
    from formats.container.codec_choice import encode_payload
    from formats.container.limits import DEFAULT_LIMITS

    compress, decompress = B.import_nncodec()
    weights = {n: ctx.weights[n].astype(np.float32) for n in ctx.quantized_names}
    for qp in (-20, -24):
        step = 2.0 ** (qp / 4)
        for dq in (False, True):
            with tempfile.TemporaryDirectory() as folder:
                stream = compress({k: v.copy() for k, v in weights.items()}, bitstream_path=f"{folder}/x.nnc", qp=qp,
                                  use_dq=dq, return_bitstream=True)
            decoded = decompress(bytearray(stream))
            sizes = {"rans": 0, "rans-ctx": 0, "auto": 0}
            order0 = 0.0
            for name in weights:
                levels = np.rint(np.asarray(decoded[name], dtype=np.float64).reshape(-1) / step).astype(np.int64)
                symbols = levels - levels.min()
                symbols = symbols.astype(np.uint8 if symbols.max() < 256 else np.uint16)
                data = symbols.tobytes()
                sizes["rans"] += len(codecs.get_codec(6).encode(data, symbols.itemsize))
                sizes["rans-ctx"] += len(RANS_CTX.encode(data, symbols.itemsize))
                sizes["auto"] += len(encode_payload(data, symbols.itemsize, "auto", DEFAULT_LIMITS)[1])
                _, counts = np.unique(symbols, return_counts=True)
                order0 += float(-(counts * np.log2(counts / counts.sum())).sum()) / 8
            print(json.dumps({"model": ctx.name, "qp": qp, "dq": dq, "nncodec_bytes": len(stream),
                              "ours_on_its_levels": sizes, "order0_bytes": round(order0)}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("probe", choices=("sweep", "bn", "bias", "coder"))
    parser.add_argument("model", choices=B.MODELS)
    parser.add_argument("settings", nargs="?", default="", help="sweep: JSON list; bn/bias: steps, comma-separated")
    parser.add_argument("--images", type=int, default=512, help="bn/bias: calibration images")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    ctx = B.make_context(args.model, args.data_root)
    if args.probe == "sweep":
        sweep(ctx, json.loads(args.settings))
    elif args.probe in ("bn", "bias"):
        corrections(ctx, [float(s) for s in args.settings.split(",")], args.images)
    else:
        coder(ctx)


if __name__ == "__main__":
    main()
