"""``mcapi profiles`` and ``mcapi whoami``: which credentials there are, and which a call uses.

Neither prints a secret: an access key shows its first four characters, a client id its first
eight, and no secret key, application key, client secret or password is shown in any form.
``whoami`` makes no call unless ``--check`` asks for one (``/api/account/get-account``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table

from mcapi._errors import MimecastError
from mcapi.cli._admin_client import console
from mcapi.cli._advice import Context
from mcapi.cli._client_cmd import fail
from mcapi.cli._sources import PROFILE_VAR, Resolved, resolve
from mcapi.client import Client, CredentialsError
from mcapi.client._credentials import (
    AnyCredentials,
    OAuthCredentials,
    default_profile_path,
    load_profile,
    profile_names,
)

__all__ = ["profiles", "shorten", "whoami"]

_ACCOUNT = "/api/account/get-account"


def shorten(value: str | None, keep: int = 4) -> str | None:
    """The first ``keep`` characters and an ellipsis (a value that short shows only ``…``)."""
    if not value:
        return None
    return f"{value[:keep]}…" if len(value) > 2 * keep else "…"


def _identity(credentials: AnyCredentials) -> dict[str, Any]:
    """What identifies the credentials, without a secret."""
    if isinstance(credentials, OAuthCredentials):
        return {
            "kind": "2.0",
            "base_url": credentials.base_url,
            "client_id": shorten(credentials.client_id, 8),
        }
    expires = credentials.expires_at
    return {
        "kind": "1.0",
        "base_url": credentials.base_url,
        "user": credentials.email,
        "app_id": credentials.app_id,
        "access_key": shorten(credentials.access_key),
        "expires": None if expires is None else datetime.fromtimestamp(expires, UTC).isoformat(),
        "renews_itself": credentials.can_renew,
    }


def _in_effect() -> tuple[Resolved | None, str | None]:
    """What a call without --profile would use, or why it cannot."""
    try:
        return resolve(), None
    except CredentialsError as exc:
        return None, str(exc)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
def profiles(as_json: bool) -> None:
    """List the saved profiles: name, kind (API 1.0 binding or 2.0 client), base URL, user or
    client id. Marks the default profile and the one a call uses now; never shows a secret."""
    path = default_profile_path()
    effect, problem = _in_effect()
    effect_name = effect.profile if effect is not None and effect.source != "env" else None
    try:
        names = profile_names(path)
    except CredentialsError as error:  # the file is not TOML: nothing to list
        fail(error)
        return
    rows: list[dict[str, Any]] = []
    for name in names:
        row: dict[str, Any] = {"name": name}
        try:
            row.update(_identity(load_profile(name, path)))
        except CredentialsError as exc:
            row["problem"] = str(exc)
        row["default"] = name == "default"
        row["in_effect"] = name == effect_name
        rows.append(row)
    summary = effect.describe() if effect is not None else f"nothing: {problem}"
    if as_json:
        document = {"file": str(path), "profiles": rows, "in_effect": summary}
        click.echo(json.dumps(document, indent=2))
        return
    out = console()
    if not rows:
        out.print(f"No profiles in {escape(str(path))}; `mcapi login` saves one.")
    else:
        out.print(f"Profiles in {escape(str(path))}:")
        table = Table(box=box.SIMPLE_HEAD, expand=False)
        for column in ("", "name", "kind", "base URL", "user or client id", "note"):
            table.add_column(column, overflow="fold")
        for row in rows:
            marks = "*" if row["in_effect"] else ""
            who = row.get("user") or row.get("client_id") or "-"
            note = ", ".join(
                n for n, on in (("default", row["default"]), ("in effect", row["in_effect"])) if on
            )
            if "problem" in row:
                note = f"unusable: {row['problem']}"
            table.add_row(
                marks, escape(row["name"]), row.get("kind", "?"),
                escape(str(row.get("base_url", "-"))), escape(str(who)), escape(note),
            )  # fmt: skip
        out.print(table)
    out.print(f"A call now uses {escape(summary)}.")


def _source_line(found: Resolved) -> str:
    if found.source == "env":
        return "the MCAPI_* variables"
    how = {
        "--profile": "chosen by --profile",
        PROFILE_VAR: f"chosen by {PROFILE_VAR}",
        "default": "the default profile",
    }[found.chosen_by or "default"]
    return f"profile {found.profile!r} ({how}) in {found.path}"


def _unused_note(found: Resolved) -> str | None:
    if not found.unused:
        return None
    names = ", ".join(found.unused)
    if found.source == "env":
        return f"{names} set but not used (the API 2.0 variables are)"
    return f"{names} set but not used (the profile's values are)"


@click.command()
@click.option("--profile", help="Say what `mcapi call --profile NAME` would use.")
@click.option(
    "--check", is_flag=True, help="Also call /api/account/get-account to check the credentials."
)
@click.option("--json", "as_json", is_flag=True, help="Print it as JSON.")
def whoami(profile: str | None, check: bool, as_json: bool) -> None:
    """Say which credentials and base URL `mcapi call` would use, and where they come from
    (--profile, the MCAPI_* variables, or a saved profile). Makes no call unless --check."""
    try:
        found = resolve(profile)
    except CredentialsError as error:
        fail(error)
        return
    document: dict[str, Any] = {
        "source": found.source,
        "profile": found.profile,
        "file": str(found.path) if found.path else None,
        "from": _source_line(found),
        **_identity(found.credentials),
        "unused_variables": list(found.unused),
    }
    if check:
        try:
            with Client(found.credentials) as client:
                result = client.call(_ACCOUNT, read_only=True)
        except MimecastError as error:
            fail(error, context=Context(found, found.credentials.base_url, read_only=True))
            return
        account = result.data[0] if result.data else {}
        document["check"] = {
            "ok": True,
            "account": account.get("accountCode"),
            "account_name": account.get("accountName"),
            "request_id": result.request_id,
        }
    if as_json:
        click.echo(json.dumps(document, indent=2))
        return
    lines = [("credentials", document["from"])]
    if found.kind == "2.0":
        lines += [("kind", "API 2.0 client (OAuth client credentials)")]
        lines += [("client id", document["client_id"])]
    else:
        lines += [("kind", "API 1.0 binding")]
        unknown = "not known (MCAPI_EMAIL is not set)" if found.source == "env" else "not saved"
        lines += [("user", document["user"] or unknown)]
        lines += [("app id", document["app_id"]), ("access key", document["access_key"])]
        if found.source != "env":
            lines += [("expires", document["expires"] or "never (login gave no expiry)")]
    lines += [("base URL", document["base_url"])]
    note = _unused_note(found)
    if note:
        lines += [("note", note)]
    if check:
        got = document["check"]
        lines += [("check", f"ok: account {got['account']} ({got['account_name']})")]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        click.echo(f"{key:<{width}}  {value}")
