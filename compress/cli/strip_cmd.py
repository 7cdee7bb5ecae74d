"""``dualsparse strip``: a deployment copy of a ``.dsz`` file, without its stored recipe and report."""

from __future__ import annotations

from pathlib import Path

import click

from compress.atomic import atomic_output
from compress.cli.options import InputFile, check_output_path, max_decoded_bytes_option, reader_limits
from formats.container.rewrite import strip


@click.command("strip")
@click.argument("path", type=InputFile())
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The stripped .dsz file (written atomically).")
@click.option("-f", "--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@max_decoded_bytes_option
def strip_command(path: Path, output: Path, force: bool, quiet: bool, max_decoded_bytes: int | None) -> None:
    """Copy PATH to OUTPUT without its metadata, stored recipe and stage report, keeping every tensor, its
    checksums and payload byte for byte, and the trained Winograd sparsity (what deployment reads). The
    original stays the record of how the model was made; ship the stripped copy."""
    check_output_path(output, [path], force=force, suffixes=(".dsz",))
    blob = strip(path, limits=reader_limits(max_decoded_bytes))
    with atomic_output(output, replace=force) as temporary:
        temporary.write_bytes(blob)
    if not quiet:
        before = path.stat().st_size
        click.echo(f"wrote {output}: {before:,} -> {len(blob):,} bytes ({before - len(blob):,} bytes of recipe, "
                   "report and metadata removed; tensors unchanged)")
