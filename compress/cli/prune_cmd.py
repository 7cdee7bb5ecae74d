"""``dualsparse prune``: magnitude-prune a checkpoint one-shot and write it (``.dsz``, ``.safetensors`` or ``.pt``)."""

from __future__ import annotations

from pathlib import Path

import click

from compress.cli.options import InputFile, check_output_path

OUTPUT_SUFFIXES = (".dsz", ".safetensors", ".pt", ".pth")


@click.command("prune")
@click.argument("checkpoint", type=InputFile())
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="File to write: .dsz (sparse-packed, lossless), .safetensors or .pt. Not needed with --dry-run.")
@click.option("--sparsity", type=float, required=True,
              help="Fraction of the weights in scope to prune, in [0, 1] (0.9, not 90).")
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
@click.option("--dry-run", is_flag=True, help="Print what would be pruned and each layer's sparsity; write nothing.")
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the summary line.")
def prune(checkpoint: Path, output: Path | None, sparsity: float, scope: str, granularity: str, criterion: str,
          include_bias: bool, include_norm: bool, exclude_first: bool, exclude_last: bool, exclude: tuple[str, ...],
          min_density: float, codec: str, dry_run: bool, force: bool, quiet: bool) -> None:
    """Prune CHECKPOINT (a state_dict .pt/.pth/.th or .safetensors) by weight magnitude and write OUTPUT.

    Prints one line per tensor (included or why excluded, resulting sparsity) and the totals.
    """
    _run(checkpoint, output, sparsity, scope, granularity, criterion, include_bias, include_norm,
         exclude_first, exclude_last, exclude, min_density, codec, dry_run, force, quiet)


def _run(checkpoint: Path, output: Path | None, sparsity: float, scope: str, granularity: str, criterion: str,
         include_bias: bool, include_norm: bool, exclude_first: bool, exclude_last: bool, exclude: tuple[str, ...],
         min_density: float, codec: str, dry_run: bool, force: bool, quiet: bool) -> None:
    from compress.checkpoints import load_state_dict
    from compress.export import write_tensors
    from compress.prune import L1, L2, PruneConfig, Scope, SelectOptions, parse_granularity, prune_state_dict, to_recipe
    from compress.prune.export import export_dsz

    config = PruneConfig(
        sparsity=sparsity,
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
