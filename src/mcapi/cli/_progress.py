"""What ``mcapi call`` shows while it works: progress on a terminal, each attempt with ``-v``.

Theory of operation
-------------------
stdout carries only the result, so everything here goes to stderr. :class:`Reporter` plugs into
the client at its three edges and never into its logic:

* the ``event_hook`` (one :class:`~mcapi.client.AttemptEvent` per attempt): with ``-v`` a line per
  attempt with the status, sub code and the client's decision; on a terminal, a line for each
  wait for the quota (why, how long) and each retry (which code, when);
* the ``sleep`` the client waits with: on a terminal the wait counts down in the progress display
  (a pacing pause, which has no attempt event, says so);
* the HTTP transport (``-v`` only): the request line and headers of each attempt, secrets
  redacted, before it is sent.

Progress (pages and records of ``--all-pages``, bytes of a download) is drawn with rich only when
stderr is a terminal, or when ``--progress`` forces it; piped or redirected, nothing is drawn and
stderr stays free of control sequences.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import httpx
from rich.console import Console
from rich.progress import (
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from mcapi._constants import REDACTED
from mcapi.client import AttemptEvent

__all__ = ["Reporter", "redact_header"]

_MC_AUTH = re.compile(r"^MC\s+([^:\s]*):.*$", re.IGNORECASE)
_SECRET_HEADER = re.compile(r"authorization|secret|password|token|key", re.IGNORECASE)
_PUBLIC_HEADERS = frozenset({"x-mc-app-id", "x-mc-req-id", "x-mc-date"})


def redact_header(name: str, value: str) -> str:
    """A header value safe to print: ``MC AbCd…:[redacted]`` keeps 4 characters of the access
    key (enough to tell two bindings apart); other credentials and secret-like headers go."""
    lowered = name.lower()
    if lowered in _PUBLIC_HEADERS or not _SECRET_HEADER.search(lowered):
        return value
    match = _MC_AUTH.match(value)
    if match is not None:
        return f"MC {match[1][:4]}…:{REDACTED}"
    scheme, _, rest = value.partition(" ")
    return f"{scheme} {REDACTED}" if rest else REDACTED


def _code(status: int | None, sub_code: str | None) -> str:
    if status is None:
        return "no answer"
    return f"{status} {sub_code}" if sub_code else str(status)


class _Verbose(httpx.BaseTransport):
    """Prints each request line and its headers (redacted) before sending it."""

    def __init__(self, inner: httpx.BaseTransport, say: Callable[[str], None]) -> None:
        self._inner = inner
        self._say = say

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._say(f"> {request.method} {request.url}")
        for name, value in request.headers.items():
            self._say(f"> {name}: {redact_header(name, value)}")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class Reporter:
    """The progress display and ``-v`` lines of one command (see the module's docstring)."""

    def __init__(
        self, *, verbose: bool = False, progress: bool | None = None, console: Console | None = None
    ) -> None:
        # --progress draws even when stderr is not a terminal (rich would otherwise wait for
        # the end to draw anything).
        self.console = console or Console(
            stderr=True, highlight=False, force_terminal=True if progress else None
        )
        self.verbose = verbose
        self.live = self.console.is_terminal if progress is None else progress
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last: AttemptEvent | None = None

    # ---- the client's edges ---------------------------------------------------------------------

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Client(...)``."""
        options: dict[str, Any] = {"event_hook": self.event, "sleep": self.sleep}
        if self.verbose:
            options["transport"] = _Verbose(httpx.HTTPTransport(), self._verbose)
        return options

    def _verbose(self, line: str) -> None:
        click.echo(f"mcapi: {line}", err=True)

    def _note(self, line: str) -> None:
        """A line above the progress display (terminal only)."""
        if self.live:
            self.console.print(f"mcapi: {line}", markup=False)

    def event(self, event: AttemptEvent) -> None:
        self._last = event
        code = _code(event.status, event.sub_code)
        if self.verbose:
            decision = event.outcome
            if event.delay > 0:
                when = " " if decision == "wait" else " in "
                decision += f"{when}{event.delay:.3f} s"
            if event.outcome == "retry":
                decision += f" (retry {event.retries}/{event.max_attempts - 1})"
            elif event.outcome == "wait":
                decision += f" (wait {event.quota_waits}/{event.max_quota_waits})"
            self._verbose(
                f"< {code} (attempt {event.attempt}, x-mc-req-id {event.request_id}): "
                f"{decision}: {event.reason}"
            )
        if event.outcome == "wait":
            self._note(
                f"{event.path}: {code}, the quota is spent; waiting {event.delay:.1f} s "
                f"for it to refill (wait {event.quota_waits}/{event.max_quota_waits}; "
                f"{event.reason})"
            )
        elif event.outcome == "retry":
            self._note(
                f"{event.path}: {code} on attempt {event.attempt}; retry {event.retries}/"
                f"{event.max_attempts - 1} in {event.delay:.1f} s ({event.reason}; "
                f"{event.retry_budget_remaining} retries left in the budget)"
            )
        elif event.outcome in ("refresh", "relogin"):
            self._note(f"{event.path}: {code}; {event.outcome} the binding ({event.reason})")

    def sleep(self, seconds: float) -> None:
        """The client's sleep: on a terminal, the wait counts down in the display."""
        last, self._last = self._last, None
        if not self.live or seconds < 0.5:
            time.sleep(seconds)
            return
        if last is not None and last.outcome == "wait":
            why = f"waiting for the quota ({_code(last.status, last.sub_code)})"
        elif last is not None and last.outcome == "retry":
            why = f"retry after {_code(last.status, last.sub_code)}"
        else:
            why = "pacing: the quota is nearly spent, waiting for it to refill"
        with self._display() as progress:
            task = progress.add_task(why, total=None, extra="")
            end = time.monotonic() + seconds
            while (left := end - time.monotonic()) > 0:
                progress.update(task, extra=f"{left:.0f} s left")
                time.sleep(min(left, 0.25))
            progress.remove_task(task)

    # ---- progress of the command's work ---------------------------------------------------------

    @contextmanager
    def _display(self) -> Iterator[Progress]:
        if self._progress is not None:
            yield self._progress
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._progress = progress
        try:
            with progress:
                yield progress
        finally:
            self._progress = None

    @contextmanager
    def pages(self, path: str) -> Iterator[Callable[[int, int], None]]:
        """Counts pages and records; yields ``advance(pages, records)``."""
        if not self.live:
            yield lambda pages, records: None
            return
        counts = [0, 0]
        with self._display() as progress:
            task = progress.add_task(path, total=None, extra="")

            def advance(pages: int, records: int) -> None:
                counts[0] += pages
                counts[1] += records
                progress.update(task, extra=f"{counts[0]} pages, {counts[1]} records")

            yield advance
        self._summary(f"{path}: {counts[0]} pages, {counts[1]} records")

    @contextmanager
    def download(self, path: str) -> Iterator[Callable[[int], None] | None]:
        """Counts the bytes of a download; yields the ``progress`` callback for ``download()``."""
        if not self.live:
            yield None
            return
        progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._progress = progress
        try:
            with progress:
                task = progress.add_task(path, total=None, extra="")
                yield lambda size: progress.advance(task, size)
        finally:
            self._progress = None

    def _summary(self, line: str) -> None:
        if self.live:
            self.console.print(f"mcapi: {line}", markup=False)
