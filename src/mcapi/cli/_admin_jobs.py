"""Admin operations that run as jobs (reset, seed, generate), as the CLI starts and follows them.

The emulator runs these off its event loop and answers ``202`` with ``Location:
/_emulator/jobs/ID`` (``mcapi.emulator._jobs``). :func:`run_job` asks with ``?wait=1``: a job done
within a second is answered at once, as before; a longer one is followed with ``GET
/_emulator/jobs/ID`` until it is over, for as long as it takes (each request has its own
timeout; the job as a whole has none). While it runs, its progress goes to stderr as a rich
progress bar when stderr is a terminal (or ``--progress`` forces it); piped or redirected, nothing
is drawn. Ctrl-C stops following, not the job: the message names the job so that it can be
looked at later.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from mcapi.cli._admin_client import AdminClient, AdminCommandError, refusal

__all__ = ["JobDisplay", "follow_job", "progress_option", "run_job"]

#: Seconds the first request waits for the job before the CLI follows it instead.
FIRST_WAIT = 1.0
#: Seconds between two looks at a running job.
POLL_INTERVAL = 0.25


_F = TypeVar("_F", bound=Callable[..., Any])


def progress_option(command: _F) -> _F:
    """``--progress/--no-progress`` of the commands that follow a job."""
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Draw the job's progress on stderr (default: only when stderr is a terminal).",
    )(command)


class JobDisplay:
    """Shows a job's progress on stderr as a bar: on a terminal, or when ``bar`` forces it;
    ``bar=False`` (and, by default, a stream that is not a terminal) shows nothing."""

    def __init__(self, label: str, stream: TextIO | None = None, *, bar: bool | None = None):
        self.label = label
        self.stream = stream or sys.stderr
        self.bar = self.stream.isatty() if bar is None else bar
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> JobDisplay:
        if self.bar:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(file=self.stream, force_terminal=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def show(self, job: Mapping[str, Any]) -> None:
        """Show the job as ``GET /_emulator/jobs/ID`` answered it."""
        progress = job.get("progress") or {}
        done, total, stage = progress.get("done", 0), progress.get("total"), progress.get("stage")
        state = str(job.get("state"))
        what = stage or state
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task, description=f"{self.label}: {what}", completed=done, total=total
            )


def follow_job(
    admin: AdminClient,
    job: Mapping[str, Any],
    display: JobDisplay,
    *,
    interval: float | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Any:
    """Look at ``job`` until it is over; its result, or its refusal as AdminCommandError.

    ``interval`` defaults to :data:`POLL_INTERVAL` and ``sleep`` to :func:`time.sleep`, both
    looked up when called."""
    interval = POLL_INTERVAL if interval is None else interval
    sleep = sleep or time.sleep
    location = str(job.get("location") or f"/_emulator/jobs/{job.get('id')}")
    path = location.removeprefix("/_emulator/")
    try:
        with display:
            while job.get("state") not in ("done", "failed"):
                display.show(job)
                sleep(interval)
                job = admin.call("GET", path)
            display.show(job)
    except KeyboardInterrupt:
        # Ctrl-C stops following, not the job; the command ends as any does on Ctrl-C (130).
        click.echo(f"mcapi: stopped following; the job goes on in the emulator: GET {location}",
                   err=True)  # fmt: skip
        raise
    if job.get("state") == "failed":
        raise AdminCommandError(refusal(job.get("error") or {"error": "failed"}, job["status"]))
    return job.get("result")


def run_job(
    admin: AdminClient,
    path: str,
    label: str,
    *,
    body: Mapping[str, Any] | None = None,
    content: bytes | None = None,
    content_type: str | None = None,
    wait: float | None = None,
    display: JobDisplay | None = None,
    progress: bool | None = None,
) -> Any:
    """POST to an admin route that runs a job; the route's answer once the job is done.
    ``wait`` is how long the route may take before it answers 202 (default :data:`FIRST_WAIT`,
    looked up when called); ``progress`` forces the progress bar on or off (default: on a
    terminal)."""
    response = admin.send(
        "POST", path, body=body, content=content, content_type=content_type,
        params={"wait": f"{FIRST_WAIT if wait is None else wait:g}"},
    )  # fmt: skip
    answer = admin.decode(response)
    if response.status_code != 202:  # done within the wait (or an emulator without jobs)
        return answer
    return follow_job(admin, answer, display or JobDisplay(label, bar=progress))
