"""``mcapi emulator user ...``: what an administrator does to a running emulator's users (lock,
unlock, disable, passwords, permissions, IP ranges, bindings), as the Mimecast console does.

Each command is one call to the admin API (``/_emulator/users/{email}/{operation}``) and prints
the user's new state in a line.
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import quote

import click

from mcapi.cli._admin_client import (
    AdminClient,
    admin_options,
    echo_json,
    format_time,
    ttl_seconds,
    user_line,
)

__all__ = ["user"]

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
        body["ttl_seconds"] = ttl_seconds(ttl)
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
