"""``dualsparse report``: PNG plots and an ``index.html`` page of a ``.dsz`` file (needs the ``plots`` extra)."""

from __future__ import annotations

from pathlib import Path

import click

from compress.cli.options import InputFile, max_decoded_bytes_option, reader_limits


@click.command("report")
@click.argument("path", type=InputFile())
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, metavar="DIR",
              help="Folder of the page (created when missing): index.html and the PNG plots.")
@click.option("-f", "--force", is_flag=True, help="Replace the files of an earlier report in DIR.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@max_decoded_bytes_option
def report_command(path: Path, output: Path, force: bool, quiet: bool, max_decoded_bytes: int | None) -> None:
    """Plot PATH into DIR and write DIR/index.html: per-layer sparsity in both domains, weight histograms in
    both domains, the size after each stage and the key figures of the stored report, the size against the
    metric of a search curve the file holds, and loss and ζ from the run log PATH.log.csv when it is there.
    Needs matplotlib: pip install 'dualsparse[plots]'."""
    from compress.report_page import write_report

    written = write_report(path, output, force=force, limits=reader_limits(max_decoded_bytes))
    if not quiet:
        click.echo(f"wrote {written[-1]} and {', '.join(p.name for p in written[:-1])}")
