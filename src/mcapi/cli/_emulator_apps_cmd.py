"""``mcapi emulator app ...``: API 2.0 applications of a running emulator (create, list, rotate,
revoke, role), as an administrator registers them under API and Platform Integrations.

Each command is one call to the admin API (``/_emulator/api2/apps...``). ``create`` and
``rotate`` print the client secret: it is shown this once, the emulator keeps only its hash.
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import quote

import click

from mcapi.cli._admin_client import AdminClient, admin_options, echo_json

__all__ = ["app"]

ROLES = ("Full Administrator", "Read Only", "Custom")


def _line(found: dict[str, Any]) -> str:
    state = "revoked" if found.get("revoked") else "active"
    products = ", ".join(found.get("products", []))
    return f"{found['client_id']}  {found['name']!r}  {found['role']}  {state}  [{products}]"


def _show_keys(answer: dict[str, Any]) -> None:
    click.echo(_line(answer["application"]))
    click.echo("the client secret is shown once; paste these into your shell:")
    click.echo(f"export MCAPI_CLIENT_ID={shlex.quote(answer['client_id'])}")
    click.echo(f"export MCAPI_CLIENT_SECRET={shlex.quote(answer['client_secret'])}")


def _path(client_id: str, operation: str) -> str:
    return f"api2/apps/{quote(client_id, safe='')}/{operation}"


@click.group()
def app() -> None:
    """API 2.0 (OAuth 2.0) applications: client id and secret for POST /oauth/token."""


@app.command("list")
@click.option("--account", help="Only this account's applications (account code).")
@click.option("--json", "as_json", is_flag=True, help="Print the applications as JSON.")
@admin_options
def app_list(admin: AdminClient, account: str | None, as_json: bool) -> None:
    """Every API 2.0 application (no secrets)."""
    params = {"account": account} if account else None
    apps = admin.call("GET", "api2/apps", params=params).get("apps", [])
    if as_json:
        echo_json(apps)
        return
    for found in apps:
        click.echo(_line(found))
    if not apps:
        click.echo("no API 2.0 applications")


@app.command()
@click.argument("account")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="Full Administrator", show_default=True)
@click.option(
    "--permission", "permissions", multiple=True, help="With --role Custom: a permission (repeat)."
)
@click.option(
    "--product", "products", multiple=True, help="A product (repeat); default Cloud Gateway."
)
@click.option("--client-id", help="A client id of your choosing (default random).")
@click.option("--client-secret", help="A secret of your choosing (default random).")
@admin_options
def create(
    admin: AdminClient, account: str, name: str, role: str, permissions: tuple[str, ...],
    products: tuple[str, ...], client_id: str | None, client_secret: str | None,
) -> None:  # fmt: skip
    """Register an API 2.0 application NAME in ACCOUNT (an account code)."""
    body: dict[str, Any] = {"account": account, "name": name, "role": role}
    if permissions:
        body["permissions"] = list(permissions)
    if products:
        body["products"] = list(products)
    if client_id:
        body["client_id"] = client_id
    if client_secret:
        body["client_secret"] = client_secret
    _show_keys(admin.call("POST", "api2/apps", body=body))


@app.command()
@click.argument("client_id")
@click.option("--client-secret", help="The new secret (default random).")
@admin_options
def rotate(admin: AdminClient, client_id: str, client_secret: str | None) -> None:
    """Give CLIENT_ID a new secret: the old one is refused from now on."""
    body = {"client_secret": client_secret} if client_secret else {}
    _show_keys(admin.call("POST", _path(client_id, "rotate"), body=body))


@app.command()
@click.argument("client_id")
@admin_options
def revoke(admin: AdminClient, client_id: str) -> None:
    """Revoke CLIENT_ID: its tokens get 401 at once and no new token is issued."""
    click.echo(_line(admin.call("POST", _path(client_id, "revoke"), body={})["application"]))


@app.command()
@click.argument("client_id")
@click.argument("role", type=click.Choice(ROLES))
@click.option("--permission", "permissions", multiple=True, help="With Custom: a permission.")
@admin_options
def role(admin: AdminClient, client_id: str, role: str, permissions: tuple[str, ...]) -> None:
    """Give CLIENT_ID another ROLE (and so other permissions)."""
    body: dict[str, Any] = {"role": role}
    if permissions:
        body["permissions"] = list(permissions)
    click.echo(_line(admin.call("POST", _path(client_id, "role"), body=body)["application"]))
