"""``mcapi emulator``: serve the emulator, and drive a running one through its admin API.

``serve`` runs an emulator in the foreground (uvicorn, one process). Every other subcommand is a
thin client of the admin API under ``/_emulator/`` (``mcapi.emulator._admin`` lists the routes):
the URL comes from ``--url``/``MCAPI_BASE_URL``, the token from ``--admin-token``/
``MCAPI_ADMIN_TOKEN``, exactly the variables ``serve --demo`` prints.
"""

from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from mcapi._constants import DEFAULT_HOST, DEFAULT_PORT, LOG_LEVELS
from mcapi.cli._admin_client import (
    AdminClient,
    admin_options,
    console,
    journal_table,
    parse_duration,
)
from mcapi.cli._admin_jobs import progress_option, run_job
from mcapi.cli._emulator_account_cmd import generate, policy
from mcapi.cli._emulator_apps_cmd import app
from mcapi.cli._emulator_faults_cmd import faults, quotas
from mcapi.cli._emulator_users_cmd import user
from mcapi.cli._extras import require_emulator_extra

__all__ = ["emulator"]

# Nothing under mcapi.emulator is imported at module level (the serve defaults come from
# mcapi._constants): every `mcapi` command imports this module, and the emulator (SQLAlchemy,
# Starlette, Redis) costs ~0.3 s to import.


class StartError(click.ClickException):
    """The emulator could not start; click prints the message and exits 1."""

    exit_code = 1


class SeedFileError(click.ClickException):
    """A bad ``--seed`` file: nothing was loaded; exit code 2."""

    exit_code = 2


def _public_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from urllib.parse import urlsplit

    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise click.BadParameter(f"{value!r}: expected http(s)://HOST[:PORT][/PATH]")
    return value.strip().rstrip("/")


@click.group()
def emulator() -> None:
    """Run the Mimecast API emulator, or control a running one (clock, faults, quotas, users).

    \b
    mcapi emulator serve --demo        start it, print ready-to-paste credentials
    mcapi emulator journal             what it answered, and why
    mcapi emulator dashboard           a link that logs a browser into the web dashboard
    mcapi emulator clock --advance 3d  expire every 3-day binding
    mcapi emulator expire-binding KEY  expire one binding now
    mcapi emulator generate CUSA12345  fill an account with generated mail
    """


@emulator.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--db",
    default="mcapi-emulator.db",
    show_default=True,
    help="A SQLite file (created on first start, kept across restarts) or any SQLAlchemy URL "
    "(sqlite:// in memory, postgresql+psycopg://... to share one state).",
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A TOML or JSON seed file (docs/seed-file.md) loaded at start.",
)
@click.option(
    "--admin-token",
    envvar="MCAPI_ADMIN_TOKEN",
    help="Token of the admin API; prefer the env MCAPI_ADMIN_TOKEN or --admin-token-file (a "
    "command line is visible to every user of the machine); default: generated once, kept in the "
    "database, printed.",
)
@click.option(
    "--admin-token-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Read the admin API's token from this file (its first line).",
)
@click.option(
    "--redis",
    "redis_url",
    help="Redis URL: share rate limits, replay protection, the clock, fault rules and the journal.",
)
@click.option(
    "--redis-namespace",
    help="Prefix of this deployment's Redis keys, so that deployments can share one Redis "
    "database; default: derived from --db (the processes of one deployment share it).",
)
@click.option(
    "--skew-minutes",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="How far x-mc-date may be from the clock --skew-clock names.",
)
@click.option(
    "--skew-clock",
    type=click.Choice(["wall", "emulator", "either"]),
    default="wall",
    show_default=True,
    help="The clock x-mc-date is measured against: the machine's (integrations sign with it, so "
    "moving the emulator clock expires bindings with 418), the emulator's (for tests that sign "
    "with it), or either.",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Load the demo tenant (with generated mail on first start) and print its credentials.",
)
@click.option(
    "--public-url",
    callback=_public_url,
    help="The URL clients reach this server at (behind a proxy); discovery answers it. "
    "Default: http://HOST:PORT.",
)
@click.option(
    "--trust-forwarded-for",
    is_flag=True,
    help="Take the caller's address from X-Forwarded-For (behind a proxy, or to test permitted "
    "IP ranges from one machine).",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds a request may take to arrive whole (head and body); a slower one is answered "
    "408 and its connection closed.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Connections served at once; while more are open, requests are answered 503.",
)
@click.option(
    "--tls-cert",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="PEM certificate (chain): serve HTTPS instead of HTTP (with --tls-key).",
)
@click.option(
    "--tls-key",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes serving the one port, as one emulator: needs a PostgreSQL --db and --redis.",
)
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="warning", show_default=True)
@click.option("--access-log/--no-access-log", default=False, help="Log every request (slower).")
def serve(
    host: str,
    port: int,
    db: str,
    seed_file: Path | None,
    admin_token: str | None,
    admin_token_file: Path | None,
    redis_url: str | None,
    redis_namespace: str | None,
    skew_minutes: float,
    skew_clock: str,
    demo: bool,
    public_url: str | None,
    trust_forwarded_for: bool,
    request_timeout: float,
    max_connections: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    workers: int,
    log_level: str,
    access_log: bool,
) -> None:
    """Serve the emulator until Ctrl-C; the database keeps its state across restarts."""
    require_emulator_extra("mcapi emulator serve")
    from mcapi.emulator import _serve
    from mcapi.emulator._serve import ServeLimits, StartFailure, TlsFiles, run, start

    if admin_token_file is not None:
        admin_token = _read_token(admin_token_file)
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    tls = TlsFiles(tls_cert, tls_key) if tls_cert is not None and tls_key is not None else None
    if workers > 1:
        refusal = _serve.workers_refusal(_serve.database_url(db), redis_url)
        if refusal:
            raise click.UsageError(refusal)

    options: dict[str, Any] = {
        "admin_token": admin_token, "redis_url": redis_url, "redis_namespace": redis_namespace,
        "skew_seconds": skew_minutes * 60, "skew_reference": skew_clock,
        "public_url": public_url, "trust_forwarded_for": trust_forwarded_for,
    }  # fmt: skip
    try:
        started = start(host=host, port=port, db=db, seed_file=seed_file, demo=demo, tls=tls,
                        **options)  # fmt: skip
    except StartFailure as exc:
        message = str(exc)
        if exc.port_taken:
            message += _another_port(host)
        raise (SeedFileError if exc.exit_code == 2 else StartError)(message) from None
    emu = started.emulator
    if threading.current_thread() is threading.main_thread():
        # Serving, Ctrl-C is the way to stop (exit 0), however long closing takes: Python's own
        # handler again, not the command line's grace period (mcapi.cli._on_sigint). uvicorn
        # takes the signal over while it serves and raises it again once it has shut down.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _banner(started, host)
        limits = ServeLimits(request_timeout=request_timeout, max_connections=max_connections)
        if workers > 1:
            click.echo(f"{workers} worker processes")
            code = _serve.run_workers(
                started, workers, options, log_level=log_level, access_log=access_log,
                limits=limits,
            )  # fmt: skip
            click.echo("mcapi emulator stopped")
            if code:
                raise click.exceptions.Exit(code)
            return
        run(emu, started.sock, log_level=log_level, access_log=access_log, limits=limits, tls=tls)
    except KeyboardInterrupt:
        pass  # Ctrl-C before uvicorn took over the signal: the same clean stop
    finally:
        emu.close()
    click.echo("mcapi emulator stopped")


def _another_port(host: str) -> str:
    """How to pick another port, naming one that is free now."""
    from mcapi.emulator._serve import bind_socket

    try:
        with bind_socket(host, 0) as sock:
            free = int(sock.getsockname()[1])
    except OSError:
        free = DEFAULT_PORT + 8
    return (
        f"; pick another port: --port {free} (or `make demo PORT={free}`), or --port 0 for "
        "any free one"
    )


def _read_token(path: Path) -> str:
    """The first line of ``path``, blanks around removed; a usage error when there is none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc}", param_hint="--admin-token-file"
        ) from None
    token = lines[0].strip() if lines else ""
    if not token:
        raise click.BadParameter(f"{path} holds no token", param_hint="--admin-token-file")
    return token


def _banner(started: Any, host: str) -> None:
    from rich.markup import escape

    from mcapi.emulator._serve import describe_counts, is_loopback
    from mcapi.emulator._store._demo import DEMO_DATA
    from mcapi.emulator._ui import login_path

    emu, base_url, creds = started.emulator, started.base_url, started.credentials
    wildcard = host in ("0.0.0.0", "::", "")
    out = console()
    out.print(f"[bold green]mcapi emulator[/] listening on [bold]{base_url}[/]  (Ctrl-C to stop)")
    out.print(f"[dim]database {started.db_url}[/]", markup=True)
    out.print("[bold]dashboard[/] (this link logs a browser in once, within 10 minutes; "
              "`mcapi emulator dashboard` prints another):")  # fmt: skip
    click.echo(f"  {base_url}{login_path(emu.state)}")
    if started.tls is None and not is_loopback(host):
        out.print(
            f"[bold yellow]warning:[/] listening on {escape(host or 'every address')} without "
            "TLS: keys, passwords and the admin token cross the network in clear text (give "
            "--tls-cert and --tls-key, or keep --host 127.0.0.1)"
        )
    discovery = emu.config.public_base_url
    if discovery != base_url or wildcard:
        hint = ": give --public-url for other machines" if discovery == base_url else ""
        out.print(f"discovery answers the region API URL {discovery}{hint}", markup=False)
    if emu.redis_namespace:
        out.print(f"Redis keys under mcapi:{emu.redis_namespace}:", markup=False)
    if emu.config.trust_forwarded_for:
        out.print("caller addresses taken from X-Forwarded-For", markup=False)
    if started.seeded:
        out.print(started.seeded, markup=False)
    out.print("\n[bold]Paste into your shell:[/]")
    env = creds.env() if creds else {"MCAPI_BASE_URL": base_url}
    env["MCAPI_ADMIN_TOKEN"] = emu.admin_token
    for name, value in env.items():  # plain lines: rich must not wrap or colour them
        click.echo(f"export {name}={shlex.quote(value)}")
    if creds and creds.client_id:
        out.print(
            "\n[bold]API 2.0 (OAuth 2.0)[/]: paste these as well to call with a Bearer token "
            "(Client.from_env() then ignores the 1.0 keys):"
        )
        for name, value in creds.env2().items():
            if name != "MCAPI_BASE_URL":
                click.echo(f"export {name}={shlex.quote(value)}")
        if creds.client_secret is None:
            click.echo("  (the client secret was rotated since the tenant was created)")
    if creds:
        out.print(f"\n[bold]Demo users[/] (account {creds.account_code}):")
        for email, secret, role in (
            (creds.admin_email, creds.admin_password, "every permission"),
            (creds.reader_email, creds.reader_password, "read-only"),
            (
                creds.disabled_email,
                creds.passwords.get(creds.disabled_email),
                "disabled: logging in gets 401 0011",
            ),
        ):
            shown = secret or "(changed since the tenant was created)"
            click.echo(f"  {email:<22} password {shown:<18} {role}")
        plan = f"seed {DEMO_DATA.seed}, {DEMO_DATA.users} people, {DEMO_DATA.days} days"
        if creds.generated:
            click.echo(f"\nDemo data generated ({plan}): {describe_counts(creds.generated)}")
        else:
            click.echo(f"\nDemo data: kept from the first start ({plan}), not generated again")
    sys.stdout.flush()


# ---- admin commands --------------------------------------------------------------------------


@emulator.command()
@click.option(
    "--demo",
    is_flag=True,
    help="Then load the demo tenant afresh (with its generated data) and print its new keys, "
    "as `serve --demo` does.",
)
@progress_option
@admin_options
def reset(admin: AdminClient, demo: bool, progress: bool | None) -> None:
    """Empty every table and forget faults, quotas, the journal and the clock's offset (a
    generated admin token is kept, so the token you pasted keeps working)."""
    body = {"demo": True} if demo else None
    answer = run_job(admin, "reset", "reset", body=body, progress=progress)
    click.echo("emulator reset: no accounts, no faults, clock back to real time")
    if demo:
        _demo_reloaded(admin, answer["demo"])


def _demo_reloaded(admin: AdminClient, demo: dict[str, Any]) -> None:
    """The new keys of a demo tenant loaded by ``reset --demo``, as lines to paste."""
    click.echo(f"demo tenant {demo['account_code']} loaded afresh; paste its new keys:")
    env = {
        "MCAPI_BASE_URL": admin.url,
        "MCAPI_APP_ID": demo["app_id"],
        "MCAPI_APP_KEY": demo["app_key"],
        "MCAPI_ACCESS_KEY": demo["access_key"],
        "MCAPI_SECRET_KEY": demo["secret_key"],
    }
    if admin.token:
        env["MCAPI_ADMIN_TOKEN"] = admin.token
    for name, value in env.items():
        click.echo(f"export {name}={shlex.quote(value)}")
    if demo.get("client_id") and demo.get("client_secret"):
        click.echo("API 2.0 (paste as well to call with a Bearer token):")
        click.echo(f"export MCAPI_CLIENT_ID={shlex.quote(demo['client_id'])}")
        click.echo(f"export MCAPI_CLIENT_SECRET={shlex.quote(demo['client_secret'])}")
    for email, password in demo.get("passwords", {}).items():
        click.echo(f"  {email:<22} password {password}")
    if demo.get("generated"):
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in demo["generated"].items())
        click.echo(f"demo data generated: {counts}")


@emulator.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@progress_option
@admin_options
def seed(admin: AdminClient, file: Path, progress: bool | None) -> None:
    """Load a TOML or JSON seed file into the running emulator (all or nothing)."""
    kinds = {".toml": "application/toml", ".json": "application/json"}
    kind = kinds.get(file.suffix.lower())
    if kind is None:
        raise SeedFileError(f"{file}: use a .toml or .json seed file")
    answer = run_job(
        admin, "seed", f"seed {file.name}", content=file.read_bytes(), content_type=kind,
        progress=progress,
    )  # fmt: skip
    counts = ", ".join(f"{n} {k}" for k, n in answer.get("created", {}).items())
    click.echo(f"loaded {file}: {counts}")
    for email, password in answer.get("generated_passwords", {}).items():
        click.echo(f"  generated password for {email}: {password}")
    for client_id, secret in answer.get("generated_client_secrets", {}).items():
        click.echo(f"  generated client secret for {client_id}: {secret}")
    for code, made in answer.get("generated", {}).items():
        data = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in made.items())
        click.echo(f"  generated data for {code}: {data}")


@emulator.command()
@click.option("--freeze", is_flag=True, help="Stop the clock.")
@click.option("--resume", is_flag=True, help="Let a frozen clock run again.")
@click.option("--set", "set_to", metavar="ISO", help="Put the clock at a time (and freeze it).")
@click.option("--advance", metavar="DURATION", help="Move forward: 90s, 15m, 2h, 3d, 1h30m.")
@click.option("--reset", "reset_clock", is_flag=True, help="Back to real time.")
@admin_options
def clock(
    admin: AdminClient,
    freeze: bool,
    resume: bool,
    set_to: str | None,
    advance: str | None,
    reset_clock: bool,
) -> None:
    """Show or move the emulator's clock (binding TTLs, lockouts and quotas follow it)."""
    body: dict[str, Any] = {}
    for name, flag in (("reset", reset_clock), ("freeze", freeze), ("resume", resume)):
        if flag:
            body[name] = True
    if set_to is not None:
        body["set"] = set_to
    if advance is not None:
        body["advance"] = parse_duration(advance)
    state = admin.call("POST" if body else "GET", "clock", body=body or None)
    frozen = "frozen" if state.get("frozen") else "running"
    click.echo(f"emulator clock: {state.get('iso')} ({frozen})")


@emulator.command("expire-binding")
@click.argument("access_key")
@admin_options
def expire_binding(admin: AdminClient, access_key: str) -> None:
    """Expire one binding now: its calls get 418 0001 until a login refreshes it."""
    answer = admin.call("POST", f"bindings/{quote(access_key, safe='')}/expire")
    click.echo(f"binding {answer.get('access_key')} of {answer.get('user')} expired")


@emulator.command()
@admin_options
def dashboard(admin: AdminClient) -> None:
    """Print a link that logs a browser into the dashboard once (within 10 minutes)."""
    answer = admin.call("POST", "ui/links")
    click.echo(f"{admin.url}{answer['path']}")


# ---- journal -----------------------------------------------------------------------------------


@emulator.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--path", help="Only this function path.")
@click.option("--status", type=int, help="Only this HTTP status.")
@click.option("--request-id", help="Only this x-mc-req-id.")
@click.option("--jsonl", is_flag=True, help="Raw entries, one JSON object a line.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new entries until Ctrl-C.")
@click.option(
    "--show",
    "show",
    metavar="ID",
    help="One entry in full: headers and bodies (redacted), check, reason, the code's remedy.",
)
@admin_options
def journal(
    admin: AdminClient,
    limit: int,
    path: str | None,
    status: int | None,
    request_id: str | None,
    jsonl: bool,
    follow: bool,
    show: str | None,
) -> None:
    """The last requests the emulator answered: who, what, the answer, and which check decided."""
    if show is not None:
        from mcapi.cli._journal_show import entry_text

        answer = admin.call("GET", f"journal/{quote(show, safe='')}")
        click.echo(json.dumps(answer, ensure_ascii=False) if jsonl else entry_text(answer))
        return
    query: dict[str, Any] = {"path": path, "status": status, "request_id": request_id}
    since: float | None = None
    seen: set[str] = set()
    # Ctrl-C ends --follow as any command: exit 130 (mcapi.cli._Group).
    while True:
        page = admin.call("GET", "journal", params={**query, "limit": limit, "since": since})
        # Polls overlap (entries at or after the last time seen): the entry's id tells a
        # repeated call (same time under a frozen clock, same path, no request id) from one
        # already printed.
        fresh = [e for e in page.get("entries", []) if str(e["id"]) not in seen]
        seen.update(str(e["id"]) for e in fresh)
        if jsonl:
            for entry in fresh:
                click.echo(json.dumps(entry, ensure_ascii=False))
        elif fresh or not follow:
            console().print(journal_table(fresh) if fresh else "no journal entries")
        if not follow:
            return
        if fresh:
            since = max(float(e["time"]) for e in fresh)
        sys.stdout.flush()
        time.sleep(1.0)


for _command in (faults, quotas, user, policy, generate, app):
    emulator.add_command(_command)
