"""``mcapi functions``, and the shell completion of ``mcapi call``'s function path.

``mcapi functions`` lists the functions a server offers, read from its OpenAPI document
(``GET /_emulator/openapi.json``, which the emulator serves without a token): path, the
permission a caller needs and whether the function only reads. ``--offline`` lists the table
shipped with mcapi instead (``mcapi/functions.json``, generated from the emulator's function
table), for the real platform, which publishes no such document.

:func:`complete_path` completes ``mcapi call <TAB>`` from that shipped table, offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click
import httpx
from click.shell_completion import CompletionItem

from mcapi.cli._admin_client import DEFAULT_URL
from mcapi.client._functions import FunctionInfo, function_table, is_read_only

__all__ = ["OPENAPI_PATH", "complete_path", "functions", "functions_from_openapi"]

#: Where the emulator serves its OpenAPI document.
OPENAPI_PATH = "/_emulator/openapi.json"


class FunctionsError(click.ClickException):
    """The server's document could not be read: one line, exit code 1."""

    exit_code = 1


def functions_from_openapi(document: Mapping[str, Any]) -> list[FunctionInfo]:
    """The functions of an OpenAPI document: every ``POST`` operation, with the ``x-mcapi-*``
    permission and read-only flag (a document without them: no permission, and the read-only
    flag of mcapi's own table)."""
    found = []
    for path, item in sorted((document.get("paths") or {}).items()):
        operation = item.get("post") if isinstance(item, Mapping) else None
        if not isinstance(operation, Mapping):
            continue
        read_only = operation.get("x-mcapi-read-only")
        found.append(
            FunctionInfo(
                path,
                is_read_only(path) if read_only is None else bool(read_only),
                operation.get("x-mcapi-permission"),
                str(operation.get("summary") or ""),
            )
        )
    return found


def _fetch(url: str) -> list[FunctionInfo]:
    target = url.rstrip("/") + OPENAPI_PATH
    offline = "; --offline lists the functions mcapi knows without asking a server"
    try:
        response = httpx.get(target, timeout=10.0)
    except httpx.HTTPError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc) or "failed"
        raise FunctionsError(
            f"cannot reach {url} ({reason}); is `mcapi emulator serve` running there? "
            f"(set --url or MCAPI_BASE_URL){offline}"
        ) from None
    if response.status_code == 404:
        raise FunctionsError(
            f"{url} serves no OpenAPI document at {OPENAPI_PATH} (only the mcapi emulator "
            f"does){offline}"
        )
    try:
        document = response.json() if response.is_success else None
    except ValueError:
        document = None
    if not isinstance(document, Mapping):
        raise FunctionsError(
            f"{target} answered HTTP {response.status_code} without an OpenAPI document{offline}"
        )
    return functions_from_openapi(document)


def _table(rows: list[FunctionInfo]) -> str:
    width = max((len(f.path) for f in rows), default=4)
    lines = [f"{'PATH':<{width}}  READ-ONLY  PERMISSION"]
    for f in rows:
        lines.append(
            f"{f.path:<{width}}  {'yes' if f.read_only else 'no':<9}  "
            f"{f.permission or '(any authenticated user)'}"
        )
    return "\n".join(lines)


@click.command()
@click.option(
    "--url",
    envvar="MCAPI_BASE_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="The server whose OpenAPI document is read (env MCAPI_BASE_URL).",
)
@click.option(
    "--offline",
    is_flag=True,
    help="List the functions mcapi ships a table of, without asking a server.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def functions(url: str, offline: bool, as_json: bool) -> None:
    """List the functions a server offers: path, read-only flag and the permission a caller
    needs, from its OpenAPI document (the emulator serves one at /_emulator/openapi.json).

    A function that only reads is retried after transient failures by `mcapi call`; one that
    changes state is not."""
    rows = list(function_table().values()) if offline else _fetch(url)
    if as_json:
        click.echo(json.dumps([f.to_dict() for f in rows], indent=2))
        return
    click.echo(_table(rows))
    source = "the table shipped with mcapi" if offline else url.rstrip("/") + OPENAPI_PATH
    click.echo(f"{len(rows)} functions, from {source}", err=True)


def complete_path(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """``mcapi call <TAB>``: the function paths of the shipped table that start with what was
    typed (a case-blind match), each with its summary as help."""
    typed = incomplete.lower()
    return [
        CompletionItem(path, help=info.summary)
        for path, info in function_table().items()
        if path.startswith(typed)
    ]
