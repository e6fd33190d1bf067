"""``mcapi login`` and ``mcapi call``: the client from the command line.

``login`` discovers the user's region, logs in and stores the binding in a profile (mode 0600,
written atomically; the password is never stored); ``login --client-id`` checks an API 2.0
client id and secret by getting a token and stores them. ``call`` signs and sends one call with the
credentials :mod:`mcapi.cli._sources` resolves (``--profile``, else ``MCAPI_*``, else a saved
profile), prints the result as JSON, and says how it went in its exit code (:data:`EXIT_CODES`),
so scripts can branch on the outcome class without parsing the output. ``call --all-pages``
streams: each record is written to stdout as one line of JSON (JSONL) and flushed as its page
arrives, so memory stays flat however long the result and an interrupted run keeps what it had
written. Progress and ``-v`` go to stderr (``_progress.py``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from mcapi._codes import Action
from mcapi._constants import DEFAULT_OAUTH_BASE_URL
from mcapi._errors import MimecastError, RemoteProtocolError, TransportError
from mcapi.cli._advice import Context, error_document, error_line
from mcapi.cli._functions_cmd import complete_path
from mcapi.cli._progress import Reporter
from mcapi.cli._sources import PROFILE_VAR, resolve
from mcapi.client import Client, Credentials, RetryPolicy, is_read_only
from mcapi.client._auth import DEFAULT_DISCOVERY_URL
from mcapi.client._credentials import OAuthCredentials, save_profile
from mcapi.client._paginate import records_of

__all__ = ["EXIT_CODES", "call", "exit_code_for", "fail", "login"]

#: (exit code, outcome class, meaning) of ``mcapi call``.
EXIT_CODES: tuple[tuple[int, str, str], ...] = (
    (0, "ok", "the call succeeded and no item failed"),
    (1, "local", "mcapi could not make the call: no credentials or profile, a bad key"),
    (2, "usage", "the command line is wrong, or --data is unreadable or not JSON"),
    (3, "partial", "the function ran but some items failed (see fail in the output)"),
    (4, "request", "the request was refused: 400, 404, 405, 409 (fix the request)"),
    (5, "forbidden", "the user may not do this: 403 (ask for the permission)"),
    (6, "auth", "authentication failed: 401, 403 0009/0012/0016, binding expired (log in)"),
    (7, "quota", "the quota stayed spent after waiting: 429"),
    (8, "server", "the platform failed: 5xx (retried where safe), or broke the protocol"),
    (9, "network", "no usable answer: refused, reset, timed out, or a proxy's page instead"),
    (130, "interrupted", "Ctrl-C; what --all-pages had written stays written"),
)

#: Action class of the error's catalogue entry -> exit code.
_BY_ACTION: Mapping[Action, int] = {
    Action.CALLER: 4,
    Action.FORBIDDEN: 5,
    Action.STOP: 6,
    Action.REFRESH: 6,
    Action.RELOGIN: 6,
    Action.WAIT: 7,
    Action.TRANSIENT: 8,
    Action.OK: 1,
}

_EPILOG = "\b\nExit codes:\n" + "\n".join(
    f"  {c}  {name:<9} {text}" for c, name, text in EXIT_CODES
)


def exit_code_for(error: MimecastError) -> int:
    """The exit code of an error (see :data:`EXIT_CODES`)."""
    if isinstance(error, TransportError):
        return 9
    if isinstance(error, RemoteProtocolError):
        # A proxy's page in the platform's place (a 200 sign-in page, a 403 block page): the
        # platform was not heard from. A gateway's 5xx page is the server failing, as a 5xx is.
        proxy_page = error.content_type is not None and (error.status or 0) < 500
        return 9 if proxy_page else 8
    if error.entry is None:
        return 1
    return _BY_ACTION[error.entry.action]


def fail(error: MimecastError, *, stream: bool = False, context: Context | None = None) -> None:
    """Print the error (as JSON: on stdout, or on stderr when stdout is a stream of records)
    and exit with its code. The advice is the command line's (:mod:`mcapi.cli._advice`), else
    the catalogue's remedy."""
    document = error_document(error, context)
    click.echo(json.dumps(document, indent=2, default=str), err=stream)
    click.echo(f"mcapi: {error_line(error, context)}", err=True)
    sys.exit(exit_code_for(error))


@click.command()
@click.option("--email", envvar="MCAPI_EMAIL", help="The user to log in (prompted for).")
@click.option(
    "--password",
    envvar="MCAPI_PASSWORD",
    help="The password (prompted for when not given; better than the command line).",
)
@click.option(
    "--auth-type",
    type=click.Choice(["cloud", "domain"]),
    default="cloud",
    show_default=True,
    help="Basic-Cloud (cloud password) or Basic-AD (domain).",
)
@click.option("--app-id", envvar="MCAPI_APP_ID", help="Application ID (API 1.0).")
@click.option("--app-key", envvar="MCAPI_APP_KEY", help="Application key (API 1.0).")
@click.option("--client-id", envvar="MCAPI_CLIENT_ID", help="API 2.0: the application's client id.")
@click.option(
    "--client-secret",
    envvar="MCAPI_CLIENT_SECRET",
    help="API 2.0: the client secret (prompted for when --client-id is given without it).",
)
@click.option(
    "--discovery-url",
    envvar="MCAPI_DISCOVERY_URL",
    default=DEFAULT_DISCOVERY_URL,
    show_default=True,
    help="Where to discover the user's region.",
)
@click.option(
    "--base-url",
    envvar="MCAPI_BASE_URL",
    help="Skip discovery and log in at this region URL (API 2.0: the gateway, default "
    "https://api.services.mimecast.com). From MCAPI_BASE_URL unless a discovery URL is given.",
)
@click.option(
    "--profile",
    envvar=PROFILE_VAR,
    default="default",
    show_default=True,
    help="Profile to save to (env MCAPI_PROFILE).",
)
def login(
    email: str | None,
    password: str | None,
    auth_type: str,
    app_id: str | None,
    app_key: str | None,
    client_id: str | None,
    client_secret: str | None,
    discovery_url: str,
    base_url: str | None,
    profile: str,
) -> None:
    """Log in and save the binding (access and secret key) in a profile; with --client-id
    (API 2.0), check the client id and secret by getting a token and save them instead.

    The profile file is $MCAPI_CONFIG, else ~/.config/mcapi/profiles.toml, written with mode
    0600. The password is only sent to log in; it is never saved.
    """
    base_origin = "MCAPI_BASE_URL" if base_url and _from_env("base_url") else "--base-url"
    if client_id:
        _login_2_0(client_id, client_secret, base_url, profile, base_origin)
        return
    if base_origin == "MCAPI_BASE_URL" and not _from_default("discovery_url"):
        base_url = None  # a discovery URL asked for (option or variable) wins over the variable
    if not app_id or not app_key:
        raise click.UsageError(
            "give --app-id and --app-key (MCAPI_APP_ID, MCAPI_APP_KEY) for API 1.0, "
            "or --client-id (MCAPI_CLIENT_ID) for API 2.0"
        )
    # Prompts go to stderr: stdout carries only the outcome (JSON on failure).
    if not email:
        email = str(click.prompt("Email address", err=True))
    if not password:
        password = str(click.prompt("Password", hide_input=True, err=True))
    try:
        with Client.login(
            email,
            password,
            app_id=app_id,
            app_key=app_key,
            auth_type=auth_type,
            discovery_url=discovery_url,
            base_url=base_url,
            keep_password=False,
        ) as client:
            credentials = client.credentials
        assert isinstance(credentials, Credentials)
        path = save_profile(profile, credentials)
    except MimecastError as error:
        origin = base_origin if base_url else "--discovery-url (or MCAPI_DISCOVERY_URL)"
        fail(error, context=Context(base_url=base_url or discovery_url, origin=origin))
        return
    expiry = "never expires"
    if credentials.expires_at is not None:
        from datetime import UTC, datetime

        expiry = "expires " + datetime.fromtimestamp(credentials.expires_at, UTC).isoformat()
    click.echo(
        f"Logged in as {email} at {credentials.base_url}; binding saved to profile "
        f"{profile!r} in {path} ({expiry})."
    )


def _from_env(name: str) -> bool:
    source = click.get_current_context().get_parameter_source(name)
    return source is click.core.ParameterSource.ENVIRONMENT


def _from_default(name: str) -> bool:
    source = click.get_current_context().get_parameter_source(name)
    return source in (None, click.core.ParameterSource.DEFAULT)


def _login_2_0(
    client_id: str,
    client_secret: str | None,
    base_url: str | None,
    profile: str,
    base_origin: str = "--base-url",
) -> None:
    """``mcapi login --client-id``: get one token to check the id and secret, then save them."""
    import time

    import httpx

    from mcapi._errors import TransportError as McTransportError
    from mcapi.client._oauth import TokenAuth

    if not client_secret:
        client_secret = str(click.prompt("Client secret", hide_input=True, err=True))
    credentials = OAuthCredentials(client_id, client_secret, base_url or DEFAULT_OAUTH_BASE_URL)
    try:
        with httpx.Client(timeout=30.0) as http:
            try:
                TokenAuth(credentials, time.time).fetch(http)
            except httpx.TransportError as exc:
                raise McTransportError(
                    f"cannot reach {credentials.base_url}: {type(exc).__name__}: {exc}",
                    endpoint="/oauth/token",
                ) from exc
        path = save_profile(profile, credentials)
    except MimecastError as error:
        origin = base_origin if base_url else "the default gateway (give --base-url)"
        fail(error, context=Context(base_url=credentials.base_url, origin=origin))
        return
    click.echo(
        f"API 2.0 client {client_id} got a token at {credentials.base_url}; client id and "
        f"secret saved to profile {profile!r} in {path} (tokens are fetched as needed)."
    )


def _load_data(value: str | None) -> list[dict[str, Any]]:
    if value is None:
        return []
    text = value
    if value.startswith("@"):
        source = value[1:]
        try:
            text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.UsageError(f"cannot read --data file {source}: {exc.strerror}") from exc
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.UsageError(f"--data is not JSON: {exc.msg} at line {exc.lineno}") from exc
    if isinstance(parsed, dict) and isinstance(parsed.get("data"), list):
        parsed = parsed["data"]  # a whole request body
    elif isinstance(parsed, dict):
        parsed = [parsed]  # one item
    if not isinstance(parsed, list) or not all(isinstance(i, dict) for i in parsed):
        raise click.UsageError('--data must be an object, a list of objects, or {"data": [...]}')
    return parsed


def _jsonl(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _stream_pages(
    client: Client, path: str, items: list[dict[str, Any]], reporter: Reporter,
    *, records: bool, **options: Any,
) -> int:  # fmt: skip
    """Write every record (or ``data`` item) of every page as JSONL, each flushed as it comes;
    returns the exit code. Failed items go to stderr as ``{"fail": [...]}``."""
    out = sys.stdout
    failed = False
    try:
        with reporter.pages(path) as advance:
            for page in client.pages(path, items, **options):
                count = 0
                for record in records_of(page) if records else page.data:
                    out.write(_jsonl(record) + "\n")
                    out.flush()
                    count += 1
                advance(1, count)
                if page.failures:
                    failed = True
                    fail = [f.to_dict() for f in page.failures]
                    click.echo(_jsonl({"fail": fail, "request_id": page.request_id}), err=True)
    except BrokenPipeError:
        # The reader stopped early (`| head`): that is how a pipeline ends, so end quietly, and
        # keep the interpreter's last flush of stdout from failing again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    return 3 if failed else 0


@click.command(epilog=_EPILOG)
@click.argument("path", shell_complete=complete_path)
@click.option(
    "--data",
    "data_arg",
    metavar="JSON|@FILE",
    help='Items: an object, a list of objects, or a {"data": [...]} body; @file or '
    "@- reads it from a file or stdin.",
)
@click.option(
    "--profile",
    help="Use this profile saved by `mcapi login`. Without it: the MCAPI_* variables when they "
    "hold a binding or an API 2.0 client, else the profile MCAPI_PROFILE names, else 'default'.",
)
@click.option("--page-size", type=click.IntRange(1), help="Items per page.")
@click.option("--page-token", help="Start at this page (meta.pagination.next of a response).")
@click.option(
    "--all-pages",
    is_flag=True,
    help="Follow meta.pagination.next to the last page, writing each record as one line of "
    "JSON (JSONL) as it arrives; failed items go to stderr.",
)
@click.option(
    "--page-items",
    is_flag=True,
    help="With --all-pages: write the data items as the function answers them (e.g. one "
    '{"trackedEmails": [...]} per page) instead of the records inside.',
)
@click.option(
    "--read-only/--changes-state",
    default=None,
    help="Whether the function only reads (default: mcapi's table); reads are retried "
    "after transient failures, state changes are not.",
)
@click.option("--no-retry", is_flag=True, help="Never retry or wait; fail at the first error.")
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="For functions that return a file: write it here. A path ending with '/', or an "
    "existing directory, is a directory (created when missing; the file keeps its name); a "
    "file is never overwritten without --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="With --output FILE: replace an existing file.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show each attempt on stderr: request line, headers (secrets redacted), status, sub "
    "code and what the client decided.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Draw progress on stderr (default: only when stderr is a terminal).",
)
def call(
    path: str,
    data_arg: str | None,
    profile: str | None,
    page_size: int | None,
    page_token: str | None,
    all_pages: bool,
    page_items: bool,
    read_only: bool | None,
    no_retry: bool,
    output: str | None,
    overwrite: bool,
    verbose: bool,
    progress: bool | None,
) -> None:
    """Call a function and print the result as JSON.

    The result holds data (the items that succeeded) and fail (the items that failed, each with
    its key), e.g. ``mcapi call /api/account/get-account``. With --all-pages, stdout is JSONL:
    one record per line."""
    if not path.startswith("/"):
        raise click.BadParameter(
            f"{path!r}: a function path starts with /, e.g. /api/account/get-account",
            param_hint="PATH",
        )
    if page_items and not all_pages:
        raise click.UsageError("--page-items goes with --all-pages")
    if overwrite and output is None:
        raise click.UsageError("--overwrite goes with --output FILE")
    items = _load_data(data_arg)
    retry = RetryPolicy.never() if no_retry else None
    reporter = Reporter(verbose=verbose, progress=progress)
    context = Context(read_only=read_only if read_only is not None else is_read_only(path))
    try:
        found = resolve(profile)  # --profile, else MCAPI_*, else a saved profile
    except MimecastError as error:
        fail(error, stream=all_pages, context=context)
        return
    context = Context(found, found.credentials.base_url, context.read_only)
    try:
        with Client(found.credentials, **reporter.client_options()) as client:
            if output is not None:
                with reporter.download(path) as on_chunk:
                    got = client.download(
                        path, items, output, read_only=read_only, retry=retry,
                        overwrite=overwrite, progress=on_chunk,
                    )  # fmt: skip
                result = got.result
                summary = {
                    "path": path,
                    "file": str(got.target) if got.target else None,
                    "size": got.size,
                    "filename": got.filename,
                    "siem_token": got.siem_token,
                    "request_id": got.request_id,
                    "attempts": got.attempts,
                    "result": result.to_dict() if result else None,
                }
                click.echo(json.dumps(summary, indent=2, default=str))
                sys.exit(3 if result is not None and result.failures else 0)
            if all_pages:
                code = _stream_pages(
                    client, path, items, reporter, records=not page_items,
                    page_size=page_size, page_token=page_token, read_only=read_only,
                    retry=retry,
                )  # fmt: skip
                sys.exit(code)
            result = client.call(
                path, items, page_size=page_size, page_token=page_token,
                read_only=read_only, retry=retry,
            )  # fmt: skip
    except FileExistsError as exc:
        raise click.UsageError(str(exc.strerror)) from exc
    except MimecastError as error:
        fail(error, stream=all_pages, context=context)
        return
    out = result.to_dict()
    click.echo(json.dumps(out, indent=2, default=str))
    sys.exit(3 if out["fail"] else 0)
