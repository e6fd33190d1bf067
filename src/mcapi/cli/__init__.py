"""The ``mcapi`` command line.

Every command group is registered here. None of them imports a server package at import time:
``mcapi call`` works from the base install, and ``mcapi emulator serve`` says which extra to install
when the server stack is missing (see :mod:`mcapi.cli._extras`).
"""

from __future__ import annotations

import click

from mcapi.cli import _client_cmd, _codes_cmd, _emulator_cmd

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
cli.add_command(codes)
cli.add_command(explain)


def _register_optional() -> None:
    # Sub-command groups that live in their own modules register themselves here.
    from mcapi.cli import _registry

    for command in _registry.commands():
        cli.add_command(command)
    from mcapi.cli._collect_cmd import collect

    cli.add_command(collect)


_register_optional()


def main() -> None:
    cli()
