"""The admin API of a running emulator, as the ``mcapi emulator ...`` commands call it.

:class:`AdminClient` sends one request to ``/_emulator/...`` and returns the decoded answer; every
failure (connection refused, timeout, a refused token, a 400 ``{"error": ...}``) becomes an
:class:`AdminCommandError`, which click prints as one line and exits 1 with, never a traceback.
The module also holds the small parsers and renderers those commands share.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
import httpx
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

__all__ = [
    "DEFAULT_URL",
    "AdminClient",
    "AdminCommandError",
    "admin_options",
    "console",
    "echo_json",
    "faults_table",
    "format_time",
    "journal_table",
    "parse_duration",
    "quota_line",
    "refusal",
    "ttl_seconds",
    "user_line",
]

DEFAULT_URL = "http://127.0.0.1:8787"
_F = TypeVar("_F", bound=Callable[..., Any])
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class AdminCommandError(click.ClickException):
    """A failed admin call, told in one line."""

    exit_code = 1


class AdminClient:
    """Calls ``/_emulator/...`` on ``url`` with ``Authorization: Bearer <token>``."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        """Send one admin request; the decoded JSON answer (or the text, with ``raw``)."""
        response = self.send(
            method, path, body=body, content=content, content_type=content_type, params=params
        )
        return self._decode(response, raw)

    def send(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        """Send one admin request; the response as it came (failures to reach the emulator are
        :class:`AdminCommandError`); :meth:`decode` reads it."""
        if not self.token:
            raise click.UsageError(
                "no admin token: give --admin-token or set MCAPI_ADMIN_TOKEN "
                "(`mcapi emulator serve` prints it at start-up)"
            )
        headers = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            headers["Content-Type"] = content_type
        target = f"{self.url}/_emulator/{path.lstrip('/')}"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = httpx.request(
                method,
                target,
                json=body,
                content=content,
                params=query,
                headers=headers,
                timeout=self.timeout,
            )
        except httpx.ConnectError as exc:
            raise AdminCommandError(
                f"cannot reach the emulator at {self.url} ({_reason(exc)}); is "
                "`mcapi emulator serve` running there? (set --url or MCAPI_BASE_URL)"
            ) from None
        except httpx.TimeoutException:
            raise AdminCommandError(
                f"the emulator at {self.url} did not answer within {self.timeout:g} s"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise AdminCommandError(f"cannot call the emulator at {self.url}: {exc}") from None
        return response

    def decode(self, response: httpx.Response) -> Any:
        """The JSON answer of a successful response; a refusal as :class:`AdminCommandError`."""
        return self._decode(response, False)

    def _decode(self, response: httpx.Response, raw: bool) -> Any:
        try:
            document = response.json() if not (raw and response.is_success) else None
        except ValueError:
            document = None
        if response.status_code == 401:
            raise AdminCommandError(
                "the emulator refused the admin token (401); give the token `mcapi emulator "
                "serve` printed, with --admin-token or MCAPI_ADMIN_TOKEN"
            )
        if not response.is_success:
            if isinstance(document, dict) and "error" in document:
                raise AdminCommandError(refusal(document, response.status_code))
            raise AdminCommandError(
                f"{response.request.url} answered HTTP {response.status_code}; "
                "is that an mcapi emulator?"
            )
        if raw:
            return response.text
        if document is None:
            raise AdminCommandError(f"{response.request.url} did not answer JSON")
        return document


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text


def admin_options(command: _F) -> _F:
    """Add ``--url`` and ``--admin-token``; the command receives ``admin: AdminClient``."""

    @click.option(
        "--url",
        envvar="MCAPI_BASE_URL",
        default=DEFAULT_URL,
        show_default=True,
        help="The emulator's base URL (env MCAPI_BASE_URL).",
    )
    @click.option(
        "--admin-token",
        envvar="MCAPI_ADMIN_TOKEN",
        help="The admin token `serve` printed (env MCAPI_ADMIN_TOKEN).",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, url: str, admin_token: str | None, **kwargs: Any) -> Any:
        return command(*args, admin=AdminClient(url, admin_token), **kwargs)

    return wrapper  # type: ignore[return-value]


def parse_duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``2h``, ``1d``, ``500ms`` or ``1h30m``."""
    cleaned = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    for match in _DURATION.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise click.BadParameter(f"{text!r} is not a duration such as 90s, 15m, 2h or 1h30m")
    return total


def console() -> Console:
    """Rich output; into a pipe or file it is laid out 200 columns wide, not rich's default 80,
    so that tables of long values (request ids, paths, reasons) stay readable."""
    width = None if sys.stdout.isatty() else max(200, shutil.get_terminal_size((200, 24))[0])
    return Console(highlight=False, width=width)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def format_time(epoch: float | None) -> str:
    """``2026-01-01 12:00:00Z``; ``-`` for None."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def user_line(user: Mapping[str, Any]) -> str:
    """One line describing a user's state, as the admin API returns it."""
    parts = [str(user.get("email")), str(user.get("status"))]
    if user.get("locked_until"):
        parts.append(f"locked until {format_time(user['locked_until'])}")
    if user.get("password_expires_at"):
        parts.append(f"password expires {format_time(user['password_expires_at'])}")
    permissions = user.get("permissions") or []
    parts.append("permissions: " + (", ".join(permissions) if permissions else "none"))
    ranges = user.get("ip_ranges")
    parts.append("IP ranges: " + ("account's" if ranges is None else ", ".join(ranges) or "any"))
    return " · ".join(parts)


def faults_table(rules: Sequence[Mapping[str, Any]]) -> Table:
    """Fault rules as a table: id, match, effect, calls matched, calls won."""
    table = Table(box=box.SIMPLE_HEAD, expand=False)
    for column in ("id", "match", "effect", "calls", "applied"):
        table.add_column(column, overflow="fold")
    for rule in rules:
        table.add_row(
            escape(str(rule.get("id"))),
            escape(json.dumps(rule.get("match"))),
            escape(json.dumps(rule.get("effect"))),
            str(rule.get("calls")),
            str(rule.get("applied")),
        )
    return table


def refusal(answer: Mapping[str, Any], status: int) -> str:
    """An admin API refusal in words: one line, or one line per problem when there are several
    (a seed file with many mistakes)."""
    problems = answer.get("problems")
    if isinstance(problems, list) and len(problems) > 1:
        lines = [
            f"  {p.get('field')}: {p.get('message')}" if p.get("field") else f"  {p.get('message')}"
            for p in problems
            if isinstance(p, dict)
        ]
        return f"{len(problems)} problems (HTTP {status}):\n" + "\n".join(lines)
    return f"{answer['error']} (HTTP {status})"


def quota_line(rule: Mapping[str, Any]) -> str:
    """A forced quota rule (a fault rule at "quota", as the admin API lists it) in words."""
    match, effect = rule.get("match") or {}, rule.get("effect") or {}
    who = match.get("user") or "anyone"
    return (
        f"{rule.get('id')}: call {match.get('call_number', 1)} to {match.get('path')} by {who} "
        f"-> 429 0008, reset {effect.get('reset_ms')} ms (matched {rule.get('calls')}, "
        f"applied {rule.get('applied')})"
    )


def journal_table(entries: Sequence[Mapping[str, Any]]) -> Table:
    """The journal as a table: id (for ``--show``), time, request id, path, user, status+sub,
    check, reason."""
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("time", no_wrap=True)
    table.add_column("req id", overflow="fold")
    table.add_column("path", overflow="fold")
    table.add_column("user", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("check", overflow="fold")
    table.add_column("reason", overflow="fold")
    for entry in entries:
        status = str(entry.get("status"))
        if entry.get("sub_code"):
            status += f" {entry['sub_code']}"
        colour = "green" if str(entry.get("status", "")).startswith("2") else "red"
        table.add_row(
            escape(str(entry.get("id") or "-")),
            format_time(entry.get("time")),
            escape(str(entry.get("request_id") or "-")),
            escape(str(entry.get("path"))),
            escape(str(entry.get("user") or "-")),
            f"[{colour}]{status}[/]",
            escape(str(entry.get("check") or "-")),
            escape(str(entry.get("reason") or "")),
        )
    return table


def ttl_seconds(text: str) -> int | None:
    """A binding lifetime typed on the command line (``3d``, ``1h`` or ``never``) in seconds."""
    if text.strip().lower() == "never":
        return None
    seconds = int(parse_duration(text))
    if seconds < 1:
        raise click.BadParameter(f"{text!r}: a binding lives at least 1 s (or give 'never')")
    return seconds
