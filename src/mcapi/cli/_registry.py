"""The list of the CLI's command groups beyond ``codes`` and ``explain``."""

from __future__ import annotations

import click


def commands() -> list[click.Command]:
    found: list[click.Command] = []
    return found
