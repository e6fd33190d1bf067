"""``mcapi codes`` and ``mcapi explain``."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from mcapi._codes import ACTION_DESCRIPTIONS, CodeEntry, catalogue, first_error, normalize_sub_code

_STATUS_LINE = re.compile(r"^\s*(?:HTTP/[\d.]+\s+)?(\d{3})(?:\s+(\d{4})\b)?", re.MULTILINE)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def markdown_table() -> str:
    """The catalogue as the Markdown page docs/response-codes.md (generated, never hand-edited)."""
    lines = [
        "# Response codes",
        "",
        "Generated from `src/mcapi/codes.toml` by `mcapi codes --markdown`; a test keeps this page",
        "equal to the catalogue. `mcapi explain CODE` prints one entry with its remedy.",
        "",
        "HTTP status says whether the call reached the function; whether the function succeeded is",
        "in the body's `fail` array. The four-digit sub code is the first word of",
        "`fail[].errors[].message`. Source: *table* = Mimecast's response-code table, *observed* =",
        "seen in real traffic, *support* = Mimecast's support article, *emulator* = mcapi's choice",
        "where the platform is undocumented.",
        "",
        "| Code | Body code | Name | Meaning | Remedy | Emulator answers it when | Client |"
        " Retryable | Source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for e in catalogue().entries:
        cells = [
            e.label, f"`{e.body_code}`" if e.body_code else "", e.name, e.meaning, e.remedy,
            e.emulator or "", ACTION_DESCRIPTIONS[e.action], "yes" if e.retryable else "no",
            e.provenance.value,
        ]  # fmt: skip
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
@click.option("--markdown", is_flag=True, help="Print the catalogue as a Markdown table.")
def codes(as_json: bool, markdown: bool) -> None:
    """List every response code: status, sub code, name, meaning, and what the client does."""
    entries = catalogue().entries
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if markdown:
        click.echo(markdown_table(), nl=False)
        return
    table = Table(title="Mimecast API 1.0 response codes", show_lines=False, expand=False)
    table.add_column("Code", no_wrap=True)
    table.add_column("Name", overflow="fold")
    table.add_column("Client", no_wrap=True)
    table.add_column("Meaning", overflow="fold", ratio=1)
    for entry in entries:
        label = entry.label if entry.sub_code or not entry.body_code else f"{entry.label} *"
        table.add_row(label, entry.name, entry.action.value, entry.meaning)
    _console().print(table)
    _console().print(
        "[dim]* a body code (fail[].errors[].code) without a sub code; "
        "`mcapi codes --json` has every field, `mcapi explain CODE` the remedy.[/]"
    )


class ExplainError(click.ClickException):
    exit_code = 1


def _explain_from_args(args: tuple[str, ...]) -> tuple[CodeEntry, dict[str, Any]]:
    words = " ".join(args).split()
    if not words:
        raise click.UsageError("give a code (401 0004), a body code (err_xdk_...), or - for stdin")
    if len(words) == 1 and words[0].startswith("err_"):
        entry = catalogue().by_body_code(words[0])
        if entry is None:
            raise ExplainError(
                f"{words[0]} is not a body code mcapi knows; `mcapi codes` lists them all"
            )
        return entry, {}
    if not words[0].isdigit() or len(words[0]) != 3 or len(words) > 2:
        raise ExplainError(
            f"cannot read {' '.join(args)!r}: give a status and sub code (401 0004), a body code "
            "(err_xdk_binding_expired), or - to read a response from stdin"
        )
    status = int(words[0])
    try:
        sub = normalize_sub_code(words[1]) if len(words) == 2 else None
    except ValueError as exc:
        raise ExplainError(str(exc)) from exc
    return _known(status, sub, None), {}


def _known(status: int, sub: str | None, body_code: str | None) -> CodeEntry:
    entry = catalogue().lookup(status, sub, body_code)
    if entry.provenance == "generic" or (sub is not None and entry.sub_code != sub):
        label = f"{status} {sub}" if sub else str(status)
        known = [e.label for e in catalogue().entries if e.status == status and e.sub_code]
        hint = f" Known sub codes for {status}: {', '.join(sorted(set(known)))}." if known else ""
        raise ExplainError(f"{label} is not in the Mimecast response-code table.{hint}")
    return entry


def _explain_from_text(text: str) -> tuple[CodeEntry, dict[str, Any]]:
    """A pasted response: a status line, headers and/or a JSON body."""
    body: Any = None
    brace = text.find("{")
    if brace >= 0:
        try:
            body = json.loads(text[brace:])
        except json.JSONDecodeError as exc:
            raise ExplainError(f"the JSON in the input does not parse: {exc.msg}") from exc
    head = text[:brace] if brace >= 0 else text
    status: int | None = None
    sub: str | None = None
    match = _STATUS_LINE.search(head)
    if match:
        status = int(match.group(1))
        sub = match.group(2)
    if body is None and status is None:
        stripped = text.strip()
        if stripped.startswith("err_"):
            return _explain_from_args((stripped,))
        raise ExplainError("no status line and no JSON body in the input")
    code, message = first_error(body)
    seen = {"platform_code": code, "platform_message": message}
    if body is not None:
        entry = catalogue().from_response(status, body)
        if sub is not None and entry.sub_code is None:
            entry = _known(entry.status, sub, code)
        return entry, seen
    assert status is not None
    return _known(status, sub, None), seen


@click.command()
@click.argument("code", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(code: tuple[str, ...], as_json: bool) -> None:
    """Explain a response code: what happened, why, and what to do.

    \b
    mcapi explain 401 0004
    mcapi explain err_xdk_binding_expired
    pbpaste | mcapi explain -      (a status line and/or a JSON body)
    """
    if code == ("-",):
        entry, seen = _explain_from_text(sys.stdin.read())
    else:
        entry, seen = _explain_from_args(code)
    if as_json:
        click.echo(json.dumps({**entry.to_dict(), **seen}, indent=2))
        return
    lines = [f"[bold]What happened[/]  {entry.meaning}"]
    if entry.table_text:
        lines.append(f"[bold]Mimecast says[/]  {entry.table_text}")
    if seen.get("platform_message"):
        lines.append(f"[bold]Response said[/]  {seen['platform_code']}: {seen['platform_message']}")
    lines.append(f"[bold]What to do[/]     {entry.remedy}")
    lines.append(f"[bold]mcapi client[/]   {ACTION_DESCRIPTIONS[entry.action]}")
    if entry.emulator:
        lines.append(f"[bold]Emulator[/]       answers it when: {entry.emulator}")
    lines.append(
        f"[dim]body code {entry.body_code or '-'} · retryable {str(entry.retryable).lower()}"
        f" · source: {entry.provenance}[/]"
    )
    _console().print(Panel("\n".join(lines), title=f"{entry.label} {entry.name}", expand=False))
