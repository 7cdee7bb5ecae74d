"""``dualsparse verify``: decode everything and run every integrity check."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import formats
from compress.cli.options import InputFile, max_decoded_bytes_option, reader_limits
from formats.errors import FormatError


@click.command("verify")
@click.argument("path", type=InputFile())
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; only the exit code tells.")
@max_decoded_bytes_option
def verify_command(path: Path, quiet: bool, max_decoded_bytes: int | None) -> None:
    """Fully decode PATH and check its magic, version, header checksum, layout, every payload
    checksum and every decoded-tensor SHA-256 digest the file stores (in format 2.0 a RAW tensor
    stored raw has no payload checksum: its digest, checked on the payload, covers it). Exit 0 when
    sound, 1 when not."""
    try:
        with formats.open_dsz(path, limits=reader_limits(max_decoded_bytes)) as reader:
            reader.verify()
            count = len(reader)
    except FormatError as exc:
        if not quiet:
            click.echo(f"{path}: FAILED: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    if not quiet:
        click.echo(f"{path}: OK ({count} tensors decoded, all checksums match)")
