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

#: A status line: ``HTTP/1.1 401``, ``401 0004``, or the line ``mcapi call`` ends a failure with
#: on stderr (``mcapi: 403 0002 Forbidden: ...``).
_STATUS_LINE = re.compile(
    r"^\s*(?:mcapi:\s+)?(?:HTTP/[\d.]+\s+)?(\d{3})(?:\s+(\d{4})\b)?", re.MULTILINE
)


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


Explained = tuple[list[CodeEntry], dict[str, Any]]


def _explain_from_args(args: tuple[str, ...]) -> Explained:
    words = " ".join(args).split()
    if not words:
        raise click.UsageError("give a code (401 0004), a body code (err_xdk_...), or - for stdin")
    if len(words) == 1 and words[0].startswith("err_"):
        entry = catalogue().by_body_code(words[0])
        if entry is None:
            raise ExplainError(
                f"{words[0]} is not a body code mcapi knows; `mcapi codes` lists them all"
            )
        return [entry], {}
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
    return _meanings(status, sub), {}


def _meanings(status: int, sub: str | None) -> list[CodeEntry]:
    """Every entry of a status and sub code: the catalogue has two for 401 0001, which only the
    body code tells apart."""
    entry = _known(status, sub, None)
    if sub is None:
        return [entry]
    return [e for e in catalogue().entries if (e.status, e.sub_code) == (status, sub)]


def _known(status: int, sub: str | None, body_code: str | None) -> CodeEntry:
    entry = catalogue().lookup(status, sub, body_code)
    if entry.provenance == "generic" or (sub is not None and entry.sub_code != sub):
        label = f"{status} {sub}" if sub else str(status)
        known = [e.label for e in catalogue().entries if e.status == status and e.sub_code]
        hint = f" Known sub codes for {status}: {', '.join(sorted(set(known)))}." if known else ""
        raise ExplainError(f"{label} is not in the Mimecast response-code table.{hint}")
    return entry


def _documents(text: str) -> tuple[list[dict[str, Any]], json.JSONDecodeError | None]:
    """Every JSON object in ``text``, outermost only, in order: a pasted body, or what ``mcapi
    call`` printed (its ``{"error": ...}`` or result, and JSONL lines), between other lines;
    and the first parse error, if any."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    position = text.find("{")
    first_error: json.JSONDecodeError | None = None
    while position >= 0:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
            position = text.find("{", position + 1)
            continue
        if isinstance(value, dict):
            found.append(value)
        position = text.find("{", end)
    return found, first_error


def _mcapi_error(document: dict[str, Any]) -> dict[str, Any] | None:
    """The ``error`` of what ``mcapi call`` prints on failure, if ``document`` is that."""
    error = document.get("error")
    if isinstance(error, dict) and "status" in error and "body_codes" in error:
        return error
    return None


def _from_mcapi_error(error: dict[str, Any]) -> Explained:
    status, sub = error.get("status"), error.get("sub_code")
    codes = [c for c in error.get("body_codes") or [] if isinstance(c, str)]
    messages = [m for m in error.get("messages") or [] if isinstance(m, str)]
    seen = {
        "platform_code": codes[0] if codes else None,
        "platform_message": messages[0] if messages else None,
    }
    if not isinstance(status, int):
        raise ExplainError(
            f"mcapi reported {error.get('error')} without a response code, so there is nothing "
            f"to look up: {error.get('message')}"
        )
    if not codes:
        return _meanings(status, normalize_sub_code(sub)), seen
    entry = catalogue().lookup(status, sub, codes[0])
    return [entry], seen


def _explain_from_text(text: str) -> Explained:
    """A pasted response (a status line, headers and/or a JSON body), or what ``mcapi call``
    printed on failure (its ``{"error": ...}`` and ``mcapi: 403 0002 ...`` line)."""
    documents, broken = _documents(text)
    for document in documents:
        error = _mcapi_error(document)
        if error is not None:
            return _from_mcapi_error(error)
    body: Any = next((d for d in documents if first_error(d) != (None, None)), None)
    if body is None and documents:
        body = documents[0]
    brace = text.find("{")
    head = text[:brace] if brace >= 0 and documents else text
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
        if broken is not None:
            raise ExplainError(f"the JSON in the input does not parse: {broken.msg}")
        raise ExplainError("no status line and no JSON body in the input")
    code, message = first_error(body)
    seen = {"platform_code": code, "platform_message": message}
    if body is not None:
        entry = catalogue().from_response(status, body)
        if sub is not None and entry.sub_code is None:
            entry = _known(entry.status, sub, code)
        return [entry], seen
    assert status is not None
    return _meanings(status, sub), seen


def _panel(entry: CodeEntry, seen: dict[str, Any]) -> Panel:
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
    return Panel("\n".join(lines), title=f"{entry.label} {entry.name}", expand=False)


@click.command()
@click.argument("code", nargs=-1)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the explanation as JSON (a list when the code has several meanings).",
)
def explain(code: tuple[str, ...], as_json: bool) -> None:
    """Explain a response code: what happened, why, and what to do.

    \b
    mcapi explain 401 0004
    mcapi explain err_xdk_binding_expired
    pbpaste | mcapi explain -      (a status line and/or a JSON body)
    mcapi call ... 2>&1 | mcapi explain -     (what mcapi call printed)

    A code with several meanings (401 0001) shows each; the body code tells them apart.
    """
    if code == ("-",):
        entries, seen = _explain_from_text(sys.stdin.read())
    else:
        entries, seen = _explain_from_args(code)
    if as_json:
        documents = [{**entry.to_dict(), **seen} for entry in entries]
        click.echo(json.dumps(documents[0] if len(documents) == 1 else documents, indent=2))
        return
    console = _console()
    if len(entries) > 1:
        console.print(
            f"{entries[0].label} has {len(entries)} meanings in the catalogue; the body code "
            "(fail[].errors[].code) tells them apart:"
        )
    for entry in entries:
        console.print(_panel(entry, seen))
