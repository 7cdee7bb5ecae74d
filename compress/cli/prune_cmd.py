"""``dualsparse prune``: magnitude-prune a checkpoint one-shot and write it (``.dsz``, ``.safetensors`` or ``.pt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from compress.cli.accuracy import curve_header, eval_options, evaluation, outcome, point_printer
from compress.cli.options import InputFile, check_output_path
from compress.errors import RecipeError

OUTPUT_SUFFIXES = (".dsz", ".safetensors", ".pt", ".pth")


@click.command("prune")
@click.argument("checkpoint", type=InputFile())
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write: .dsz (sparse-packed, lossless), .safetensors or .pt. Not needed with --dry-run.")
@click.option("--sparsity", type=float, default=None,
              help="Fraction of the weights in scope to prune, in [0, 1] (0.9, not 90). With --max-drop: the "
                   "highest sparsity tried (default 0.99; the search walks a 0.01 grid).")
@click.option("--scope", type=click.Choice(["global", "local"]), default="global", show_default=True,
              help="One threshold over all weights in scope, or one per tensor.")
@click.option("--granularity", default="unstructured", show_default=True,
              help="unstructured, rows (filters), columns (channels), kernels, blocks:BHxBW, nm:N:M, shared[:DIM].")
@click.option("--criterion", type=click.Choice(["l1", "l2"]), default="l1", show_default=True,
              help="Group score: mean |w| (L1) or RMS (L2); equal for single weights.")
@click.option("--include-bias", is_flag=True, help="Also prune biases.")
@click.option("--include-norm", is_flag=True, help="Also prune normalisation and other 1-D parameters.")
@click.option("--exclude-first", is_flag=True, help="Leave the first weight tensor dense.")
@click.option("--exclude-last", is_flag=True, help="Leave the last weight tensor dense.")
@click.option("--exclude", "exclude", multiple=True, metavar="GLOB", help="Leave tensors matching GLOB dense.")
@click.option("--min-density", type=float, default=0.0, show_default=True,
              help="Fraction of every tensor's groups that must survive.")
@click.option("--codec", default="auto", show_default=True, help="Codec for .dsz payloads (auto keeps the smallest).")
@click.option("--model", "model_name", default=None, metavar="NAME|module:function",
              help="With --eval: the checkpoint's architecture, a zoo model or your function that returns the "
                   "nn.Module (imported and run); a built-in --eval task brings its own.")
@eval_options
@click.option("--dry-run", is_flag=True, help="Print what would be pruned and each layer's sparsity; write nothing.")
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def prune(checkpoint: Path, output: Path | None, sparsity: float | None, scope: str, granularity: str,
          criterion: str, include_bias: bool, include_norm: bool, exclude_first: bool, exclude_last: bool,
          exclude: tuple[str, ...], min_density: float, codec: str, model_name: str | None, eval_spec: str | None,
          max_drop: float | None, data_root: Path | None, dry_run: bool, force: bool, quiet: bool) -> None:
    """Prune CHECKPOINT (a state_dict .pt/.pth/.th or .safetensors) by weight magnitude and write OUTPUT.

    Prints one line per tensor (included or why excluded, resulting sparsity) and the totals; with
    --eval and --max-drop, instead, each sparsity tried on the way to the highest one within the
    accuracy budget. Warns when structured pruning reaches the first or the last layer.
    """
    if max_drop is not None:
        if eval_spec is None:
            raise click.UsageError("--max-drop needs --eval TASK|module:function to score the candidates")
        if dry_run:
            raise click.UsageError("--max-drop writes the file it finds; leave out --dry-run")
    elif sparsity is None:
        raise click.UsageError("give --sparsity (or --eval with --max-drop to search for it)")
    if data_root is not None and eval_spec is None:
        raise click.UsageError("--data-root needs --eval")
    if model_name is not None and eval_spec is None:
        raise click.UsageError("--model needs --eval (it is the architecture the evaluation runs)")
    _run(checkpoint, output, sparsity, scope, granularity, criterion, include_bias, include_norm,
         exclude_first, exclude_last, exclude, min_density, codec, dry_run, force, quiet,
         (model_name, eval_spec, max_drop, data_root))


def _run(checkpoint: Path, output: Path | None, sparsity: float | None, scope: str, granularity: str,
         criterion: str, include_bias: bool, include_norm: bool, exclude_first: bool, exclude_last: bool,
         exclude: tuple[str, ...], min_density: float, codec: str, dry_run: bool, force: bool, quiet: bool,
         scoring: tuple[str | None, str | None, float | None, Path | None]) -> None:
    from compress.checkpoints import load_state_dict
    from compress.export import write_tensors
    from compress.prune import (
        L1,
        L2,
        PruneConfig,
        Scope,
        SelectOptions,
        parse_granularity,
        prune_state_dict,
        structured_scope_warnings,
        to_recipe,
    )
    from compress.prune.export import export_dsz

    model_name, eval_spec, max_drop, data_root = scoring
    searching = max_drop is not None
    config = PruneConfig(
        sparsity=0.0 if searching or sparsity is None else sparsity,
        scope=Scope(scope),
        granularity=parse_granularity(granularity),
        criterion=L1() if criterion == "l1" else L2(),
        select=SelectOptions(include_bias=include_bias, include_norm=include_norm, exclude_first=exclude_first,
                             exclude_last=exclude_last, exclude=tuple(exclude)),
        min_density=min_density,
    )
    if output is None and not dry_run:
        raise click.UsageError("give -o/--output, or --dry-run to only print the report")
    if output is not None and not dry_run:
        check_output_path(output, [checkpoint], force=force, suffixes=OUTPUT_SUFFIXES)
    state_dict = load_state_dict(checkpoint)
    for warning in structured_scope_warnings(state_dict, config):
        click.echo(f"dualsparse prune: warning: {warning}", err=True)
    judge = _evaluation(model_name, eval_spec, data_root, state_dict, checkpoint) if eval_spec else None
    if searching:
        assert output is not None and judge is not None and max_drop is not None
        _search(state_dict, output, config, judge, max_drop, 0.99 if sparsity is None else sparsity, codec,
                checkpoint, force, quiet)
        return
    pruned, report = prune_state_dict(state_dict, config)
    if not quiet:
        click.echo(report.format())
    if dry_run or output is None:
        click.echo(f"dry run: {len(report.layers)} tensors, {report.in_scope:,} weights in scope would reach "
                   f"sparsity {report.achieved:.4f}; nothing written")
        return
    if output.suffix == ".dsz":
        export_dsz(output, pruned, codec=codec, recipe=to_recipe(config), metadata={"source": checkpoint.name},
                   replace=force)
    else:
        write_tensors(output, pruned, replace=force)
    click.echo(f"wrote {output}: {output.stat().st_size:,} bytes (input {checkpoint.stat().st_size:,}); "
               f"sparsity {report.achieved:.4f} over {report.in_scope:,} weights in scope, "
               f"{report.overall:.4f} overall")
    if judge is not None:
        before, after = judge.score(state_dict), judge.score(pruned)
        drop = before - after if judge.higher_is_better else after - before
        click.echo(f"{judge.metric} ({judge.name}): {before:.4f} dense, {after:.4f} pruned (drop {drop:+.4f})")


def _evaluation(model_name: str | None, eval_spec: str, data_root: Path | None, state_dict: dict,
                checkpoint: Path) -> Any:
    from compress.entry_points import build_architecture, load_weights

    architecture = build_architecture(model_name) if model_name is not None else None
    judge = evaluation(eval_spec, architecture, data_root)
    load_weights(judge.model, state_dict, f"checkpoint {checkpoint.name}")
    return judge


def _search(state_dict: dict, output: Path, config: Any, judge: Any, max_drop: float, max_sparsity: float,
            codec: str, checkpoint: Path, force: bool, quiet: bool) -> None:
    from compress.search import search_prune

    baseline = judge.score(state_dict)
    if not quiet:
        click.echo(curve_header("the sparsity", judge, baseline, max_drop))
    result = search_prune(state_dict, output, judge.score, max_drop, config, max_sparsity=max_sparsity, codec=codec,
                          metadata={"source": checkpoint.name}, metric=judge.metric,
                          higher_is_better=judge.higher_is_better, reference_bytes=checkpoint.stat().st_size,
                          baseline=baseline, on_point=None if quiet else point_printer(judge.metric),
                          replace_output=force)
    if result.best is None:
        raise RecipeError(outcome(result, output))
    if not quiet:
        click.echo(outcome(result, output))
