"""``dualsparse decompress``: a ``.dsz`` file back to plain tensors, in either domain."""

from __future__ import annotations

from pathlib import Path

import click

import formats
from compress.cli.options import InputFile, check_output_path, max_decoded_bytes_option, reader_limits
from compress.deployment import no_winograd_marks
from compress.export import OUTPUT_SUFFIXES, write_tensors


@click.command("decompress")
@click.argument("path", type=InputFile())
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Output file: .safetensors, .pt or .npz (by suffix; written atomically).")
@click.option("--domain", type=click.Choice(["spatial", "winograd"]), default="spatial", show_default=True,
              help="winograd: filters marked for Winograd convolution become G w Gᵀ.")
@click.option("--sparsity", type=click.FloatRange(0.0, 1.0, max_open=True), default=None,
              help="With --domain winograd: prune the Winograd-domain weights to this fraction of zeros "
                   "[default: the trained Winograd sparsity the file stores, if any; 0 keeps them all].")
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@max_decoded_bytes_option
def decompress_command(path: Path, output: Path, domain: str, sparsity: float | None, force: bool,
                       quiet: bool, max_decoded_bytes: int | None) -> None:
    """Decode PATH (dither cancelled) and write its tensors to OUTPUT."""
    limits = reader_limits(max_decoded_bytes)
    if sparsity is not None and domain != "winograd":
        raise click.UsageError("--sparsity applies to --domain winograd only (spatial pruning is in the file)")
    check_output_path(output, [path], force=force, suffixes=OUTPUT_SUFFIXES)
    if domain == "winograd" and not formats.winograd_tiles(path, limits=limits):
        raise click.UsageError(no_winograd_marks(path))
    stored = domain == "winograd" and sparsity is None
    if stored:
        sparsity = formats.stored_winograd_sparsity(path, limits=limits)
    tensors = formats.load(path, domain=domain, sparsity=0.0 if stored and sparsity is None else sparsity,
                           limits=limits)
    bfloat16 = _bfloat16_names(path, limits) if domain == "spatial" else []
    write_tensors(output, tensors, replace=force, bfloat16=bfloat16)
    if not quiet:
        widened = f"; {len(bfloat16)} bfloat16 tensors as float32 (.npz has no bfloat16)" if (
            bfloat16 and output.suffix == ".npz") else ""
        pruned = f", {sparsity:.1%} pruned" + (" as the file stores" if stored else "") if sparsity else ""
        click.echo(f"wrote {output}: {len(tensors)} tensors ({domain} domain{pruned}){widened}")


def _bfloat16_names(path: Path, limits: formats.Limits) -> list[str]:
    """The file's bfloat16 tensors (``formats.load`` widens them to float32 exactly)."""
    from formats.ids import DType

    with formats.open_dsz(path, limits=limits) as reader:
        return [r.name for r in reader.records if r.dtype == DType.BFLOAT16]
