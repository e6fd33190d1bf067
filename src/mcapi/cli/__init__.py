"""The ``mcapi`` command line.

Every command group is registered here. None of them imports a server package at import time:
``mcapi call`` works from the base install, and ``mcapi emulator serve`` says which extra to install
when the server stack is missing (see :mod:`mcapi.cli._extras`).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from mcapi.cli import (
    _client_cmd,
    _codes_cmd,
    _collect_cmd,
    _emulator_cmd,
    _functions_cmd,
    _whoami_cmd,
)

__all__ = ["INTERRUPTED_EXIT_CODE", "cli", "main"]

#: Exit code after Ctrl-C: 128 + SIGINT, as a shell reports a command killed by it.
INTERRUPTED_EXIT_CODE = 130


class _Group(click.Group):
    """The root group: Ctrl-C anywhere (a prompt included, which click turns into ``Abort``)
    ends the command with exit code 130 and one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            pass
        except click.Abort as abort:
            if not isinstance(abort.__context__, KeyboardInterrupt):
                raise
        click.echo("\nmcapi: interrupted", err=True)
        sys.exit(INTERRUPTED_EXIT_CODE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mcapi")
def cli() -> None:
    """mcapi: the Mimecast API toolkit (API 1.0 and 2.0) -- response codes, emulator and client."""


cli.add_command(_codes_cmd.codes)
cli.add_command(_codes_cmd.explain)
cli.add_command(_emulator_cmd.emulator)
cli.add_command(_client_cmd.login)
cli.add_command(_client_cmd.call)
cli.add_command(_whoami_cmd.whoami)
cli.add_command(_whoami_cmd.profiles)
cli.add_command(_collect_cmd.collect)
cli.add_command(_functions_cmd.functions)


def main() -> None:
    cli()
