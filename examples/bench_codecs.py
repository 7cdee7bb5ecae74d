"""Benchmark every .dsz codec on the quantized weights of real checkpoints.

Loads LeNet-5 (MNIST) and CIFAR-10 ResNet-20/56 from ../shared/data (plus one seeded 4096 x 1024
Gaussian layer, "synthetic4m", for the steady-state rate on a large tensor; it stays out of the
checkpoint totals), quantizes every weight tensor with at least 2 dimensions to small integer
indices, and prints per stream and in total: payload
bytes, bits per weight, ratio to the order-0 bound N*H0 (tables and headers included), encode and
decode speed in MB/s of index bytes (one index byte per weight, uint8); for rANS (6) and rANS-ZS (7)
also the speed of ``decode_batch`` over all streams of a model at once (the batched path
``Reader.read_many`` and the loader use), and for rANS-CTX (8) of its own batched decoder
(``formats.codecs.rans_ctx.decode_many``), next to decoding them one by one.

``--dsz FILE ...`` measures the quantized tensors stored in ``.dsz`` files instead (their symbols as
stored, uint8 or uint16, no re-quantization): one section per file, then the total over all files.

Times are CPU seconds of this process (``time.process_time``; every codec here runs on one core), so
other load on the machine inflates them less than wall-clock time would; decode is the best of
``--repeat`` runs.

Quantizer (a stand-in for the trained pipeline, good enough to exercise the coders): a dead-zone
uniform quantizer. ``t`` is the ``--sparsity`` quantile of |w| (default 0.8), weights with
|w| < t become 0; the others become ``sign(w) * (1 + floor((|w| - t) / step))`` with
``step = (max|w| - t) / (--levels / 2)``, so about 80 % zeros and up to ``--levels + 1`` levels
(default 24 -> 25). Indices are shifted to be non-negative and stored as uint8.

Run: ``python examples/bench_codecs.py`` (``--help`` for options), or for stored files
``python examples/bench_codecs.py --dsz /tmp/dualsparse-study/r32-*.dsz --codecs rans,rans-zs,rans-ctx``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formats.codecs import CODECS, codec_id_from_name, get_codec, rans_ctx
from formats.codecs.batch import decode_batch
from formats.entropy import order0_entropy_bytes
from formats.ids import CodecId

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MODELS = {
    "lenet": "mnist-lenet-dhl0917/LeNet_MNIST_params.pkl",
    "resnet20": "cifar10-resnet-akamaster/resnet20-12fca82f.th",
    "resnet56": "cifar10-resnet-akamaster/resnet56-4bfd9763.th",
}
SYNTHETIC = "synthetic4m"  # one 4096 x 1024 Gaussian layer: the steady-state rate on a large tensor


def load_weights(path: Path) -> dict[str, np.ndarray]:
    import torch  # only this example needs torch; formats/ never imports it

    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj:
        obj = obj["state_dict"]
    out = {}
    for name, tensor in obj.items():
        if hasattr(tensor, "dim") and tensor.dim() >= 2:
            out[name.removeprefix("module.")] = tensor.detach().float().numpy()
    return out


def synthetic_weights() -> dict[str, np.ndarray]:
    """One large layer of seeded Gaussian weights (not a checkpoint: kept out of the checkpoint totals)."""
    return {"big.weight": np.random.default_rng(0).standard_normal((4096, 1024)).astype(np.float32) * 0.02}


def quantize(w: np.ndarray, sparsity: float, levels: int) -> np.ndarray:
    mag = np.abs(w.ravel()).astype(np.float64)
    t = float(np.quantile(mag, sparsity))
    step = max((float(mag.max()) - t) / (levels // 2), 1e-12)
    q = np.where(mag < t, 0, np.sign(w.ravel()) * (1 + np.floor((mag - t) / step)))
    q = np.clip(q, -(levels // 2), levels // 2).astype(np.int64)
    return (q + levels // 2).astype(np.uint8)


@dataclass
class Totals:
    bytes: int = 0
    n: int = 0
    bound: float = 0.0
    enc_s: float = 0.0
    dec_s: float = 0.0
    worst_ratio_64k: float = 0.0
    per_stream: list[float] = field(default_factory=list)


def dsz_streams(path: Path) -> dict[str, np.ndarray]:
    """The symbols of every quantized tensor of a ``.dsz`` file, as stored (uint8 or uint16)."""
    import formats  # the reader, only for --dsz

    out = {}
    with formats.open_dsz(path) as reader:
        for record in reader.records:
            if record.kind == formats.TensorKind.QUANTIZED:
                out[record.name] = np.ascontiguousarray(reader.read_quantized(record.name).symbols).reshape(-1)
    return out


def measure(codec_id: int, data: bytes, repeat: int, itemsize: int = 1) -> tuple[bytes, float, float]:
    codec = get_codec(codec_id)
    t0 = time.process_time()
    payload = codec.encode(data, itemsize)
    enc = time.process_time() - t0
    dec = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        out = codec.decode(payload, len(data), itemsize)
        dec = min(dec, time.process_time() - t0)
    if out != data:
        raise SystemExit(f"{codec.name} failed to round-trip")
    return payload, enc, dec


def measure_batched(
    codec_id: int, payloads: list[bytes], datas: list[bytes], repeat: int, itemsizes: list[int] | None = None
) -> float:
    """Best CPU seconds of the batched decoder over all streams of a model coded with ``codec_id``
    (``decode_batch`` for codecs 6 and 7, ``rans_ctx.decode_many`` for codec 8)."""
    sizes = itemsizes or [1] * len(datas)
    requests = [(p, len(d), i) for p, d, i in zip(payloads, datas, sizes, strict=True)]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        if codec_id == CodecId.RANS_CTX:
            out = rans_ctx.decode_many(requests)
        else:
            out = decode_batch([(codec_id, *r) for r in requests])
        best = min(best, time.process_time() - t0)
    if out != datas:
        raise SystemExit(f"codec {codec_id}: decode_batch failed to round-trip")
    return best


def mbps(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e6:8.1f}" if seconds > 0 else "     inf"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    choices = ",".join([*MODELS, SYNTHETIC])
    ap.add_argument("--models", default=None, help=f"comma list of {choices} (default: all, or none with --dsz)")
    ap.add_argument("--dsz", type=Path, nargs="*", default=[], help="measure the quantized tensors of these files")
    ap.add_argument("--codecs", default=",".join(c.name for _, c in sorted(CODECS.items())))
    ap.add_argument("--sparsity", type=float, default=0.8, help="fraction of weights quantized to zero")
    ap.add_argument("--levels", type=int, default=24, help="non-zero levels (even); indices in [0, levels]")
    ap.add_argument("--repeat", type=int, default=3, help="decode timings: best of this many runs")
    ap.add_argument("--per-stream", action="store_true", help="print every codec on every stream")
    ap.add_argument("--data", type=Path, default=DATA, help="path to the shared data folder")
    args = ap.parse_args()
    codec_ids = [codec_id_from_name(c) for c in args.codecs.split(",")]
    names = {c: get_codec(c).name for c in codec_ids}
    models = args.models if args.models is not None else ("" if args.dsz else f"lenet,resnet20,resnet56,{SYNTHETIC}")

    grand = {c: Totals() for c in codec_ids}
    batchable = [c for c in codec_ids if c in (CodecId.RANS, CodecId.RANS_ZS, CodecId.RANS_CTX)]
    batched: list[tuple[str, str, int, float, float]] = []  # model, codec, symbols, one-by-one s, batched s
    sources = 0
    sets: list[tuple[str, dict[str, np.ndarray], bool]] = []  # label, streams, counted in the grand total
    for model in filter(None, models.split(",")):
        if model == SYNTHETIC:
            weights = synthetic_weights()
        else:
            path = args.data / MODELS[model]
            if not path.exists():
                print(f"skipping {model}: {path} not found")
                continue
            weights = load_weights(path)
        streams = {name: quantize(w, args.sparsity, args.levels) for name, w in weights.items()}
        sets.append((model, streams, model != SYNTHETIC))
    for path in args.dsz:
        sets.append((path.name, dsz_streams(path), True))
    for model, streams, counted in sets:
        sources += counted
        totals = {c: Totals() for c in codec_ids}
        kept: dict[int, list[bytes]] = {c: [] for c in batchable}
        datas: list[bytes] = []
        itemsizes: list[int] = []
        print(f"\n== {model}: {len(streams)} weight tensors ==")
        head = "".join(f"{names[c]:>9}" for c in codec_ids)
        print(f"{'stream':28} {'N':>8} {'levels':>6} {'zeros':>6} {'N*H0 B':>9} | ratio to N*H0: {head}")
        for name, sym in streams.items():
            itemsize = sym.dtype.itemsize
            data = sym.astype(sym.dtype.newbyteorder("<")).tobytes()
            bound = order0_entropy_bytes(sym)
            datas.append(data)
            itemsizes.append(itemsize)
            ratios = []
            for c in codec_ids:
                payload, enc, dec = measure(c, data, args.repeat, itemsize)
                size = len(payload)
                if c in kept:
                    kept[c].append(payload)
                for tot in (totals[c], grand[c]) if counted else (totals[c],):
                    tot.bytes += size
                    tot.n += sym.size
                    tot.bound += bound
                    tot.enc_s += enc
                    tot.dec_s += dec
                    if sym.size >= 65536:
                        tot.worst_ratio_64k = max(tot.worst_ratio_64k, size / bound)
                ratios.append(size / bound if bound else float("nan"))
                if args.per_stream:
                    print(
                        f"    {names[c]:8} {size:9d} B {8 * size / sym.size:6.3f} b/w ratio {ratios[-1]:6.4f}"
                        f"  enc {mbps(sym.size, enc)} MB/s  dec {mbps(sym.size, dec)} MB/s"
                    )
            counts = np.bincount(sym.astype(np.int64))
            zeros = float(counts.max() / sym.size)
            cells = "".join(f"{r:9.4f}" for r in ratios)
            levels = np.count_nonzero(counts)
            print(f"{name:28} {sym.size:8d} {levels:6d} {zeros:6.1%} {bound:9.0f} | {' ' * 15}{cells}")
        print_totals(model, totals, names)
        for c in batchable:
            batch_s = measure_batched(c, kept[c], datas, args.repeat, itemsizes)
            batched.append((model, names[c], sum(len(d) for d in datas), totals[c].dec_s, batch_s))
    if sources > 1:
        print_totals("all files" if args.dsz else "all checkpoints", grand, names)
    if batched:
        print("-- rANS decode, MB/s of index bytes: one tensor at a time vs batched over the model --")
        print(f"{'model':36} {'codec':8} {'symbols':>9} {'one-by-one':>11} {'batched':>9}")
        for model, codec, n, one_s, batch_s in batched:
            print(f"{model:36} {codec:8} {n:9d} {mbps(n, one_s):>11} {mbps(n, batch_s):>9}")


def print_totals(title: str, totals: dict[int, Totals], names: dict[int, str]) -> None:
    print(f"-- {title}: totals --")
    print(
        f"{'codec':8} {'bytes':>9} {'N*H0 B':>9} {'bits/w':>7} {'ratio':>7} {'worst>=64K':>10}"
        f" {'enc MB/s':>9} {'dec MB/s':>9}"
    )
    for c, t in totals.items():
        if not t.n:
            continue
        worst = f"{t.worst_ratio_64k:10.4f}" if t.worst_ratio_64k else f"{'-':>10}"
        print(
            f"{names[c]:8} {t.bytes:9d} {t.bound:9.0f} {8 * t.bytes / t.n:7.3f} {t.bytes / t.bound:7.4f} {worst}"
            f" {mbps(t.n, t.enc_s)} {mbps(t.n, t.dec_s)}"
        )


if __name__ == "__main__":
    main()
