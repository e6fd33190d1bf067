"""``mcapi emulator policy`` and ``generate``: an account's policy (lockout, bindings, quotas,
IP ranges) and the generated data of its tenant, each one call to the admin API
(``/_emulator/accounts/{code}/policy`` and ``/generate``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click

from mcapi.cli._admin_client import (
    AdminClient,
    admin_options,
    parse_duration,
    ttl_seconds,
)
from mcapi.cli._admin_jobs import progress_option, run_job

__all__ = ["generate", "policy"]


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
        body["binding_ttl_seconds"] = ttl_seconds(binding_ttl)
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
@progress_option
@admin_options
def generate(
    admin: AdminClient,
    account_code: str,
    seed: int,
    users: int,
    days: int,
    messages_per_user_day: int,
    progress: bool | None,
) -> None:
    """Fill an account with generated mail: people, messages, held messages, audit events, URL
    clicks, groups and SIEM files over the last --days days (emulator time). The same options give
    the same data; running it again replaces what it generated before.

    \b
    mcapi emulator generate CUSA12345 --users 200 --days 7

    A large tenant takes a while: on a terminal its progress is drawn until it is done.
    """
    body = {"seed": seed, "users": users, "days": days}
    body["messages_per_user_day"] = messages_per_user_day
    path = f"accounts/{quote(account_code, safe='')}/generate"
    answer = run_job(admin, path, f"generate {account_code}", body=body, progress=progress)
    counts = answer.get("generated", {})
    click.echo(
        f"{account_code}: generated "
        + ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items())
    )


# ---- faults ------------------------------------------------------------------------------------
