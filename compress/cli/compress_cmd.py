"""``dualsparse compress``: a checkpoint in, one ``.dsz`` file out."""

from __future__ import annotations

from pathlib import Path

import click

from compress.checkpoints import load_state_dict
from compress.cli.options import check_output_path
from compress.post_training import PostTrainingConfig, compress_state_dict

CODEC_NAMES = ("auto", "raw", "zstd", "brotli", "bzip2", "lzma", "lzw", "rans")


@click.command("compress")
@click.argument("checkpoint", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The .dsz file to write (written atomically).")
@click.option("--bits", type=int, default=None, show_default="6 when --step is not given",
              help="Per-tensor bit budget: levels within ±(2^(bits-1) - 1).")
@click.option("--step", type=float, default=None, help="One quantization interval Δ for every weight tensor.")
@click.option("--codec", type=click.Choice(CODEC_NAMES), default="auto", show_default=True,
              help="Entropy coder for weight tensors; auto keeps the smallest per tensor.")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
              help="Dither seed; the same seed gives a byte-identical file.")
@click.option("--min-dims", type=click.IntRange(1), default=2, show_default=True,
              help="Quantize floating tensors with at least this many dimensions; store the rest losslessly.")
@click.option("--model", "model_name", default=None,
              help="Zoo architecture of the checkpoint (e.g. lenet5, resnet20): checks the weights fit it and marks "
                   "its stride-1 3x3/5x5 convs for Winograd deployment.")
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
def compress_command(checkpoint: Path, output: Path, bits: int | None, step: float | None, codec: str,
                     seed: int, min_dims: int, model_name: str | None, force: bool, quiet: bool) -> None:
    """Quantize CHECKPOINT (state_dict .pt/.pth/.th or .safetensors) post-training and code it into OUTPUT.

    Weights are quantized with dithered uniform quantization (weights that round to zero are
    pruned); biases and buffers are stored losslessly.
    """
    if bits is not None and step is not None:
        raise click.UsageError("give --bits or --step, not both")
    config = PostTrainingConfig(bits=6 if bits is None and step is None else bits, step=step, seed=seed,
                                codec=codec, min_dims=min_dims)
    check_output_path(output, [checkpoint], force=force, suffixes=(".dsz",))
    state_dict = load_state_dict(checkpoint)
    attrs = model_winograd_attrs(model_name, state_dict) if model_name else None
    metadata = {"source": checkpoint.name, **({"model": model_name} if model_name else {})}
    summaries = compress_state_dict(state_dict, output, config, metadata=metadata, attrs=attrs)
    if quiet:
        return
    in_bytes = checkpoint.stat().st_size
    out_bytes = output.stat().st_size
    quantized = [s for s in summaries if s.quantized]
    n_weights = sum(_numel(s.shape) for s in quantized)
    n_zero = sum(_numel(s.shape) * s.sparsity for s in quantized)
    click.echo(f"wrote {output}: {len(summaries)} tensors ({len(quantized)} quantized), "
               f"{in_bytes:,} -> {out_bytes:,} bytes ({in_bytes / max(out_bytes, 1):.1f}x smaller than the input); "
               f"weight sparsity {n_zero / max(n_weights, 1):.1%}")


def model_winograd_attrs(model_name: str, state_dict: dict) -> dict[str, dict[str, object]]:
    """Check that ``state_dict`` fits the zoo model ``model_name`` and return its Winograd marks."""
    from compress.deploy_attrs import winograd_attrs
    from compress.errors import CheckpointError
    from compress.zoo import get_model

    model = get_model(model_name)
    missing, unexpected = _key_mismatch(model.state_dict(), state_dict)
    if missing or unexpected:
        raise CheckpointError(
            f"the checkpoint does not fit model {model_name!r}: missing {', '.join(missing[:3]) or 'none'}; "
            f"unexpected {', '.join(unexpected[:3]) or 'none'}"
        )
    return winograd_attrs(model)


def _key_mismatch(expected: dict, given: dict) -> tuple[list[str], list[str]]:
    wanted = {k for k in expected if not k.endswith("num_batches_tracked")}
    have = set(given)
    missing = sorted(wanted - have)
    unexpected = sorted(k for k in have - set(expected))
    mismatched = sorted(k for k in wanted & have if tuple(expected[k].shape) != tuple(given[k].shape))
    return missing + [f"{k} (shape)" for k in mismatched], unexpected


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
