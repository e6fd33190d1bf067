"""``mcapi emulator``: serve the emulator, and drive a running one through its admin API.

``serve`` runs an emulator in the foreground (uvicorn, one process). Every other subcommand is a
thin client of the admin API under ``/_emulator/`` (``mcapi.emulator._admin`` lists the routes):
the URL comes from ``--url``/``MCAPI_BASE_URL``, the token from ``--admin-token``/
``MCAPI_ADMIN_TOKEN``, exactly the variables ``serve --demo`` prints.
"""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import click

from mcapi.cli._admin_client import (
    AdminClient,
    admin_options,
    console,
    echo_json,
    faults_table,
    journal_table,
    parse_duration,
    quota_line,
)
from mcapi.cli._emulator_users_cmd import policy, user

__all__ = ["emulator"]

# Nothing under mcapi.emulator is imported at module level: every `mcapi` command imports this
# module, and the emulator (SQLAlchemy, Starlette, Redis) costs ~0.3 s to import.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class StartError(click.ClickException):
    """The emulator could not start; click prints the message and exits 1."""

    exit_code = 1


class SeedFileError(click.ClickException):
    """A bad ``--seed`` file: nothing was loaded; exit code 2."""

    exit_code = 2


@click.group()
def emulator() -> None:
    """Run the Mimecast API emulator, or control a running one (clock, faults, quotas, users).

    \b
    mcapi emulator serve --demo        start it, print ready-to-paste credentials
    mcapi emulator journal             what it answered, and why
    mcapi emulator clock --advance 3d  expire every 3-day binding
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
    help="Token of the admin API (env MCAPI_ADMIN_TOKEN); default: generated once, kept in the "
    "database, printed.",
)
@click.option("--redis", "redis_url", help="Redis URL: share rate limits and replay protection.")
@click.option(
    "--skew-minutes",
    type=click.FloatRange(min=0),
    default=15.0,
    show_default=True,
    help="How far x-mc-date may be from the emulator's clock.",
)
@click.option("--demo", is_flag=True, help="Load the demo tenant and print its credentials.")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="warning", show_default=True)
@click.option("--access-log/--no-access-log", default=False, help="Log every request (slower).")
def serve(
    host: str,
    port: int,
    db: str,
    seed_file: Path | None,
    admin_token: str | None,
    redis_url: str | None,
    skew_minutes: float,
    demo: bool,
    log_level: str,
    access_log: bool,
) -> None:
    """Serve the emulator until Ctrl-C; the database keeps its state across restarts."""
    from mcapi.emulator._serve import (
        bind_socket,
        check_redis,
        database_url,
        display_url,
        open_emulator,
        run,
        seed_once,
    )
    from mcapi.emulator._store import SeedError, load_seed_file

    document = None
    if seed_file is not None:
        try:
            document = load_seed_file(seed_file)
        except SeedError as exc:
            raise SeedFileError(f"seed not loaded: {exc}") from None
    if redis_url:
        try:
            check_redis(redis_url)
        except ConnectionError as exc:
            raise StartError(str(exc)) from None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise StartError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    base_url = display_url(host, int(sock.getsockname()[1]))
    url = database_url(db)
    new_file = url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()
    try:
        emu = open_emulator(
            url,
            base_url=base_url,
            admin_token=admin_token,
            redis_url=redis_url,
            skew_seconds=skew_minutes * 60,
        )
    except Exception as exc:  # any driver or URL error: one line, no traceback
        sock.close()
        raise StartError(f"cannot open the database {db}: {exc}") from None
    try:
        loaded = seed_once(emu, document, str(seed_file)) if document is not None else None
        creds = emu.load_demo() if demo else None
    except (SeedError, ValueError) as exc:
        sock.close()
        emu.close()
        if new_file:
            Path(url[len("sqlite:///") :]).unlink(missing_ok=True)
        raise SeedFileError(f"seed not loaded: {exc}") from None
    try:
        _banner(emu, base_url, url, creds, loaded)
        run(emu, sock, log_level=log_level, access_log=access_log)
    except KeyboardInterrupt:
        pass  # Ctrl-C before uvicorn took over the signal: the same clean stop
    finally:
        emu.close()
    click.echo("mcapi emulator stopped")


def _banner(emu: Any, base_url: str, db_url: str, creds: Any, loaded: str | None) -> None:
    out = console()
    out.print(f"[bold green]mcapi emulator[/] listening on [bold]{base_url}[/]  (Ctrl-C to stop)")
    out.print(f"[dim]database {db_url}[/]", markup=True)
    if loaded:
        out.print(loaded, markup=False)
    out.print("\n[bold]Paste into your shell:[/]")
    env = creds.env() if creds else {"MCAPI_BASE_URL": base_url}
    env["MCAPI_ADMIN_TOKEN"] = emu.admin_token
    for name, value in env.items():  # plain lines: rich must not wrap or colour them
        click.echo(f"export {name}={shlex.quote(value)}")
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
    sys.stdout.flush()


# ---- admin commands --------------------------------------------------------------------------


@emulator.command()
@admin_options
def reset(admin: AdminClient) -> None:
    """Empty every table and forget faults, quotas, the journal and the clock's offset."""
    admin.call("POST", "reset")
    click.echo("emulator reset: no accounts, no faults, clock back to real time")


@emulator.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@admin_options
def seed(admin: AdminClient, file: Path) -> None:
    """Load a TOML or JSON seed file into the running emulator (all or nothing)."""
    kinds = {".toml": "application/toml", ".json": "application/json"}
    kind = kinds.get(file.suffix.lower())
    if kind is None:
        raise SeedFileError(f"{file}: use a .toml or .json seed file")
    answer = admin.call("POST", "seed", content=file.read_bytes(), content_type=kind)
    counts = ", ".join(f"{n} {k}" for k, n in answer.get("created", {}).items())
    click.echo(f"loaded {file}: {counts}")
    for email, password in answer.get("generated_passwords", {}).items():
        click.echo(f"  generated password for {email}: {password}")


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


# ---- faults ------------------------------------------------------------------------------------


@emulator.group()
def faults() -> None:
    """Scripted faults (docs/faults.md): error answers, latency, broken connections."""


@faults.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@admin_options
def faults_list(admin: AdminClient, as_json: bool) -> None:
    """The installed rules, with the calls each matched and won."""
    rules = admin.call("GET", "faults").get("rules", [])
    if as_json:
        echo_json(rules)
        return
    if not rules:
        click.echo("no fault rules")
        return
    console().print(faults_table(rules))


@faults.command("add")
@click.argument("rule")
@admin_options
def faults_add(admin: AdminClient, rule: str) -> None:
    """Add a rule given as JSON, or @FILE holding the JSON.

    \b
    mcapi emulator faults add '{"match": {"path": "/api/*", "times": 2},
                                "effect": {"status": 500, "sub_code": "0006"}}'
    """
    text = rule
    if rule.startswith("@"):
        try:
            text = Path(rule[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {rule[1:]}: {exc.strerror or exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"the rule is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise click.BadParameter("the rule must be a JSON object")
    answer = admin.call("POST", "faults", body=document)
    click.echo(f"fault rule {answer.get('id')} added")


@faults.command("remove")
@click.argument("rule_id")
@admin_options
def faults_remove(admin: AdminClient, rule_id: str) -> None:
    """Remove one rule by its id."""
    admin.call("DELETE", f"faults/{rule_id}")
    click.echo(f"fault rule {rule_id} removed")


@faults.command("clear")
@admin_options
def faults_clear(admin: AdminClient) -> None:
    """Remove every rule."""
    admin.call("DELETE", "faults")
    click.echo("every fault rule removed")


# ---- forced quotas -----------------------------------------------------------------------------


@emulator.group()
def quotas() -> None:
    """Deterministic 429s: "the Nth call to this function gets 429 0008"."""


@quotas.command("force")
@click.option("--path", required=True, help="Function path or glob, e.g. /api/audit/*.")
@click.option("--call", "call_number", type=click.IntRange(min=1), required=True)
@click.option("--reset-ms", type=click.IntRange(min=1), required=True, help="X-RateLimit-Reset.")
@click.option("--user", "user_email", help="Only this user's calls (default: anyone's).")
@admin_options
def quotas_force(
    admin: AdminClient, path: str, call_number: int, reset_ms: int, user_email: str | None
) -> None:
    """Make the --call-th call to --path get 429 0008 with X-RateLimit-Reset --reset-ms."""
    body = {"path": path, "call_number": call_number, "reset_ms": reset_ms}
    if user_email:
        body["user"] = user_email
    answer = admin.call("POST", "quotas/forced", body=body)
    click.echo(f"forced quota rule {answer.get('id')} added")


@quotas.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the rules as JSON.")
@admin_options
def quotas_list(admin: AdminClient, as_json: bool) -> None:
    """The forced 429 rules."""
    rules = admin.call("GET", "quotas/forced").get("rules", [])
    if as_json:
        echo_json(rules)
        return
    for rule in rules:
        click.echo(quota_line(rule))
    if not rules:
        click.echo("no forced quota rules")


@quotas.command("remove")
@click.argument("rule_id")
@admin_options
def quotas_remove(admin: AdminClient, rule_id: str) -> None:
    """Remove one forced quota rule."""
    admin.call("DELETE", f"quotas/forced/{rule_id}")
    click.echo(f"forced quota rule {rule_id} removed")


@quotas.command("clear")
@admin_options
def quotas_clear(admin: AdminClient) -> None:
    """Remove every forced quota rule."""
    admin.call("DELETE", "quotas/forced")
    click.echo("every forced quota rule removed")


# ---- journal -----------------------------------------------------------------------------------


@emulator.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--path", help="Only this function path.")
@click.option("--status", type=int, help="Only this HTTP status.")
@click.option("--request-id", help="Only this x-mc-req-id.")
@click.option("--jsonl", is_flag=True, help="Raw entries, one JSON object a line.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new entries until Ctrl-C.")
@admin_options
def journal(
    admin: AdminClient,
    limit: int,
    path: str | None,
    status: int | None,
    request_id: str | None,
    jsonl: bool,
    follow: bool,
) -> None:
    """The last requests the emulator answered: who, what, the answer, and which check decided."""
    query: dict[str, Any] = {"path": path, "status": status, "request_id": request_id}
    since: float | None = None
    seen: set[tuple[Any, ...]] = set()
    try:
        while True:
            page = admin.call("GET", "journal", params={**query, "limit": limit, "since": since})
            fresh = [e for e in page.get("entries", []) if _key(e) not in seen]
            seen.update(_key(e) for e in fresh)
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
    except KeyboardInterrupt:
        return


def _key(entry: dict[str, Any]) -> tuple[Any, ...]:
    return (entry.get("time"), entry.get("request_id"), entry.get("path"), entry.get("status"))


emulator.add_command(user)
emulator.add_command(policy)
