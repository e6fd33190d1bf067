"""The ``mcapi`` command line.

Every command group is registered here. None of them imports a server package at import time:
``mcapi call`` works from the base install, and ``mcapi emulator serve`` says which extra to install
when the server stack is missing (see :mod:`mcapi.cli._extras`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType
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

__all__ = ["INTERRUPTED_EXIT_CODE", "INTERRUPT_GRACE_SECONDS", "cli", "main"]

#: Exit code after Ctrl-C: 128 + SIGINT, as a shell reports a command killed by it.
INTERRUPTED_EXIT_CODE = 130
#: Seconds a command has after Ctrl-C to end by itself before it is ended (see ``_on_sigint``).
INTERRUPT_GRACE_SECONDS = 3.0
_INTERRUPTED = threading.Event()
_SAID = threading.Event()


def _say_interrupted_and_exit() -> None:
    _SAID.set()  # (the watchdog of _on_sigint then ends the process without saying it again)
    click.echo("\nmcapi: interrupted", err=True)
    sys.exit(INTERRUPTED_EXIT_CODE)


def _leave_now() -> None:
    """End the process at once, without the clean-up that has not finished."""
    with contextlib.suppress(Exception):  # what the command printed still goes out
        sys.stdout.flush()
    if not _SAID.is_set():
        _SAID.set()
        os.write(2, b"\nmcapi: interrupted\n")
    os._exit(INTERRUPTED_EXIT_CODE)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: raise ``KeyboardInterrupt`` as Python does, so the command cleans up and ends with
    130; should it not have ended ``INTERRUPT_GRACE_SECONDS`` later, or at a second Ctrl-C, end it
    there and then. The KeyboardInterrupt can land while httpcore holds its connection pool's
    (non-reentrant) lock, and its clean-up then waits for that lock for ever (encode/httpcore#996,
    discussion #990)."""
    if _INTERRUPTED.is_set():
        _leave_now()
    _INTERRUPTED.set()

    def watchdog() -> None:
        time.sleep(INTERRUPT_GRACE_SECONDS)
        _leave_now()

    threading.Thread(target=watchdog, name="mcapi-interrupt", daemon=True).start()
    raise KeyboardInterrupt


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
        _say_interrupted_and_exit()


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
    # Commands that handle signals themselves (serve, collect) put their own handlers in place.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)
    cli()
