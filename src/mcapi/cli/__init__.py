"""The ``mcapi`` command line."""

from __future__ import annotations

import click

from mcapi.cli._codes_cmd import codes, explain

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mcapi")
def cli() -> None:
    """mcapi: the Mimecast API 1.0 toolkit -- response codes, emulator and client."""


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
