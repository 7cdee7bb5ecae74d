"""Encode time of post-training compression next to NNCodec's, and what the estimated "auto" costs in size.

Run from the repository root (about a minute on one core)::

    python examples/bench_encode.py --threads 1

In one process it

* times :func:`compress.post_training.compress_state_dict` on ResNet-56 (``bits=6`` and ``step=0.03766``,
  codec ``auto``), CPU seconds (``time.process_time``) and wall seconds, the best of ``--repeats`` runs after
  a warm-up;
* times NNCodec's encode (``nncodec.nnc.compress``, ``qp=-20``, ``use_dq`` on and off, ``nonweight_qp=-75``
  as in ``examples/results/baselines.py``) of the same state_dict the same way, or says in one line why it
  is skipped;
* prints, for ResNet-56, ResNet-32 and LeNet-5, the file size with the estimated ``auto``
  (:func:`formats.codecs.encode_auto`) next to the size with every candidate coded
  (:func:`formats.codecs.encode_best`, the previous rule), and the CPU seconds of both.

Checkpoints come from ``--data-root`` (default ``../shared/data``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

import formats.codecs
from compress.post_training import PostTrainingConfig, compress_state_dict
from compress.zoo.pretrained import load_pretrained

NNC_QP = -20
NNC_NONWEIGHT_QP = -75
SETTINGS: dict[str, PostTrainingConfig] = {
    "bits=6": PostTrainingConfig(bits=6),
    "step=0.03766": PostTrainingConfig(step=0.03766),
}
SIZE_MODELS = ("resnet56", "resnet32", "lenet5")


@contextlib.contextmanager
def exhaustive_auto() -> Iterator[None]:
    """``auto`` codes every candidate while inside (the rule before estimates)."""
    saved = formats.codecs.encode_auto
    formats.codecs.encode_auto = formats.codecs.encode_best  # type: ignore[assignment]
    try:
        yield
    finally:
        formats.codecs.encode_auto = saved  # type: ignore[assignment]


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Best CPU and best wall seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return min(cpu), min(wall)


def state_of(name: str, root: Path) -> dict[str, torch.Tensor]:
    """The pretrained state_dict of a zoo model."""
    return {k: v.detach().clone() for k, v in load_pretrained(name, root).state_dict().items()}


def nncodec_encoder(tmp: Path) -> Callable[[dict[str, np.ndarray], bool], bytes] | str:
    """NNCodec's encode as ``f(params, use_dq) -> bitstream``, or why it cannot run."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "results"))
    try:
        from nncodec_shim import import_nncodec_coder

        compress, _, _ = import_nncodec_coder()
    except BaseException as exc:  # noqa: BLE001 - NNCodec raises SystemExit on some import problems
        if isinstance(exc, KeyboardInterrupt):
            raise
        return f"{type(exc).__name__}: {exc}"

    def encode(params: dict[str, np.ndarray], use_dq: bool) -> bytes:
        return compress(  # type: ignore[return-value]
            {k: v.copy() for k, v in params.items()}, bitstream_path=str(tmp / "nncodec.nnc"), qp=NNC_QP,
            use_dq=use_dq, nonweight_qp=NNC_NONWEIGHT_QP, return_bitstream=True,
        )

    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bench-encode-") as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "model.dsz"
        r56 = state_of("resnet56", args.data_root)
        print(f"ResNet-56 encode, best of {args.repeats} after a warm-up (CPU s = time.process_time)")
        for setting, config in SETTINGS.items():
            cpu, wall = timed(lambda c=config: compress_state_dict(r56, out, c), args.repeats)
            size = out.stat().st_size
            print(f"  ours    {setting:<14} auto (estimated)  cpu {cpu:6.3f} s  wall {wall:6.3f} s  {size} B")
        encoder = nncodec_encoder(tmp)
        if isinstance(encoder, str):
            print(f"  nncodec skipped: cannot import it ({encoder})")
        else:
            params = {k: np.atleast_1d(v.numpy().astype(np.float32) if v.is_floating_point() else
                                       v.numpy().astype(np.int32)) for k, v in r56.items()}
            for use_dq in (True, False):
                size = len(encoder(params, use_dq))
                cpu, wall = timed(lambda d=use_dq: encoder(params, d), args.repeats)
                print(f"  nncodec qp={NNC_QP},dq={int(use_dq)}                  cpu {cpu:6.3f} s  wall {wall:6.3f} s  "
                      f"{size} B")
        print("File size, estimated auto vs every candidate coded (one run each, CPU s)")
        for name in SIZE_MODELS:
            state = r56 if name == "resnet56" else state_of(name, args.data_root)
            for setting, config in SETTINGS.items():
                if name != "resnet56" and setting != "bits=6":
                    continue
                c0 = time.process_time()
                compress_state_dict(state, out, config)
                new_cpu, new_size = time.process_time() - c0, os.path.getsize(out)
                with exhaustive_auto():
                    c0 = time.process_time()
                    compress_state_dict(state, out, config)
                    old_cpu, old_size = time.process_time() - c0, os.path.getsize(out)
                print(f"  {name:<9} {setting:<14} estimated {new_size:>8} B ({new_cpu:5.2f} s)  every candidate "
                      f"{old_size:>8} B ({old_cpu:5.2f} s)  size +{100 * (new_size / old_size - 1):.3f} %")


if __name__ == "__main__":
    main()
