"""The list of the CLI's command groups beyond ``codes`` and ``explain``."""

from __future__ import annotations

import click


def commands() -> list[click.Command]:
    found: list[click.Command] = []
    from mcapi.cli._emulator_cmd import emulator

    found.append(emulator)
    from mcapi.cli._client_cmd import call, login

    found.extend([login, call])
    return found
