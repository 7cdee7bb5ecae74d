"""``dualsparse compress``: a checkpoint in, one ``.dsz`` file out.

Two paths: post-training (``dualsparse compress CHECKPOINT -o OUT.dsz``: dithered quantization and
coding, no training) and the full pipeline of a recipe (``dualsparse compress --recipe NAME|FILE.toml
[CHECKPOINT] -o OUT.dsz``: fine-tune, quantize, codebook-tune, write; checkpoints in ``OUT.dsz.ckpt``,
``--resume`` continues an interrupted run to the same bytes; runs data-parallel under ``torchrun``).
"""

from __future__ import annotations

from pathlib import Path

import click

from compress.cli.options import InputFile, check_output_path
from compress.cli.progress import ClickProgress
from formats.codecs import codec_names

CODEC_NAMES = ("auto", *codec_names())


@click.command("compress")
@click.argument("checkpoint", required=False, type=InputFile())
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The .dsz file to write (written atomically).")
@click.option("--recipe", default=None, metavar="NAME|FILE.toml",
              help="Run the full pipeline of a recipe (built-in name, e.g. lenet5-mnist, or a TOML file): "
                   "fine-tune, quantize, codebook-tune, write. CHECKPOINT, if given, replaces the task's weights. "
                   "A recipe is code: its task may name any module:function, which runs.")
@click.option("--resume", is_flag=True, help="With --recipe: continue the interrupted run in the checkpoint directory.")
@click.option("--checkpoint-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              show_default="OUTPUT.ckpt next to OUTPUT", help="With --recipe: where run checkpoints go.")
@click.option("--checkpoint-every", type=click.IntRange(1), default=100, show_default=True,
              help="With --recipe: fine-tuning checkpoint period in steps (stages always end with one).")
@click.option("--keep-checkpoints", is_flag=True, help="With --recipe: keep the checkpoint directory afterwards.")
@click.option("--data-root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="With --recipe: overrides task.data_root (where built-in tasks find ../shared/data).")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads (default: torch's).")
@click.option("--stop-after-step", type=click.IntRange(1), default=None, hidden=True,
              help="Checkpoint and stop after this fine-tuning step (for testing --resume).")
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
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists (with --recipe: and start over).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.pass_context
def compress_command(ctx: click.Context, checkpoint: Path | None, output: Path, recipe: str | None, resume: bool,
                     checkpoint_dir: Path | None, checkpoint_every: int, keep_checkpoints: bool,
                     data_root: Path | None, threads: int | None, stop_after_step: int | None, bits: int | None,
                     step: float | None, codec: str, seed: int, min_dims: int, model_name: str | None, force: bool,
                     quiet: bool) -> None:
    """Compress CHECKPOINT (state_dict .pt/.pth/.th or .safetensors) into OUTPUT.

    Without --recipe: post-training dithered uniform quantization (weights that round to zero are
    pruned; biases and buffers are stored losslessly). With --recipe: the joint spatial/Winograd
    sparse pipeline, with progress bars on stderr and the stage report on stdout (also stored in the
    file's recipe under "report").
    """
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if recipe is not None:
        given = [f"--{name.replace('_', '-')}" for name in ("bits", "step", "codec", "seed", "min_dims", "model_name")
                 if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
        if given:
            raise click.UsageError(f"{', '.join(given).replace('--model-name', '--model')} belong to post-training "
                                   "compression; with --recipe set them in the recipe file")
        run_recipe_command(recipe, checkpoint, output, resume=resume, checkpoint_dir=checkpoint_dir,
                           checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints, data_root=data_root,
                           stop_after_step=stop_after_step, force=force, quiet=quiet)
        return
    flags = (("--resume", resume), ("--checkpoint-dir", checkpoint_dir is not None),
             ("--keep-checkpoints", keep_checkpoints), ("--data-root", data_root is not None),
             ("--stop-after-step", stop_after_step is not None))
    recipe_only = [name for name, on in flags if on]
    if recipe_only:
        raise click.UsageError(f"{', '.join(recipe_only)} need --recipe")
    if checkpoint is None:
        raise click.UsageError("give a CHECKPOINT to compress post-training, or --recipe NAME|FILE.toml")
    from compress.checkpoints import load_state_dict
    from compress.post_training import PostTrainingConfig, compress_state_dict

    if bits is not None and step is not None:
        raise click.UsageError("give --bits or --step, not both")
    config = PostTrainingConfig(bits=6 if bits is None and step is None else bits, step=step, seed=seed,
                                codec=codec, min_dims=min_dims)
    check_output_path(output, [checkpoint], force=force, suffixes=(".dsz",))
    state_dict = load_state_dict(checkpoint)
    attrs = model_winograd_attrs(model_name, state_dict) if model_name else None
    metadata = {"source": checkpoint.name, **({"model": model_name} if model_name else {})}
    summaries = compress_state_dict(state_dict, output, config, metadata=metadata, attrs=attrs, replace=force)
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


def run_recipe_command(recipe: str, checkpoint: Path | None, output: Path, *, resume: bool = False,
                       checkpoint_dir: Path | None = None, checkpoint_every: int = 100,
                       keep_checkpoints: bool = False, data_root: Path | None = None,
                       stop_after_step: int | None = None, force: bool = False, quiet: bool = False,
                       loaded: object | None = None) -> dict:
    """Run a recipe to OUTPUT with progress bars and print its report; returns the report.

    ``loaded`` is an already validated :class:`~compress.pipeline.recipe_file.Recipe` (then ``recipe``
    only names it in messages).
    """
    from compress.pipeline.recipe_file import Recipe, load_recipe
    from compress.pipeline.report import format_report
    from compress.pipeline.runner import RunOptions, run_recipe

    parsed = loaded if isinstance(loaded, Recipe) else load_recipe(recipe)
    inputs = [checkpoint] if checkpoint is not None else []
    check_output_path(output, inputs, force=force, suffixes=(".dsz",))
    options = RunOptions(checkpoint_dir=checkpoint_dir, resume=resume, restart=force and not resume,
                         checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints, data_root=data_root,
                         stop_after_step=stop_after_step, replace_output=force)
    result = run_recipe(parsed, output, weights=checkpoint, options=options, progress=ClickProgress(quiet))
    if result.output is None or quiet:
        return result.report
    for line in format_report(result.report):
        click.echo(line)
    click.echo(f"wrote {output}: {output.stat().st_size:,} bytes (recipe {recipe}"
               f"{', resumed: ' + ', '.join(result.resumed) if result.resumed else ''})")
    return result.report


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
