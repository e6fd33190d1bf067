"""The response-code catalogue, shared by the emulator and the client.

Theory of operation
-------------------
The catalogue is data (``codes.toml`` beside this module), loaded once into frozen
:class:`CodeEntry` records. An entry is keyed by ``(status, sub_code, body_code)`` because the
source table has two different meanings for 401 0001 that only the body code tells apart.

Look-ups never raise for an unknown code: they fall back, most specific first, to

1. the exact ``(status, sub_code, body_code)`` entry;
2. the entry of that body code, when its status agrees (the body code is the most precise signal),
   or under HTTP 200, where a per-item failure may carry a conflict's code;
3. an entry with that ``(status, sub_code)``;
4. the status-level entry of that status;
5. a generic entry for the status class (2xx, 4xx, 5xx...), marked ``provenance = generic``.

The emulator renders entries (status, sub code, body code, message); the client classifies
responses into entries and acts on :attr:`CodeEntry.action`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "Action",
    "Catalogue",
    "CodeEntry",
    "Provenance",
    "catalogue",
    "lookup",
    "missing_permission",
    "missing_permission_message",
    "normalize_sub_code",
]


class Action(StrEnum):
    """What the client does when it meets a code."""

    OK = "ok"
    WAIT = "wait"
    REFRESH = "refresh"
    RELOGIN = "relogin"
    TRANSIENT = "transient"
    STOP = "stop"
    FORBIDDEN = "forbidden"
    CALLER = "caller"


ACTION_DESCRIPTIONS: Mapping[Action, str] = {
    Action.OK: "return the result: data and per-item failures, each with its key",
    Action.WAIT: "wait X-RateLimit-Reset ms (capped), then retry; pace by X-RateLimit-Remaining",
    Action.REFRESH: "refresh the binding once (single flight), re-sign, retry once",
    Action.RELOGIN: "log in afresh once if a password is held, else raise",
    Action.TRANSIENT: "back off with jitter; only read-only calls, retryable errors or opt-in",
    Action.STOP: "raise at once, never retry",
    Action.FORBIDDEN: "raise with the remedy (missing right)",
    Action.CALLER: "raise with the remedy (fix the request)",
}


class Provenance(StrEnum):
    """Where an entry's facts come from."""

    TABLE = "table"  # the official response-code table
    OBSERVED = "observed"  # seen in real traffic or real client fixtures
    SUPPORT = "support"  # Mimecast's support article
    EMULATOR = "emulator"  # the emulator's choice where the platform is undocumented
    GENERIC = "generic"  # synthesised for a code the catalogue does not know


_SUB_CODE = re.compile(r"^\d{4}$")
_MISSING_PERMISSION = re.compile(r"Missing Permission: (?P<permission>\S.*?)\s*$")


def normalize_sub_code(value: str | int | None) -> str | None:
    """``4``, ``"4"``, ``"0004"`` -> ``"0004"``; ``None`` or ``""`` -> ``None``.

    Raises ``ValueError`` for anything that is not a sub code of at most four digits.
    """
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not text.isdigit() or len(text) > 4:
        raise ValueError(f"not a sub code: {value!r} (expected up to four digits, e.g. 0004)")
    return text.zfill(4)


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One response code: what it means, what to do about it, and what the client does."""

    status: int
    sub_code: str | None
    body_code: str | None
    name: str
    meaning: str
    remedy: str
    action: Action
    retryable: bool
    provenance: Provenance
    table_text: str | None = None
    message_text: str | None = None
    #: When the emulator answers with this code.
    emulator: str | None = None

    @property
    def key(self) -> tuple[int, str | None, str | None]:
        return (self.status, self.sub_code, self.body_code)

    @property
    def label(self) -> str:
        """``"401 0004"`` or ``"409"``."""
        return f"{self.status} {self.sub_code}" if self.sub_code else str(self.status)

    @property
    def message(self) -> str:
        """The ``fail[].errors[].message`` text: the sub code first, as the platform writes it."""
        text = self.message_text or self.name
        return f"{self.sub_code} {text}" if self.sub_code else text

    @property
    def is_error(self) -> bool:
        return self.action is not Action.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "sub_code": self.sub_code,
            "body_code": self.body_code,
            "name": self.name,
            "message": self.message,
            "meaning": self.meaning,
            "remedy": self.remedy,
            "action": self.action.value,
            "client_does": ACTION_DESCRIPTIONS[self.action],
            "retryable": self.retryable,
            "provenance": self.provenance.value,
            "table_text": self.table_text,
            "emulator_answers_when": self.emulator,
        }


def _generic(status: int, body_code: str | None = None) -> CodeEntry:
    klass = status // 100
    if klass == 2:
        if body_code:
            return CodeEntry(
                status, None, body_code, "Function Failure",
                "The function ran but refused this item for a reason the catalogue does not know.",
                "Read the error message; fix the item and send it again.",
                Action.CALLER, False, Provenance.GENERIC,
            )  # fmt: skip
        return CodeEntry(
            status, None, None, f"HTTP {status}", "The call succeeded.",
            "Nothing to do.", Action.OK, False, Provenance.GENERIC,
        )  # fmt: skip
    if klass == 5:
        return CodeEntry(
            status, None, body_code, f"HTTP {status}",
            "The platform or something between it and you failed to answer properly.",
            "Retry later with backoff if the call only reads.",
            Action.TRANSIENT, False, Provenance.GENERIC,
        )  # fmt: skip
    return CodeEntry(
        status, None, body_code, f"HTTP {status}",
        "The platform answered with a status the catalogue does not know.",
        "Check the request and the base URL; read the message for details.",
        Action.CALLER, False, Provenance.GENERIC,
    )  # fmt: skip


class Catalogue:
    """An immutable set of :class:`CodeEntry` records with the look-ups the project needs."""

    def __init__(self, entries: tuple[CodeEntry, ...]) -> None:
        self.entries = entries
        self._exact: dict[tuple[int, str | None, str | None], CodeEntry] = {}
        self._by_body: dict[str, CodeEntry] = {}
        self._by_sub: dict[tuple[int, str | None], CodeEntry] = {}
        for entry in entries:
            if entry.key in self._exact:
                raise ValueError(f"duplicate catalogue key {entry.key}")
            self._exact[entry.key] = entry
            if entry.body_code is not None:
                if entry.body_code in self._by_body:
                    raise ValueError(f"body code {entry.body_code} appears twice")
                self._by_body[entry.body_code] = entry
            # The first entry of a (status, sub code) pair is its default; for a status alone
            # prefer the entry without a body code.
            pair = (entry.status, entry.sub_code)
            current = self._by_sub.get(pair)
            if current is None or (current.body_code is not None and entry.body_code is None):
                self._by_sub[pair] = entry

    def __iter__(self) -> Any:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def get(
        self, status: int, sub_code: str | None = None, body_code: str | None = None
    ) -> CodeEntry | None:
        """The exact entry, or ``None``."""
        return self._exact.get((status, normalize_sub_code(sub_code), body_code))

    def by_body_code(self, body_code: str) -> CodeEntry | None:
        return self._by_body.get(body_code)

    def lookup(
        self, status: int, sub_code: str | int | None = None, body_code: str | None = None
    ) -> CodeEntry:
        """The most specific entry for what is known; never raises for unknown codes."""
        try:
            sub = normalize_sub_code(sub_code)
        except ValueError:
            sub = None
        exact = self._exact.get((status, sub, body_code))
        if exact is not None:
            return exact
        if body_code is not None:
            by_body = self._by_body.get(body_code)
            # Under HTTP 200 a per-item failure may carry a code whose entry is a 409 conflict
            # (several items named, one conflicting): the body code is what tells the story.
            if by_body is not None and (
                (by_body.status == status and sub in (None, by_body.sub_code))
                or (status == 200 and sub is None)
            ):
                return by_body
        if sub is not None:
            by_sub = self._by_sub.get((status, sub))
            if by_sub is not None:
                return by_sub
        if status == 200 and body_code is not None:
            return _generic(status, body_code)
        by_status = self._by_sub.get((status, None))
        if by_status is not None:
            return by_status
        return _generic(status, body_code)

    def from_response(self, status: int | None, body: Any) -> CodeEntry:
        """Classify a whole response: HTTP status plus the decoded JSON body (or ``None``).

        The sub code is the first word of the first error message, the body code its ``code``.
        ``meta.status`` stands in when no HTTP status is known.
        """
        code, message = first_error(body)
        if status is None:
            meta = body.get("meta") if isinstance(body, Mapping) else None
            meta_status = meta.get("status") if isinstance(meta, Mapping) else None
            status = meta_status if isinstance(meta_status, int) else 200
        return self.lookup(status, sub_code_of(message), code)


def sub_code_of(message: str | None) -> str | None:
    """The four-digit sub code a Mimecast error message starts with, if any."""
    if not message:
        return None
    first = message.split(maxsplit=1)[0] if message.strip() else ""
    return first if _SUB_CODE.match(first) else None


def missing_permission_message(permission: str) -> str:
    """The text after the sub code of a 403 0002 that names the permission the user lacks
    (the emulator's wording; the platform documents none): ``Forbidden, Missing Permission:
    Account | Dashboard | Read``."""
    return f"Forbidden, Missing Permission: {permission}"


def missing_permission(messages: Any) -> str | None:
    """The permission a 403 0002 message names (see :func:`missing_permission_message`), from
    one message or several; ``None`` when none names it."""
    for message in [messages] if isinstance(messages, str) else list(messages or ()):
        found = _MISSING_PERMISSION.search(message) if isinstance(message, str) else None
        if found:
            return found.group("permission")
    return None


def first_error(body: Any) -> tuple[str | None, str | None]:
    """``(code, message)`` of the first error of the first ``fail`` entry of a body."""
    if not isinstance(body, Mapping):
        return None, None
    fail = body.get("fail")
    if not isinstance(fail, list):
        return None, None
    for item in fail:
        errors = item.get("errors") if isinstance(item, Mapping) else None
        if not isinstance(errors, list):
            continue
        for error in errors:
            if isinstance(error, Mapping):
                code = error.get("code")
                message = error.get("message")
                return (
                    code if isinstance(code, str) else None,
                    message if isinstance(message, str) else None,
                )
    return None, None


def _entry_from_toml(raw: Mapping[str, Any]) -> CodeEntry:
    return CodeEntry(
        status=int(raw["status"]),
        sub_code=normalize_sub_code(raw.get("sub_code")),
        body_code=raw.get("body_code"),
        name=str(raw["name"]),
        meaning=str(raw["meaning"]),
        remedy=str(raw["remedy"]),
        action=Action(raw["action"]),
        retryable=bool(raw["retryable"]),
        provenance=Provenance(raw["provenance"]),
        table_text=raw.get("table_text"),
        message_text=raw.get("message"),
        emulator=raw.get("emulator"),
    )


@cache
def catalogue() -> Catalogue:
    """The catalogue, loaded once from ``codes.toml``."""
    text = resources.files("mcapi").joinpath("codes.toml").read_text(encoding="utf-8")
    document = tomllib.loads(text)
    return Catalogue(tuple(_entry_from_toml(raw) for raw in document["code"]))


def lookup(
    status: int, sub_code: str | int | None = None, body_code: str | None = None
) -> CodeEntry:
    """Shorthand for ``catalogue().lookup(...)``."""
    return catalogue().lookup(status, sub_code, body_code)
