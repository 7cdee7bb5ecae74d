"""Entry point of the ``dualsparse`` console script.

Every user-facing error (a malformed ``.dsz`` file, an unreadable checkpoint, a bad
option) ends as one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

import click

from compress.errors import CompressError

# name -> "module:attribute"; a command's module (and numpy, torch, the codecs it needs) is imported only
# when that command runs or --help lists it, so ``dualsparse --version`` starts without them
COMMANDS = {
    "compress": "compress.cli.compress_cmd:compress_command",
    "decompress": "compress.cli.decompress_cmd:decompress_command",
    "demo": "compress.cli.demo_cmd:demo_command",
    "inspect": "compress.cli.inspect_cmd:inspect_command",
    "prune": "compress.cli.prune_cmd:prune",
    "report": "compress.cli.report_cmd:report_command",
    "strip": "compress.cli.strip_cmd:strip_command",
    "verify": "compress.cli.verify_cmd:verify_command",
}


def _version() -> str:
    try:
        return version("dualsparse")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


def _usage_error(exc: click.UsageError) -> NoReturn:
    """A bad option or argument: one line and exit 1, not click's usage block and exit 2."""
    command = exc.ctx.command_path if exc.ctx is not None else "dualsparse"
    click.echo(f"{command}: error: {exc.format_message()} (see {command} --help)", err=True)
    sys.exit(1)


class _OneLineErrors(click.Group):
    """A click group that turns expected errors into one line on stderr and exit 1 (commands load lazily)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> object:
        from formats.errors import FormatError

        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _usage_error(exc)
        except (FormatError, CompressError) as exc:
            click.echo(f"dualsparse: error: {exc}", err=True)
            sys.exit(1)
        except OSError as exc:
            where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
            click.echo(f"dualsparse: error: {exc.strerror or exc}{where}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("dualsparse: interrupted", err=True)
            sys.exit(130)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), prog_name="dualsparse")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Compress trained PyTorch models into small .dsz files that deploy sparse in the
    spatial or the Winograd domain."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
