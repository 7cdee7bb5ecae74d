"""``dualsparse demo``: the main job end to end on an embedded default, no input needed."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np
import torch

import formats
from compress.cli.compress_cmd import compress_command
from compress.cli.decompress_cmd import decompress_command
from compress.cli.inspect_cmd import inspect_command
from compress.cli.verify_cmd import verify_command


@click.command("demo")
@click.option("--workdir", type=click.Path(path_type=Path, file_okay=False), default=Path("dualsparse-demo"),
              show_default=True, help="Where the demo writes its files (created; existing demo files are replaced).")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True)
@click.pass_context
def demo_command(ctx: click.Context, workdir: Path, seed: int) -> None:
    """Build a LeNet-5 (Caffe 20-50-500) with seeded weights, compress it post-training, then inspect,
    verify and decompress the .dsz file to the spatial and the Winograd domain."""
    from compress.zoo import get_model

    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    checkpoint = workdir / "lenet5.pt"
    artifact = workdir / "lenet5.dsz"
    torch.manual_seed(seed)
    model = get_model("lenet5")
    torch.save(model.state_dict(), checkpoint)
    click.echo(f"[1/5] built lenet5 with seed {seed}: {checkpoint} ({checkpoint.stat().st_size:,} bytes)")

    click.echo("[2/5] compress (dithered uniform quantization, 5 bits, best codec per tensor)")
    ctx.invoke(compress_command, checkpoint=checkpoint, output=artifact, bits=5, step=None, codec="auto",
               seed=seed, min_dims=2, model_name="lenet5", force=True, quiet=False)
    click.echo("[3/5] inspect")
    ctx.invoke(inspect_command, path=artifact, as_json=False)
    click.echo("[4/5] verify")
    ctx.invoke(verify_command, path=artifact, quiet=False)
    click.echo("[5/5] decompress to both domains")
    spatial = workdir / "lenet5-spatial.safetensors"
    winograd = workdir / "lenet5-winograd.safetensors"
    ctx.invoke(decompress_command, path=artifact, output=spatial, domain="spatial", sparsity=None, force=True,
               quiet=False)
    ctx.invoke(decompress_command, path=artifact, output=winograd, domain="winograd", sparsity=0.5, force=True,
               quiet=False)

    original = {k: v.numpy() for k, v in model.state_dict().items()}
    decoded = formats.load(artifact)
    worst = max(float(np.max(np.abs(decoded[k] - original[k]))) for k in original)
    click.echo(f"largest |decoded - original| weight error: {worst:.4g}; "
               f"{sum(v.nbytes for v in original.values()):,} float32 bytes -> {artifact.stat().st_size:,} bytes; "
               f"done in {time.perf_counter() - started:.1f} s")
