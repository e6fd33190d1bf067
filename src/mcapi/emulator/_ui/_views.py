"""What the dashboard's pages show, built from the emulator's state (no HTML here).

The pages change nothing themselves: forms become the admin API's JSON documents and go through
the same validation (``FaultRule.from_dict``, ``Admin.change_clock``, ``Admin`` user operations).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcapi.emulator._journal import JournalEntry
from mcapi.emulator._pipeline._access import app_rate_key, rate_key
from mcapi.emulator._ratelimit import DEFAULT_BUCKET
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._validation import InvalidInput, Problems

__all__ = [
    "JournalFilter",
    "fault_document",
    "iso",
    "pretty_body",
    "quota_document",
    "quota_meters",
    "short_key",
]

#: The most journal rows a page shows (the newest).
ROWS = 200


def iso(epoch: float | None) -> str:
    """``2026-01-01 12:00:00Z``; ``-`` for None."""
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def short_key(access_key: str) -> str:
    """An access key as the dashboard shows it: its first 4 characters."""
    return f"{access_key[:4]}…"


def pretty_body(text: str | None) -> str | None:
    """A body for display: JSON indented when it parses whole, otherwise as it is."""
    if not text:
        return text
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


@dataclass(frozen=True)
class JournalFilter:
    """The journal page's filters: path and user are substrings, status and sub code exact."""

    path: str = ""
    status: str = ""
    sub_code: str = ""
    user: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> JournalFilter:
        return cls(
            path=query.get("path", "").strip(),
            status=query.get("status", "").strip(),
            sub_code=query.get("sub_code", "").strip(),
            user=query.get("user", "").strip().lower(),
        )

    def passes(self, entry: JournalEntry) -> bool:
        return (
            (not self.path or self.path in entry.path)
            and (not self.status or str(entry.status) == self.status)
            and (not self.sub_code or (entry.sub_code or "") == self.sub_code.zfill(4))
            and (not self.user or self.user in (entry.user or "").lower())
        )

    def select(self, entries: list[JournalEntry]) -> list[JournalEntry]:
        """The newest ``ROWS`` entries that pass, newest first."""
        return [e for e in reversed(entries) if self.passes(e)][:ROWS]


def _number(problems: Problems, form: Mapping[str, str], name: str, field: str) -> Any:
    text = form.get(name, "").strip()
    if not text:
        return None
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        problems.add(field, f"must be a number, got {text!r}")
        return None


def _text(form: Mapping[str, str], name: str) -> str | None:
    text = form.get(name, "").strip()
    return text or None


def fault_document(form: Mapping[str, str]) -> dict[str, Any]:
    """The admin API's rule document for the fault form; the JSON box, when filled, instead.

    Raises ``InvalidInput`` for what the form alone can tell (a number that is not one, a JSON
    box that is not JSON); ``FaultRule.from_dict`` checks the rest, as for the admin API."""
    raw = form.get("json", "").strip()
    if raw:
        try:
            pasted = json.loads(raw)
        except ValueError as exc:
            raise InvalidInput("json", f"not JSON: {exc}") from None
        if not isinstance(pasted, dict):
            raise InvalidInput("json", "must be a JSON object (a rule)")
        return pasted
    problems = Problems()
    match = {
        "path": _text(form, "path"),
        "user": _text(form, "user"),
        "call_number": _number(problems, form, "call_number", "match.call_number"),
        "times": _number(problems, form, "times", "match.times"),
        "probability": _number(problems, form, "probability", "match.probability"),
        "seed": _number(problems, form, "seed", "match.seed"),
    }
    effect: dict[str, Any] = {
        "status": _number(problems, form, "status", "effect.status"),
        "sub_code": _text(form, "sub_code"),
        "body_code": _text(form, "body_code"),
        "transport": _text(form, "transport"),
        "latency_ms": _number(problems, form, "latency_ms", "effect.latency_ms"),
    }
    if form.get("after_execution"):
        effect["after_execution"] = True
    problems.raise_if_any()
    document: dict[str, Any] = {
        "match": {k: v for k, v in match.items() if v is not None},
        "effect": {k: v for k, v in effect.items() if v is not None},
    }
    for name in ("id", "note"):
        if _text(form, name):
            document[name] = _text(form, name)
    return document


def quota_document(form: Mapping[str, str]) -> dict[str, Any]:
    """The rule document of a forced quota (``"at": "quota"``, 429 0008) from its form."""
    problems = Problems()
    call_number = _number(problems, form, "call_number", "match.call_number")
    reset_ms = _number(problems, form, "reset_ms", "effect.reset_ms")
    problems.raise_if_any()
    match: dict[str, Any] = {"path": _text(form, "path"), "call_number": call_number or 1}
    if _text(form, "user"):
        match["user"] = _text(form, "user")
    document: dict[str, Any] = {
        "at": "quota",
        "match": {k: v for k, v in match.items() if v is not None},
        "effect": {"status": 429, "sub_code": "0008", "reset_ms": reset_ms or 1000},
    }
    if _text(form, "id"):
        document["id"] = _text(form, "id")
    return document


@dataclass(frozen=True)
class Meter:
    """One bucket of one caller (a user, or an API 2.0 application): ``remaining`` of ``limit``
    calls, refilled every ``reset_ms``."""

    who: str
    bucket: str
    limit: int
    remaining: int
    reset_ms: int

    @property
    def low(self) -> int:
        return max(1, self.limit // 4)


def quota_meters(state: EmulatorState) -> list[dict[str, Any]]:
    """Per account: its quotas, and each caller's buckets (each user's and each API 2.0
    application's: the shared one, then each function's) as the next call would find them
    (peeked: nothing is taken), the emptiest first."""
    store, now = state.store, state.clock.now()
    out = []
    for account in store.list_accounts():
        buckets = [(DEFAULT_BUCKET, account.quota_limit, account.quota_reset_ms)]
        buckets += [(p, q.limit, q.reset_ms) for p, q in sorted(account.function_quotas.items())]
        callers = [(u.email, rate_key(u.id)) for u in store.list_users(account.id)]
        callers += [
            (f"API 2.0 application {a.name} ({a.client_id})", app_rate_key(a.client_id))
            for a in store.list_api2_applications(account.id)
        ]
        meters = []
        for who, key in callers:
            for bucket, limit, reset_ms in buckets:
                decision = state.limiter.peek(key, bucket, limit=limit, reset_ms=reset_ms, now=now)
                meters.append(Meter(who, bucket, limit, decision.remaining, reset_ms))
        meters.sort(key=lambda m: m.remaining / m.limit)
        out.append({"account": account, "meters": meters})
    return out
