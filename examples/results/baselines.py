"""Peer baselines of the results page, side by side on the same checkpoints and the same test images.

Run from the repository root (about 18 CPU-minutes for everything on one core, half of it ResNet-56; the wall
time depends on the machine's load: 71 minutes at ``nice -n 19`` next to two other CPU-bound jobs)::

    nice -n 19 python examples/results/baselines.py --threads 1

or a part of it, e.g. ``--models lenet5,resnet20 --methods float32+zstd,deep-compression``. The script is
resumable: a row already in the CSV (same model, method and setting) is not measured again, so an
interrupted run continues where it stopped; delete the CSV (or its rows) to measure again.

Models and data (from ``--data-root``, default ``../shared/data``): LeNet-5 on the 10,000 MNIST test images,
the akamaster CIFAR-10 ResNet-20/32/56 on the 1,017 CIFAR-10 test images that exist here (one image is about
0.1 point, so CIFAR differences under ~1 point are noise).

Methods (one CSV row per model x method x setting):

* ``float32+zstd``: the raw bytes of every state_dict tensor (float32; integer buffers at their own size),
  concatenated in state_dict order, compressed with zstandard level 19. Lossless: accuracy = dense.
* ``deep-compression``: :func:`compress.baselines.deep_compression.deep_compression` (Han et al. 2016:
  global magnitude pruning, linear-init k-means weight sharing, Huffman-coded indices and relative positions)
  on every tensor with >= 2 dims, WITHOUT the paper's retraining; sparsity x bits grid. ``index_bits`` is 5
  for every tensor (the function takes one value, the paper used 8 for conv). For LeNet-5 also the paper's
  bits (8 for conv, 5 for fc). Size = the function's exact coded size (no container).
* ``ours-post-training``: :func:`compress.post_training.compress_state_dict` (dithered uniform quantization
  + entropy coding, no fine-tuning) writing a real ``.dsz`` file, either with a per-tensor bit budget
  (``bits=3..8``) or with one step for every quantized tensor (``step=...``: a geometric grid of 10 values
  derived from the std of all quantized weights, for about 8 down to about 2 bits per weight). Accuracy of
  the decoded file (``formats.load``) for dither seeds 0, 1, 2; size of seed 0.
* ``ours-rd`` (session 8): the same path without dither (levels rounded to nearest, or chosen by rate–distortion
  with ``rd_lambda`` 0.1), the tensors that are not quantized stored as float16 (``rest_dtype="float16"``), on a
  finer step grid (17 steps a quarter octave apart, about 4.5 down to 0.5 bits per weight by the formula above).
  Deterministic: one file and one accuracy per setting (there is no dither seed to vary).
* ``ours-rd-bn`` (session 8): ``ours-rd`` (rounding to nearest) with the BatchNorm running statistics corrected
  for the quantization error (:mod:`compress.batchnorm_correction`, ``compress --calibrate``) on 512 training
  images (never the test images), three seeded draws (0, 1, 2): one file each, the size of the first, the
  accuracy over the three; models without BatchNorm (LeNet-5) are skipped.
* ``ours-default`` (session 8): ``compress`` with no setting at all (``PostTrainingConfig()``: the default step,
  0.4 x the standard deviation of the weights, no dither, the rest float32), one row.
* ``nncodec`` (optional): NNCodec 2.x (the MPEG NNC / ISO 15938-17 reference software, DeepCABAC) via
  ``nncodec.nnc.compress`` / ``decompress`` with ``qp`` x ``use_dq`` and default other settings
  (``nonweight_qp=-75``). Skipped, with one line saying why, when it cannot be imported or its first call fails.

CSV columns (``--csv``, default ``examples/results/baselines.csv``):

* ``model``, ``method``, ``setting``: what was measured (``setting`` is the key used for resuming);
* ``bytes``: compressed size in bytes (the zstd frame, the ``.dsz`` file of seed 0, the NNCodec bitstream, or
  Deep Compression's computed size);
* ``ratio``: float32 bytes of the whole state_dict (4 bytes per float element, integer buffers at their own
  size) divided by ``bytes``;
* ``acc_mean``, ``acc_min``, ``acc_max``: top-1 test accuracy in percent of the decoded weights (mean, min and
  max over the dither seeds for ``ours-post-training``; the single value otherwise);
* ``loss_pt``: dense accuracy minus ``acc_mean``, in percentage points (negative: better than dense);
* ``encode_s``, ``decode_s``: CPU seconds of this process (``time.process_time``) to encode and to decode
  the weights (mean over the seeds for ours; Deep Compression has no decoder, so its ``decode_s`` is empty);
* ``notes``: bits per float parameter (``bpw``), weight sparsity of the decoded weights and caveats.

At the end the script prints, per model and method, the largest ratio whose mean accuracy loss is within the
budget (0.2 points on MNIST, 1.0 point on CIFAR-10), read from the whole CSV.
"""

from __future__ import annotations

import argparse
import csv
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import zstandard
from torch import nn
from torch.utils.data import Dataset

import formats
from compress.baselines.deep_compression import deep_compression
from compress.data.cifar10 import cifar10_dataset
from compress.data.mnist import mnist_dataset
from compress.pipeline.deploy_eval import load_decoded
from compress.pipeline.report import evaluate_metric
from compress.post_training import Calibration, PostTrainingConfig, compress_state_dict
from compress.zoo.pretrained import load_pretrained

MODELS = ("lenet5", "resnet20", "resnet32", "resnet56")
METHODS = ("float32+zstd", "deep-compression", "ours-post-training", "ours-rd", "ours-rd-cal", "ours-default",
           "nncodec")
COLUMNS = (
    "model",
    "method",
    "setting",
    "bytes",
    "ratio",
    "acc_mean",
    "acc_min",
    "acc_max",
    "loss_pt",
    "encode_s",
    "decode_s",
    "notes",
)
BUDGET_PT = {"lenet5": 0.2}  # accuracy-loss budget in points; CIFAR models: DEFAULT_BUDGET_PT
DEFAULT_BUDGET_PT = 1.0
DEFAULT_CSV = Path(__file__).resolve().parent / "baselines.csv"

ZSTD_LEVEL = 19
DC_SPARSITY = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
DC_SPARSITY_LENET_EXTRA = (0.97, 0.98)
DC_BITS = (3, 4, 5, 6)
DC_INDEX_BITS = 5
OURS_BITS = (3, 4, 5, 6, 7, 8)
OURS_STEPS = 10
OURS_SEEDS = (0, 1, 2)
RD_BITS = tuple(float(h) for h in np.linspace(0.5, 4.5, 17))  # ~bits per weight of the step grid, 2^(1/4) apart
RD_LAMBDAS = (0.0, 0.1)
CALIBRATION_IMAGES = 512
NNC_QP = (-8, -12, -16, -20, -24, -28, -32, -36, -40, -44, -14, -18, -22, -26)  # the last four: session 8
NNC_DQ = (True, False)
NNC_NONWEIGHT_QP = -75
EVAL_BATCH = 128  # same accuracy as the helper's default 1000, half the CPU (no page faults on huge activations)


@dataclass(frozen=True)
class Measurement:
    """One CSV row before formatting."""

    setting: str
    bytes: int
    accuracies: tuple[float, ...]
    encode_s: float
    decode_s: float | None
    notes: str


@dataclass
class Context:
    """Everything the methods need for one model."""

    name: str
    model: nn.Module
    data: Dataset
    state: dict[str, torch.Tensor]
    weights: dict[str, np.ndarray]
    quantized_names: list[str]
    float32_bytes: int
    float_params: int
    dense_acc: float
    root: Path


def float32_bytes(state: Mapping[str, torch.Tensor]) -> int:
    """Bytes of the state_dict stored plainly: 4 per float element, integer tensors at their own size."""
    return sum(4 * t.numel() if t.is_floating_point() else t.numel() * t.element_size() for t in state.values())


def accuracy_pct(model: nn.Module, data: Dataset, weights: Mapping[str, np.ndarray]) -> float:
    """Top-1 accuracy in percent of ``model`` with ``weights`` loaded."""
    return 100.0 * evaluate_metric(load_decoded(model, weights), data, "cross_entropy", batch_size=EVAL_BATCH)


def weight_sparsity(weights: Mapping[str, np.ndarray], names: list[str]) -> float:
    """Fraction of exact zeros over the tensors ``names``."""
    zeros = sum(int(np.count_nonzero(np.asarray(weights[n]) == 0)) for n in names)
    return zeros / max(sum(int(np.asarray(weights[n]).size) for n in names), 1)


def make_context(name: str, root: Path) -> Context:
    """Load a pretrained model, its test set and its dense accuracy."""
    model = load_pretrained(name, root)
    if name == "lenet5":
        data: Dataset = mnist_dataset(root / "mnist", "test")
    else:
        data = cifar10_dataset(root / "cifar10-partial", "test")
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    weights = {k: v.numpy() for k, v in state.items()}
    quantized = [k for k, v in state.items() if v.is_floating_point() and v.dim() >= 2]
    return Context(
        name=name,
        model=model,
        data=data,
        state=state,
        weights=weights,
        quantized_names=quantized,
        float32_bytes=float32_bytes(state),
        float_params=sum(t.numel() for t in state.values() if t.is_floating_point()),
        dense_acc=100.0 * evaluate_metric(model, data, "cross_entropy", batch_size=EVAL_BATCH),
        root=root,
    )


# ----------------------------------------------------------------------------------------------- methods


def run_zstd(ctx: Context, done: set[str]) -> Iterator[Measurement]:
    """float32 state_dict bytes + zstandard level 19 (lossless)."""
    setting = f"level={ZSTD_LEVEL}"
    if setting in done:
        return
    raw = b"".join(
        (t.float() if t.is_floating_point() else t).contiguous().numpy().tobytes() for t in ctx.state.values()
    )
    start = time.process_time()
    frame = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)
    encode_s = time.process_time() - start
    start = time.process_time()
    restored = zstandard.ZstdDecompressor().decompress(frame)
    decode_s = time.process_time() - start
    if restored != raw:
        raise RuntimeError("zstd round trip changed the bytes")
    bpw = 8 * len(frame) / ctx.float_params
    yield Measurement(setting, len(frame), (ctx.dense_acc,), encode_s, decode_s, f"lossless; bpw={bpw:.3f}")


def run_deep_compression(ctx: Context, done: set[str]) -> Iterator[Measurement]:
    """Deep Compression without retraining over a sparsity x bits grid."""
    sparsities = DC_SPARSITY + (DC_SPARSITY_LENET_EXTRA if ctx.name == "lenet5" else ())
    grid: list[tuple[float, str, int | dict[str, int]]] = [(s, f"b={b}", b) for s in sparsities for b in DC_BITS]
    if ctx.name == "lenet5":  # the paper's bits: 8 for conv, 5 for fc
        paper = {n: 8 if ctx.weights[n].ndim == 4 else 5 for n in ctx.quantized_names}
        grid += [(s, "b=conv8/fc5", paper) for s in sparsities]
    for sparsity, bits_label, bits in grid:
        setting = f"s={sparsity:g},{bits_label},idx={DC_INDEX_BITS}"
        if setting in done:
            continue
        start = time.process_time()
        result = deep_compression(
            ctx.weights, ctx.quantized_names, sparsity=sparsity, bits=bits, index_bits=DC_INDEX_BITS, scope="global"
        )
        encode_s = time.process_time() - start
        acc = accuracy_pct(ctx.model, ctx.data, result.weights)
        notes = (
            f"no retraining; global threshold; index_bits={DC_INDEX_BITS} for all tensors; "
            f"bpw={8 * result.bytes / ctx.float_params:.3f}; "
            f"sparsity={weight_sparsity(result.weights, ctx.quantized_names):.4f}"
        )
        yield Measurement(setting, result.bytes, (acc,), encode_s, None, notes)


def step_grid(ctx: Context) -> list[float]:
    """Ten steps, geometric, largest first, for roughly 2 up to 8 bits per weight, from the weights' std.

    For a smooth density with std σ, uniform quantization with step Δ costs about
    ``log2(σ·sqrt(2πe)/Δ)`` bits per weight, so ``Δ = σ·sqrt(2πe)·2^-H`` for ``H`` from 2 to 8 (σ: std of all
    quantized weights together). Steps are rounded to 4 significant digits (the CSV's setting is the value used).
    """
    return steps_for_bits_per_weight(ctx, np.linspace(2.0, 8.0, OURS_STEPS))


def steps_for_bits_per_weight(ctx: Context, bits: Iterable[float]) -> list[float]:
    """``Δ = σ·sqrt(2πe)·2^-H`` for each ``H`` of ``bits`` (see :func:`step_grid`), 4 significant digits."""
    sigma = float(np.concatenate([ctx.weights[n].reshape(-1) for n in ctx.quantized_names]).std())
    scale = sigma * math.sqrt(2 * math.pi * math.e)
    return [float(f"{scale * 2.0**-h:.4g}") for h in bits]


def run_ours(ctx: Context, done: set[str], tmp: Path) -> Iterator[Measurement]:
    """Post-training dithered quantization into a real .dsz file; 3 dither seeds per setting."""
    # the step grid first, largest step first: an interrupted run has the settings near the accuracy budget
    settings: list[tuple[str, dict[str, float | int | None]]] = [
        (f"step={s:.4g}", {"bits": None, "step": s}) for s in step_grid(ctx)
    ]
    settings += [(f"bits={b}", {"bits": b}) for b in OURS_BITS]
    for setting, kwargs in settings:
        if setting in done:
            continue
        accs: list[float] = []
        encode, decode = [], []
        size = 0
        notes = ""
        for seed in OURS_SEEDS:
            path = tmp / f"{ctx.name}-{setting}-{seed}.dsz"
            config = PostTrainingConfig(seed=seed, **kwargs)  # type: ignore[arg-type]
            start = time.process_time()
            compress_state_dict(ctx.state, path, config)
            encode.append(time.process_time() - start)
            start = time.process_time()
            decoded = formats.load(path)
            decode.append(time.process_time() - start)
            accs.append(accuracy_pct(ctx.model, ctx.data, decoded))
            if seed == OURS_SEEDS[0]:
                size = path.stat().st_size
                notes = (
                    f"no fine-tuning; bpw={8 * size / ctx.float_params:.3f}; "
                    f"sparsity={weight_sparsity(decoded, ctx.quantized_names):.4f} (seed {seed})"
                )
            path.unlink()
        yield Measurement(setting, size, tuple(accs), float(np.mean(encode)), float(np.mean(decode)), notes)


def calibration_inputs(ctx: Context, seed: int) -> torch.Tensor:
    """``CALIBRATION_IMAGES`` training images of the model's dataset (a draw seeded by ``seed``)."""
    root = ctx.root
    train = mnist_dataset(root / "mnist", "train") if ctx.name == "lenet5" else cifar10_dataset(
        root / "cifar10-partial", "train")
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:CALIBRATION_IMAGES]
    return torch.stack([torch.as_tensor(train[int(i)][0]) for i in order])


def run_ours_rd(ctx: Context, done: set[str], tmp: Path, calibrate: bool = False) -> Iterator[Measurement]:
    """Post-training quantization without dither, optionally rate–distortion levels, float16 for the rest;
    with ``calibrate``, BatchNorm statistics and biases corrected on three draws of training images (one file each;
    size of the first, accuracy over the three)."""
    calibrations: list[Calibration | None] = [None]
    if calibrate:
        calibrations = [Calibration(ctx.model, calibration_inputs(ctx, seed)) for seed in OURS_SEEDS]
    corrected = (f"BatchNorm statistics and biases corrected on {CALIBRATION_IMAGES} training images, "
                 f"draws seeded {', '.join(map(str, OURS_SEEDS))}; " if calibrate else "")
    for step in steps_for_bits_per_weight(ctx, RD_BITS):
        for lam in RD_LAMBDAS:
            setting = f"step={step:.4g},lam={lam:g},rest=float16"
            if setting in done:
                continue
            config = PostTrainingConfig(step=step, rd_lambda=lam, rest_dtype="float16")
            files = [one_file(ctx, tmp / f"{ctx.name}-rd.dsz", config, calibration) for calibration in calibrations]
            first = files[0]
            notes = f"no fine-tuning, no dither; {corrected}{first.notes}"
            yield Measurement(setting, first.bytes, tuple(f.accuracy for f in files),
                              float(np.mean([f.encode_s for f in files])), float(np.mean([f.decode_s for f in files])),
                              notes)


def run_ours_default(ctx: Context, done: set[str], tmp: Path) -> Iterator[Measurement]:
    """``compress`` with its defaults: one file, one accuracy."""
    if "default" in done:
        return
    measured = one_file(ctx, tmp / f"{ctx.name}-default.dsz", PostTrainingConfig())
    yield Measurement("default", measured.bytes, (measured.accuracy,), measured.encode_s, measured.decode_s,
                      f"no fine-tuning, no dither; step={measured.step:.4g}; {measured.notes}")


@dataclass(frozen=True)
class OneFile:
    """One post-training file, written, decoded, scored and deleted."""

    bytes: int
    accuracy: float
    encode_s: float
    decode_s: float
    step: float
    notes: str


def one_file(ctx: Context, path: Path, config: PostTrainingConfig, calibration: Calibration | None = None) -> OneFile:
    """Write ``path`` with ``config``, decode it, score it, delete it (CPU seconds of each part)."""
    start = time.process_time()
    summaries = compress_state_dict(ctx.state, path, config, calibration=calibration)
    encode_s = time.process_time() - start
    start = time.process_time()
    decoded = formats.load(path)
    decode_s = time.process_time() - start
    size = path.stat().st_size
    path.unlink()
    notes = (f"bpw={8 * size / ctx.float_params:.3f}; "
             f"sparsity={weight_sparsity(decoded, ctx.quantized_names):.4f}")
    step = next((s.step for s in summaries if s.quantized and s.step is not None), float("nan"))
    return OneFile(size, accuracy_pct(ctx.model, ctx.data, decoded), encode_s, decode_s, step, notes)


def import_nncodec() -> tuple[Callable[..., object], Callable[..., object]]:
    """``(compress, decompress)`` of NNCodec (:mod:`nncodec_shim`: stand-ins for its dataset-helper imports
    when those packages are missing); raises whatever the import raises."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from nncodec_shim import import_nncodec_coder  # optional, heavy; only imported when asked for

    compress, decompress, stand_ins = import_nncodec_coder()
    if stand_ins:
        print(f"nncodec: imported with empty stand-ins for its dataset helpers {', '.join(stand_ins)} "
              "(its coder does not use them)", flush=True)
    return compress, decompress


def run_nncodec(ctx: Context, done: set[str], tmp: Path) -> Iterator[Measurement]:
    """NNCodec (DeepCABAC) over qp x use_dq; integer buffers travel as int32, 0-d tensors as 1-element arrays."""
    compress, decompress = import_nncodec()
    # NNCodec takes float32 / int32 arrays of at least one dimension (BatchNorm's step counter is a 0-d int64)
    params = {
        k: np.atleast_1d(v.astype(np.float32) if v.dtype.kind == "f" else v.astype(np.int32))
        for k, v in ctx.weights.items()
    }
    for qp in NNC_QP:
        for use_dq in NNC_DQ:
            setting = f"qp={qp},dq={int(use_dq)}"
            if setting in done:
                continue
            start = time.process_time()
            stream = compress(
                {k: v.copy() for k, v in params.items()},
                bitstream_path=str(tmp / "nncodec.nnc"),
                qp=qp,
                use_dq=use_dq,
                nonweight_qp=NNC_NONWEIGHT_QP,
                return_bitstream=True,
            )
            encode_s = time.process_time() - start
            start = time.process_time()
            restored = decompress(bytearray(stream))  # type: ignore[arg-type]
            decode_s = time.process_time() - start
            decoded = {k: np.asarray(restored[k]).reshape(v.shape) for k, v in ctx.weights.items()}  # type: ignore[index]
            acc = accuracy_pct(ctx.model, ctx.data, decoded)
            size = len(stream)  # type: ignore[arg-type]
            notes = (
                f"nncodec default settings, nonweight_qp={NNC_NONWEIGHT_QP}; bpw={8 * size / ctx.float_params:.3f}; "
                f"sparsity={weight_sparsity(decoded, ctx.quantized_names):.4f}"
            )
            yield Measurement(setting, size, (acc,), encode_s, decode_s, notes)


def measurements(method: str, ctx: Context, done: set[str], tmp: Path) -> Iterator[Measurement]:
    """The measurements of ``method`` on ``ctx`` not yet in ``done`` (settings), one at a time."""
    if method == "float32+zstd":
        return run_zstd(ctx, done)
    if method == "deep-compression":
        return run_deep_compression(ctx, done)
    if method == "ours-post-training":
        return run_ours(ctx, done, tmp)
    if method == "ours-rd":
        return run_ours_rd(ctx, done, tmp)
    if method == "ours-default":
        return run_ours_default(ctx, done, tmp)
    if method == "ours-rd-cal":
        return run_ours_rd(ctx, done, tmp, calibrate=True)
    if method == "nncodec":
        return run_nncodec(ctx, done, tmp)
    raise ValueError(f"unknown method {method!r}")


# ----------------------------------------------------------------------------------------------- CSV


def read_rows(path: Path) -> list[dict[str, str]]:
    """Rows of the CSV (empty when it does not exist)."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def append_row(path: Path, row: Mapping[str, object]) -> None:
    """Append one row (the header first when the file is new), flushed at once."""
    new = not path.is_file() or path.stat().st_size == 0
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def to_row(ctx: Context, method: str, m: Measurement) -> dict[str, object]:
    """Format a measurement as a CSV row."""
    mean = float(np.mean(m.accuracies))
    return {
        "model": ctx.name,
        "method": method,
        "setting": m.setting,
        "bytes": m.bytes,
        "ratio": f"{ctx.float32_bytes / m.bytes:.3f}",
        "acc_mean": f"{mean:.4f}",
        "acc_min": f"{min(m.accuracies):.4f}",
        "acc_max": f"{max(m.accuracies):.4f}",
        "loss_pt": f"{ctx.dense_acc - mean:.4f}",
        "encode_s": f"{m.encode_s:.3f}",
        "decode_s": "" if m.decode_s is None else f"{m.decode_s:.3f}",
        "notes": m.notes,
    }


def print_summary(path: Path, models: list[str]) -> None:
    """Per model and method: the largest ratio within the accuracy-loss budget, from the whole CSV."""
    rows = read_rows(path)
    print(f"\nbest ratio within the accuracy budget ({path}):")
    print(f"{'model':<10}{'budget':>8}  {'method':<20}{'ratio':>9}{'loss_pt':>9}{'acc':>9}  setting")
    for model in models:
        budget = BUDGET_PT.get(model, DEFAULT_BUDGET_PT)
        for method in METHODS:
            ok = [r for r in rows if r["model"] == model and r["method"] == method and float(r["loss_pt"]) <= budget]
            if not ok:
                if any(r["model"] == model and r["method"] == method for r in rows):
                    print(f"{model:<10}{budget:>8.1f}  {method:<20}{'-':>9}  (no setting within budget)")
                continue
            best = max(ok, key=lambda r: float(r["ratio"]))
            print(
                f"{model:<10}{budget:>8.1f}  {method:<20}{float(best['ratio']):>9.2f}{float(best['loss_pt']):>9.2f}"
                f"{float(best['acc_mean']):>9.2f}  {best['setting']}"
            )


# ----------------------------------------------------------------------------------------------- main


def parse_list(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    """A comma-separated subset of ``allowed``."""
    items = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)}; known: {', '.join(allowed)}")
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS), type=lambda v: parse_list(v, MODELS, "model"))
    parser.add_argument("--methods", default=",".join(METHODS), type=lambda v: parse_list(v, METHODS, "method"))
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    done: dict[tuple[str, str], set[str]] = {}
    for row in read_rows(args.csv):
        done.setdefault((row["model"], row["method"]), set()).add(row["setting"])

    nncodec_ok = "nncodec" in args.methods
    if nncodec_ok:
        try:
            import_nncodec()
        except BaseException as exc:  # noqa: B036 - NNCodec raises SystemExit on bad input
            if isinstance(exc, KeyboardInterrupt):
                raise
            print(f"nncodec column skipped: import failed ({type(exc).__name__}: {exc})")
            nncodec_ok = False

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="baselines-") as tmp_name:
        tmp = Path(tmp_name)
        for name in args.models:
            ctx = make_context(name, args.data_root)
            print(
                f"[{time.perf_counter() - t0:7.1f}s] {name}: dense {ctx.dense_acc:.2f} %, "
                f"{ctx.float32_bytes:,} float32 bytes, {ctx.float_params:,} float parameters",
                flush=True,
            )
            for method in args.methods:
                if method == "nncodec" and not nncodec_ok:
                    continue
                try:
                    for m in measurements(method, ctx, done.get((name, method), set()), tmp):
                        row = to_row(ctx, method, m)
                        append_row(args.csv, row)
                        print(
                            f"[{time.perf_counter() - t0:7.1f}s] {name} {method} {m.setting}: {m.bytes:,} B, "
                            f"ratio {row['ratio']}, acc {row['acc_mean']} (loss {row['loss_pt']} pt)",
                            flush=True,
                        )
                except BaseException as exc:  # noqa: B036 - NNCodec raises SystemExit on bad input
                    if method != "nncodec" or isinstance(exc, KeyboardInterrupt):
                        raise
                    print(f"nncodec column skipped: a call failed ({type(exc).__name__}: {exc})")
                    nncodec_ok = False
    print(f"done in {time.perf_counter() - t0:.1f}s")
    print_summary(args.csv, args.models)


if __name__ == "__main__":
    main()
