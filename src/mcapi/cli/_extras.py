"""The CLI's answer when a command needs an extra this installation lacks."""

from __future__ import annotations

import click

from mcapi._extras import EMULATOR_EXTRA_HINT, missing_emulator_modules

__all__ = ["MISSING_EXTRA_EXIT_CODE", "MissingExtra", "require_emulator_extra"]

#: Exit code of a command whose extra is not installed (click's code for a usage problem: the
#: command cannot run as installed, and nothing was attempted).
MISSING_EXTRA_EXIT_CODE = 2


class MissingExtra(click.ClickException):
    """A command needs packages of an extra that is not installed."""

    exit_code = MISSING_EXTRA_EXIT_CODE


def require_emulator_extra(command: str) -> None:
    """Raise :class:`MissingExtra` naming the extra when the emulator's server stack is missing."""
    missing = missing_emulator_modules()
    if missing:
        raise MissingExtra(
            f"{command} runs the emulator's server, and this installation lacks "
            f"{', '.join(missing)}; {EMULATOR_EXTRA_HINT}"
        )
