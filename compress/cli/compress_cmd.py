"""``dualsparse compress``: a checkpoint in, one ``.dsz`` file out.

Two paths: post-training (``dualsparse compress CHECKPOINT -o OUT.dsz``: dithered quantization and
coding, no training) and the full pipeline of a recipe (``dualsparse compress --recipe NAME|FILE.toml
[CHECKPOINT] -o OUT.dsz``: fine-tune, quantize, codebook-tune, write; checkpoints in ``OUT.dsz.ckpt``,
``--resume`` continues an interrupted run to the same bytes; runs data-parallel under ``torchrun``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from compress.cli.accuracy import InputShape, curve_header, eval_options, evaluation, outcome, point_printer
from compress.cli.options import InputFile, check_output_path
from compress.cli.progress import ClickProgress
from compress.errors import RecipeError
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
@click.option("--log-csv", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="With --recipe: where the run's CSV log goes (one row per logged step of fine-tuning and "
                   "codebook tuning) [default: OUTPUT.log.csv].")
@click.option("--no-log", is_flag=True, help="With --recipe: write no CSV log.")
@click.option("--tensorboard", "tensorboard_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="With --recipe: also log the rows as TensorBoard scalars in this directory (needs tensorboard).")
@click.option("--threads", type=click.IntRange(1), default=None, help="torch CPU threads (default: torch's).")
@click.option("--stop-after-step", type=click.IntRange(1), default=None, hidden=True,
              help="Checkpoint and stop after this fine-tuning step (for testing --resume).")
@click.option("--bits", type=int, default=None,
              help="Per-tensor bit budget: levels within ±(2^(bits-1) - 1), the step from each tensor's largest "
                   "weight.")
@click.option("--step", type=float, default=None,
              help="One quantization interval Δ for every weight tensor [default without --bits: 0.4 x the "
                   "standard deviation of all weight tensors together].")
@click.option("--dither", is_flag=True,
              help="Add the paper's subtractive dither before rounding (universal quantization; slightly larger "
                   "files at equal accuracy post-training).")
@click.option("--rd-lambda", type=click.FloatRange(0.0), default=0.0, show_default=True,
              help="Rate-distortion level choice: move a weight one level toward zero (or to zero) when the bits "
                   "saved times λ exceed the squared error added (in Δ²); 0 rounds to nearest. Try 0.05-0.2.")
@click.option("--rest-dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True,
              help="How the tensors that are not quantized (biases, norm statistics) are stored: float32 "
                   "losslessly, or float16 (half the bytes, relative error under 2^-11).")
@click.option("--calibrate", "calibrate_spec", default=None, metavar="TASK|module:function",
              help="Correct the BatchNorm statistics and biases for the quantization error on training inputs: a "
                   "built-in task's training images (e.g. resnet20-cifar10; never its test images) or your function "
                   "returning a tensor of inputs or a dataset. Needs the architecture (--model, or the built-in "
                   "task's).")
@click.option("--calibration-images", type=click.IntRange(1), default=512, show_default=True,
              help="With --calibrate: how many inputs (a seeded draw, run as one batch: memory grows with it, so "
                   "take fewer for large inputs).")
@click.option("--codec", type=click.Choice(CODEC_NAMES), default="auto", show_default=True,
              help="Entropy coder for every tensor; auto picks one per tensor by estimated size.")
@click.option("--seed", type=click.IntRange(0, 2**64 - 1), default=0, show_default=True,
              help="Dither seed (with --dither); the same seed gives a byte-identical file.")
@click.option("--min-dims", type=click.IntRange(1), default=2, show_default=True,
              help="Quantize floating tensors with at least this many dimensions; store the rest losslessly.")
@click.option("--model", "model_name", default=None, metavar="NAME|module:function",
              help="Architecture of the checkpoint: a zoo model (e.g. lenet5, resnet20) or your function that "
                   "returns the nn.Module (called with no arguments; imported and run). Checks the weights fit it "
                   "and marks its stride-1 convs for Winograd deployment (F(4, 3), F(4, 5) unless --winograd).")
@click.option("--input-shape", type=InputShape(), default=None,
              help="With an architecture: an example input shape (batch axis first, e.g. 1,3,32,32); one forward "
                   "pass shows which convs run and with which stride, and only those are marked.")
@click.option("--winograd", "winograd_map", default=None, metavar="R=M[,R=M...]",
              help="Mark k x k convs for Winograd F(m, k) deployment, e.g. 3=2,5=4 (tiles m in 1..8). With "
                   "--model (or a built-in --eval task) the architecture says which convs qualify. Without one, "
                   "every 4-D float tensor shaped (out, in, k, k) is marked: its stride, dilation and groups cannot "
                   "be seen, so you vouch that each runs stride 1, dilation 1, zero-padded (leave the others out "
                   "with --winograd-exclude).")
@click.option("--winograd-exclude", multiple=True, metavar="GLOB",
              help="Leave tensors whose names match GLOB unmarked (e.g. 'stem.*'); repeatable.")
@click.option("--search", "search_space", type=click.Choice(["bits", "step"]), default="bits", show_default=True,
              help="With --max-drop: the knob searched, a per-tensor bit budget (16 down to 2) or one step for "
                   "every tensor (quarter-octave grid).")
@eval_options
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists (with --recipe: and start over).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.pass_context
def compress_command(ctx: click.Context, checkpoint: Path | None, output: Path, recipe: str | None, resume: bool,
                     checkpoint_dir: Path | None, checkpoint_every: int, keep_checkpoints: bool,
                     log_csv: Path | None, no_log: bool, tensorboard_dir: Path | None, threads: int | None,
                     stop_after_step: int | None, bits: int | None,
                     step: float | None, dither: bool, rd_lambda: float, rest_dtype: str,
                     calibrate_spec: str | None, calibration_images: int, codec: str, seed: int,
                     min_dims: int, model_name: str | None,
                     input_shape: tuple[int, ...] | None, winograd_map: str | None, winograd_exclude: tuple[str, ...],
                     search_space: str, eval_spec: str | None, max_drop: float | None, data_root: Path | None,
                     force: bool, quiet: bool) -> None:
    """Compress CHECKPOINT (state_dict .pt/.pth/.th or .safetensors) into OUTPUT.

    Without --recipe: post-training uniform quantization (weights whose level is zero are pruned;
    biases and buffers are stored losslessly unless --rest-dtype float16); with --eval and --max-drop, at the coarsest
    setting whose file stays within the accuracy budget. With --recipe: the joint spatial/Winograd
    sparse pipeline, with progress bars on stderr and the stage report on stdout (also stored in the
    file's recipe under "report").
    """
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if recipe is not None:
        post_training = ("bits", "step", "dither", "rd_lambda", "rest_dtype", "calibrate_spec", "calibration_images",
                         "codec", "seed", "min_dims",
                         "model_name", "input_shape", "winograd_map", "winograd_exclude", "search_space", "eval_spec",
                         "max_drop")
        given = [_flag(name) for name in post_training
                 if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
        if given:
            raise click.UsageError(f"{', '.join(given)} belong to post-training compression; with --recipe set "
                                   "them in the recipe file (its [winograd] table marks the convs of its task's model)")
        if no_log and log_csv is not None:
            raise click.UsageError("--no-log and --log-csv contradict each other; give one")
        run_recipe_command(recipe, checkpoint, output, resume=resume, checkpoint_dir=checkpoint_dir,
                           checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints, data_root=data_root,
                           stop_after_step=stop_after_step, force=force, quiet=quiet, write_log=not no_log,
                           log_path=log_csv, tensorboard_dir=tensorboard_dir)
        return
    flags = (("--resume", resume), ("--checkpoint-dir", checkpoint_dir is not None),
             ("--keep-checkpoints", keep_checkpoints), ("--stop-after-step", stop_after_step is not None),
             ("--log-csv", log_csv is not None), ("--no-log", no_log), ("--tensorboard", tensorboard_dir is not None))
    recipe_only = [name for name, on in flags if on]
    if recipe_only:
        raise click.UsageError(f"{', '.join(recipe_only)} need --recipe")
    if checkpoint is None:
        raise click.UsageError("give a CHECKPOINT to compress post-training, or --recipe NAME|FILE.toml")
    _check_post_training_flags(ctx, bits, step, eval_spec, max_drop, data_root)
    from compress.checkpoints import load_state_dict
    from compress.post_training import PostTrainingConfig, compress_state_dict

    config = PostTrainingConfig(bits=bits, step=step, seed=seed, codec=codec, min_dims=min_dims, dither=dither,
                                rd_lambda=rd_lambda, rest_dtype=rest_dtype)
    check_output_path(output, [checkpoint], force=force, suffixes=(".dsz",))
    state_dict = load_state_dict(checkpoint)
    architecture = _architecture(model_name, state_dict, checkpoint)
    judge = evaluation(eval_spec, architecture, data_root) if eval_spec else None
    if judge is not None and architecture is None:
        from compress.entry_points import load_weights

        architecture = load_weights(judge.model, state_dict, f"checkpoint {checkpoint.name}")
    attrs = _marks(architecture, state_dict, model_name=model_name, input_shape=input_shape,
                   winograd_map=winograd_map, exclude=winograd_exclude)
    metadata = {"source": checkpoint.name, **({"model": model_name} if model_name else {})}
    calibration = _calibration(calibrate_spec, calibration_images, architecture, state_dict, checkpoint, data_root)
    in_bytes = checkpoint.stat().st_size
    if max_drop is not None and judge is not None:
        from compress.search import search_post_training

        baseline = judge.score(state_dict)
        if not quiet:
            click.echo(curve_header("the bit budget" if search_space == "bits" else "the step", judge, baseline,
                                    max_drop))
        result = search_post_training(
            state_dict, output, judge.score, max_drop, space=search_space, config=config, attrs=attrs,
            metadata=metadata, metric=judge.metric, higher_is_better=judge.higher_is_better,
            reference_bytes=in_bytes, baseline=baseline, on_point=None if quiet else point_printer(judge.metric),
            replace_output=force, calibration=calibration)
        if result.best is None:
            raise RecipeError(outcome(result, output))
        if not quiet:
            click.echo(outcome(result, output))
        return
    summaries = compress_state_dict(state_dict, output, config, metadata=metadata, attrs=attrs, replace=force,
                                    calibration=calibration)
    if quiet:
        return
    out_bytes = output.stat().st_size
    quantized = [s for s in summaries if s.quantized]
    n_weights = sum(_numel(s.shape) for s in quantized)
    n_zero = sum(_numel(s.shape) * s.sparsity for s in quantized)
    marked = f"; {len(attrs)} convs marked for Winograd" if attrs else ""
    click.echo(f"wrote {output}: {len(summaries)} tensors ({len(quantized)} quantized), "
               f"{in_bytes:,} -> {out_bytes:,} bytes ({in_bytes / max(out_bytes, 1):.1f}x smaller than the input); "
               f"weight sparsity {n_zero / max(n_weights, 1):.1%}{marked}")
    if judge is not None:
        import formats

        before, after = judge.score(state_dict), judge.score(formats.load(output))
        drop = before - after if judge.higher_is_better else after - before
        click.echo(f"{judge.metric} ({judge.name}): {before:.4f} uncompressed, {after:.4f} from the file "
                   f"(drop {drop:+.4f})")


def _calibration(spec: str | None, count: int, architecture: Any, state_dict: dict, checkpoint: Path,
                 data_root: Path | None) -> Any:
    """The :class:`~compress.post_training.Calibration` of ``--calibrate`` (None without it)."""
    if spec is None:
        return None
    from compress.entry_points import is_builtin_task, load_weights, resolve_calibration_inputs, task_model
    from compress.post_training import Calibration

    if architecture is None:
        if not is_builtin_task(spec):
            raise RecipeError(f"--calibrate {spec} needs the architecture: give --model NAME|module:function")
        architecture = load_weights(task_model(spec), state_dict, f"checkpoint {checkpoint.name}")
    inputs = resolve_calibration_inputs(spec, count, data_root=data_root or "../shared/data")
    return Calibration(architecture, inputs)


def _flag(name: str) -> str:
    return "--" + {"calibrate_spec": "calibrate", "model_name": "model", "winograd_map": "winograd",
                   "search_space": "search", "eval_spec": "eval"}.get(name, name).replace("_", "-")


def _check_post_training_flags(ctx: click.Context, bits: int | None, step: float | None, eval_spec: str | None,
                               max_drop: float | None, data_root: Path | None) -> None:
    if bits is not None and step is not None:
        raise click.UsageError("give --bits or --step, not both")
    if max_drop is not None and eval_spec is None:
        raise click.UsageError("--max-drop needs --eval TASK|module:function to score the candidates")
    if max_drop is not None and (bits is not None or step is not None):
        raise click.UsageError("--max-drop searches the bits (or, with --search step, the step): leave out "
                               "--bits and --step")
    if ctx.get_parameter_source("search_space") is not click.core.ParameterSource.DEFAULT and max_drop is None:
        raise click.UsageError("--search needs --max-drop")
    if data_root is not None and eval_spec is None:
        raise click.UsageError("--data-root needs --recipe or --eval")


def _architecture(model_name: str | None, state_dict: dict, checkpoint: Path) -> Any:
    """The ``--model`` architecture holding the checkpoint's weights (None without ``--model``)."""
    if model_name is None:
        return None
    from compress.entry_points import build_architecture, load_weights

    return load_weights(build_architecture(model_name), state_dict, f"checkpoint {checkpoint.name}")


def _marks(architecture: Any, state_dict: dict, *, model_name: str | None, input_shape: tuple[int, ...] | None,
           winograd_map: str | None, exclude: tuple[str, ...]) -> dict[str, dict[str, object]] | None:
    """The Winograd marks: from the architecture (traced when an input shape is given), else from shapes."""
    from compress.deploy_attrs import parse_m_for_r, shape_winograd_attrs, traced_winograd_attrs, winograd_attrs

    table = parse_m_for_r(winograd_map) if winograd_map is not None else None
    if input_shape is not None and architecture is None:
        raise click.UsageError("--input-shape needs an architecture to trace: give --model NAME|module:function")
    if table is None and model_name is None:
        if exclude:
            raise click.UsageError("--winograd-exclude needs --winograd or --model")
        if input_shape is not None:
            raise click.UsageError("--input-shape marks convs: give --model or --winograd too")
        return None
    if architecture is None:
        assert table is not None
        return shape_winograd_attrs(state_dict, table, exclude) or None
    if input_shape is not None:
        import torch

        try:
            marks = traced_winograd_attrs(architecture, torch.zeros(input_shape), table)
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RecipeError(f"--input-shape {','.join(map(str, input_shape))}: the model's forward pass "
                              f"failed: {first}") from None
    else:
        marks = winograd_attrs(architecture, table)
    import fnmatch

    return {k: v for k, v in marks.items() if not any(fnmatch.fnmatchcase(k, g) for g in exclude)} or None


def run_recipe_command(recipe: str, checkpoint: Path | None, output: Path, *, resume: bool = False,
                       checkpoint_dir: Path | None = None, checkpoint_every: int = 100,
                       keep_checkpoints: bool = False, data_root: Path | None = None,
                       stop_after_step: int | None = None, force: bool = False, quiet: bool = False,
                       loaded: object | None = None, write_log: bool = True, log_path: Path | None = None,
                       tensorboard_dir: Path | None = None) -> dict:
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
                         stop_after_step=stop_after_step, replace_output=force, write_log=write_log,
                         log_path=log_path, tensorboard_dir=tensorboard_dir)
    result = run_recipe(parsed, output, weights=checkpoint, options=options, progress=ClickProgress(quiet))
    if result.output is None or quiet:
        return result.report
    for line in format_report(result.report):
        click.echo(line)
    click.echo(f"wrote {output}: {output.stat().st_size:,} bytes (recipe {recipe}"
               f"{', resumed: ' + ', '.join(result.resumed) if result.resumed else ''})")
    return result.report


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for dim in shape:
        count *= dim
    return count
