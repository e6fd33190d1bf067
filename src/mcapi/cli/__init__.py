"""The ``mcapi`` command line.

Every command group is registered here. None of them imports a server package at import time:
``mcapi call`` works from the base install, and ``mcapi emulator serve`` says which extra to install
when the server stack is missing (see :mod:`mcapi.cli._extras`).
"""

from __future__ import annotations

import click

from mcapi.cli import _client_cmd, _codes_cmd, _collect_cmd, _emulator_cmd, _functions_cmd

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mcapi")
def cli() -> None:
    """mcapi: the Mimecast API 1.0 toolkit -- response codes, emulator and client."""


cli.add_command(_codes_cmd.codes)
cli.add_command(_codes_cmd.explain)
cli.add_command(_emulator_cmd.emulator)
cli.add_command(_client_cmd.login)
cli.add_command(_client_cmd.call)
cli.add_command(_collect_cmd.collect)
cli.add_command(_functions_cmd.functions)


def main() -> None:
    cli()
