"""``mcapi emulator user ...``, ``policy``, ``generate``, ``faults ...`` and ``quotas ...``: what
an administrator changes in a running emulator's users, accounts and behaviour.

Each command is one call to the admin API (``/_emulator/users/{email}/{operation}``,
``/_emulator/accounts/{code}/policy`` and ``/generate``, ``/_emulator/faults``,
``/_emulator/quotas/forced``) and prints the new state, or what was made, in a line or a table.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from mcapi.cli._admin_client import (
    AdminClient,
    admin_options,
    console,
    echo_json,
    faults_table,
    format_time,
    parse_duration,
    quota_line,
    user_line,
)

__all__ = ["faults", "generate", "policy", "quotas", "user"]

#: Operations that take nothing but the e-mail address: name -> help.
_SIMPLE_OPERATIONS = {
    "unlock": "Lift a lock and clear the failed-login count.",
    "disable": "Disable the user: logins get 401 0011; its bindings are revoked (401 0012).",
    "enable": "Enable a disabled user.",
    "expire-password": "Expire the password now: logins get 403 0009.",
    "revoke-bindings": "Revoke every binding: signed calls with them get 401 0012.",
}


def _operate(admin: AdminClient, email: str, operation: str, body: dict[str, Any]) -> Any:
    return admin.call("POST", f"users/{quote(email, safe='@')}/{operation}", body=body)


def _show(answer: dict[str, Any]) -> None:
    if "user" in answer:
        click.echo(user_line(answer["user"]))
    elif "revoked" in answer:
        click.echo(f"bindings revoked: {answer['revoked']}")


def _ttl_seconds(text: str) -> int | None:
    if text.strip().lower() == "never":
        return None
    seconds = int(parse_duration(text))
    if seconds < 1:
        raise click.BadParameter(f"{text!r}: a binding lives at least 1 s (or give 'never')")
    return seconds


@click.group()
def user() -> None:
    """Act on a user as an administrator would in the Mimecast console."""


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
@admin_options
def user_list(admin: AdminClient, as_json: bool) -> None:
    """Every user of every account (no secrets)."""
    users = admin.call("GET", "users").get("users", [])
    if as_json:
        echo_json(users)
        return
    for found in users:
        click.echo(user_line(found))
    if not users:
        click.echo("no users")


def _register_simple(name: str, help_text: str) -> None:
    @user.command(name, help=help_text)
    @click.argument("email")
    @admin_options
    def command(admin: AdminClient, email: str) -> None:
        _show(_operate(admin, email, name, {}))


for _name, _help in _SIMPLE_OPERATIONS.items():
    _register_simple(_name, _help)


@user.command()
@click.argument("email")
@click.option("--minutes", type=click.FloatRange(min=0), default=15, show_default=True)
@admin_options
def lock(admin: AdminClient, email: str, minutes: float) -> None:
    """Lock the user (logins and signed calls get 401 0010) for --minutes of emulator time."""
    _show(_operate(admin, email, "lock", {"minutes": minutes}))


@user.command()
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, help="The new password.")
@admin_options
def password(admin: AdminClient, email: str, password: str) -> None:
    """Set the password (the user's bindings are revoked, as on the platform)."""
    _show(_operate(admin, email, "password", {"password": password}))


@user.command()
@click.argument("email")
@click.argument("permission", nargs=-1)
@admin_options
def permissions(admin: AdminClient, email: str, permission: tuple[str, ...]) -> None:
    """Replace the permissions ("*" = all; none = no permission); revokes the bindings.

    \b
    mcapi emulator user permissions reader@demo.example "Account | Logs | Read"
    """
    _show(_operate(admin, email, "permissions", {"permissions": list(permission)}))


@user.command("ip-ranges")
@click.argument("email")
@click.argument("cidr", nargs=-1)
@click.option("--inherit", is_flag=True, help="Use the account's permitted ranges again.")
@admin_options
def ip_ranges(admin: AdminClient, email: str, cidr: tuple[str, ...], inherit: bool) -> None:
    """Set the ranges the user's signed calls may come from (403 0016 otherwise)."""
    if inherit == bool(cidr):
        raise click.UsageError("give CIDR ranges (e.g. 203.0.113.0/24) or --inherit, not both")
    _show(_operate(admin, email, "ip-ranges", {"ranges": None if inherit else list(cidr)}))


@user.command()
@click.argument("email")
@click.option("--app-id", help="Application of the binding (default: the account's first).")
@click.option("--ttl", help="Lifetime: 2h, 3d, or never (default: the account's policy).")
@admin_options
def binding(admin: AdminClient, email: str, app_id: str | None, ttl: str | None) -> None:
    """Create a binding (access key and secret key) for the user, as the console does."""
    body: dict[str, Any] = {}
    if app_id:
        body["app_id"] = app_id
    if ttl is not None:
        body["ttl_seconds"] = _ttl_seconds(ttl)
    answer = _operate(admin, email, "bindings", body)
    expires = answer.get("expires_at")
    click.echo(f"# binding for {email}, expires {format_time(expires) if expires else 'never'}")
    keys = {
        "MCAPI_APP_ID": answer.get("app_id"),
        "MCAPI_ACCESS_KEY": answer.get("access_key"),
        "MCAPI_SECRET_KEY": answer.get("secret_key"),
    }
    for name, value in keys.items():
        click.echo(f"export {name}={shlex.quote(str(value))}")


def _function_quota(text: str) -> tuple[str, dict[str, int]]:
    path, sep, numbers = text.partition("=")
    limit, slash, reset_ms = numbers.partition("/")
    if not sep or not slash or not limit.isdigit() or not reset_ms.isdigit():
        raise click.BadParameter(f"{text!r}: expected PATH=LIMIT/RESET_MS")
    return path, {"limit": int(limit), "reset_ms": int(reset_ms)}


@click.command()
@click.argument("account_code")
@click.option("--lockout-threshold", type=int, help="Failed logins before a lock (0 = never).")
@click.option("--lockout", "lockout_for", help="How long a lock lasts: 15m, 1h...")
@click.option("--binding-ttl", help="Lifetime of new bindings: 3d, 1h, or never.")
@click.option("--max-bindings", type=int, help="Live bindings a user may hold.")
@click.option("--quota-limit", type=int, help="Calls in each user's rate-limit bucket.")
@click.option("--quota-reset-ms", type=int, help="One call added back every this many ms.")
@click.option("--ip-range", multiple=True, help="Permitted CIDR range (repeat for several).")
@click.option("--any-ip", is_flag=True, help="Allow calls from anywhere again.")
@click.option(
    "--function-quota",
    multiple=True,
    metavar="PATH=LIMIT/RESET_MS",
    help="A bucket of its own for one function (repeat for several).",
)
@admin_options
def policy(
    admin: AdminClient,
    account_code: str,
    lockout_threshold: int | None,
    lockout_for: str | None,
    binding_ttl: str | None,
    max_bindings: int | None,
    quota_limit: int | None,
    quota_reset_ms: int | None,
    ip_range: tuple[str, ...],
    any_ip: bool,
    function_quota: tuple[str, ...],
) -> None:
    """Change an account's policy: lockout, binding TTL, quotas, permitted IP ranges."""
    body: dict[str, Any] = {
        "lockout_threshold": lockout_threshold,
        "max_bindings_per_user": max_bindings,
        "quota_limit": quota_limit,
        "quota_reset_ms": quota_reset_ms,
    }
    body = {k: v for k, v in body.items() if v is not None}
    if lockout_for is not None:
        body["lockout_seconds"] = int(parse_duration(lockout_for))
    if binding_ttl is not None:
        body["binding_ttl_seconds"] = _ttl_seconds(binding_ttl)
    if ip_range and any_ip:
        raise click.UsageError("give --ip-range or --any-ip, not both")
    if ip_range or any_ip:
        body["permitted_ip_ranges"] = list(ip_range)
    if function_quota:
        body["function_quotas"] = dict(_function_quota(text) for text in function_quota)
    if not body:
        raise click.UsageError("give at least one policy option (see --help)")
    account = admin.call("POST", f"accounts/{quote(account_code, safe='')}/policy", body=body)
    ttl = account.get("binding_ttl_seconds")
    ranges = account.get("permitted_ip_ranges") or ["any"]
    quotas = account.get("function_quotas") or {}
    click.echo(
        f"{account.get('account_code')}: lockout after {account.get('lockout_threshold')} "
        f"failures for {account.get('lockout_seconds')} s · bindings live "
        f"{'forever' if ttl is None else f'{ttl} s'} (max {account.get('max_bindings_per_user')}"
        f" a user) · quota {account.get('quota_limit')} calls, +1 every "
        f"{account.get('quota_reset_ms')} ms · IP ranges {', '.join(ranges)}"
        + "".join(f" · {p}: {q['limit']}/{q['reset_ms']} ms" for p, q in quotas.items())
    )


@click.command()
@click.argument("account_code")
@click.option(
    "--seed", type=click.IntRange(0), default=1, show_default=True, help="Same seed, same data."
)
@click.option("--users", type=click.IntRange(1, 5000), default=50, show_default=True)
@click.option("--days", type=click.IntRange(1, 30), default=7, show_default=True)
@click.option("--messages-per-user-day", type=click.IntRange(0, 500), default=20, show_default=True)
@admin_options
def generate(
    admin: AdminClient,
    account_code: str,
    seed: int,
    users: int,
    days: int,
    messages_per_user_day: int,
) -> None:
    """Fill an account with generated mail: people, messages, held messages, audit events, URL
    clicks, groups and SIEM files over the last --days days (emulator time). The same options give
    the same data; running it again replaces what it generated before.

    \b
    mcapi emulator generate CUSA12345 --users 200 --days 7
    """
    body = {"seed": seed, "users": users, "days": days}
    body["messages_per_user_day"] = messages_per_user_day
    answer = admin.call("POST", f"accounts/{quote(account_code, safe='')}/generate", body=body)
    counts = answer.get("generated", {})
    click.echo(
        f"{account_code}: generated "
        + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
    )


# ---- faults ------------------------------------------------------------------------------------


@click.group()
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


@click.group()
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
