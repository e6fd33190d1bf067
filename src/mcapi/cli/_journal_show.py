"""``mcapi emulator journal --show ID``: one journal entry in full, as plain text."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from typing import Any

from mcapi.cli._admin_client import format_time

__all__ = ["entry_text"]

# Control characters a client sent (a terminal escape sequence in a body, a header or a path)
# shown as \xNN instead of reaching the operator's terminal; newlines and tabs stay.
_CONTROLS = {
    code: f"\\x{code:02x}"
    for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))
    if chr(code) not in "\n\t"
}


def _printable(text: str) -> str:
    return text.translate(_CONTROLS)


def _body(text: str | None) -> str:
    """A body indented under its heading; JSON pretty-printed when it parses whole."""
    if text is None:
        return "  (none)"
    if not text:
        return "  (empty)"
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return "\n".join(f"  {line}" for line in _printable(text).splitlines())


def _headers(headers: Mapping[str, str] | None) -> str:
    if not headers:
        return "  (none)"
    return "\n".join(f"  {name}: {value}" for name, value in headers.items())


def entry_text(answer: Mapping[str, Any]) -> str:
    """The admin API's ``GET /_emulator/journal/{id}`` answer as the CLI prints it, control
    characters other than newlines and tabs escaped (``\\x1b``)."""
    entry: Mapping[str, Any] = answer["entry"]
    code: Mapping[str, Any] | None = answer.get("code")
    status = str(entry.get("status"))
    if entry.get("sub_code"):
        status += f" {entry['sub_code']}"
    if entry.get("body_codes"):
        status += f" {', '.join(entry['body_codes'])}"
    lines = [
        f"entry {entry.get('id')}  {format_time(entry.get('time'))}  "
        f"{entry.get('method')} {entry.get('path')}",
        f"answer:     {status}  ({entry.get('latency_ms')} ms)",
        f"check:      {entry.get('check') or '-'}",
        f"reason:     {entry.get('reason') or '-'}",
        f"user:       {entry.get('user') or '-'}",
        f"app id:     {entry.get('app_id') or '-'}",
        f"request id: {entry.get('request_id') or '-'}",
        f"client:     {entry.get('client_ip') or '-'}",
    ]
    if entry.get("fault"):
        lines.append(f"fault rule: {entry['fault']}")
    if code is not None:
        lines += [
            f"code:       {code.get('name')}",
            f"meaning:    {code.get('meaning')}",
            f"remedy:     {code.get('remedy')}",
        ]
    lines += [
        "",
        "request headers:",
        _headers(entry.get("request_headers")),
        "request body:",
        _body(entry.get("request_body")),
        "",
        "response headers:",
        _headers(entry.get("response_headers")),
        "response body:",
        _body(entry.get("response_body")),
    ]
    return _printable("\n".join(lines))
