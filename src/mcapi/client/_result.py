"""What a call returns and what the client reports about each attempt.

Theory of operation
-------------------
A Mimecast call can half-succeed: HTTP 200 with some items in ``data`` and others in ``fail``.
:class:`Result` keeps both, and pairs every failure with the item that was submitted (the platform
echoes it as ``fail[].key``), so a caller can resubmit exactly what failed. Every error of a
failure is resolved through the catalogue to a :class:`~mcapi._codes.CodeEntry` (meaning and
remedy). Nothing is dropped: :meth:`Result.raise_for_failures` raises
:class:`~mcapi._errors.FunctionFailed` whose ``result`` still holds the items that succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcapi._codes import CodeEntry, catalogue, sub_code_of
from mcapi._envelope import FailItem, Pagination
from mcapi._errors import FunctionFailed

__all__ = [
    "AttemptEvent",
    "ItemError",
    "ItemFailure",
    "RateLimit",
    "Result",
    "pair_failures",
]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The ``X-RateLimit-*`` headers of an answer: the quota, calls left, and milliseconds until
    one call is added back. A field the answer lacked is ``None``."""

    limit: int | None
    remaining: int | None
    reset_ms: int | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        """Read the three headers (``headers`` is case-insensitive or lower-case); ``None`` when
        the answer carried none of them."""
        values = (
            _header_int(headers, "x-ratelimit-limit"),
            _header_int(headers, "x-ratelimit-remaining"),
            _header_int(headers, "x-ratelimit-reset"),
        )
        if values == (None, None, None):
            return None
        return cls(*values)

    def to_dict(self) -> dict[str, int | None]:
        return {"limit": self.limit, "remaining": self.remaining, "reset_ms": self.reset_ms}


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else None


@dataclass(frozen=True, slots=True)
class ItemError:
    """One error of a failed item, with its catalogue entry."""

    code: str | None
    message: str | None
    field: str | None
    retryable: bool
    entry: CodeEntry

    @property
    def sub_code(self) -> str | None:
        return sub_code_of(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "field": self.field,
            "retryable": self.retryable,
            "name": self.entry.name,
            "remedy": self.entry.remedy,
        }


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """A submitted item that failed: the ``key`` the platform echoed, the position of the item in
    the submitted ``data`` (``index``, ``None`` when it cannot be paired) and its errors."""

    key: Any
    index: int | None
    errors: tuple[ItemError, ...]

    @property
    def entries(self) -> tuple[CodeEntry, ...]:
        """The catalogue entry of each error."""
        return tuple(e.entry for e in self.errors)

    @property
    def codes(self) -> tuple[str, ...]:
        """The body codes (``err_...``) of the errors."""
        return tuple(e.code for e in self.errors if e.code)

    @property
    def field(self) -> str | None:
        """The field the first error names, if any."""
        return next((e.field for e in self.errors if e.field), None)

    @property
    def retryable(self) -> bool:
        """Whether the platform marked every error of the item retryable."""
        return bool(self.errors) and all(e.retryable for e in self.errors)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "index": self.index,
            "errors": [e.to_dict() for e in self.errors],
        }


def _item_errors(item: FailItem, status: int) -> tuple[ItemError, ...]:
    cat = catalogue()
    return tuple(
        ItemError(
            code=e.code,
            message=e.message,
            field=e.field,
            retryable=e.retryable,
            entry=cat.lookup(status, e.sub_code, e.code),
        )
        for e in item.errors
    )


def _matches(key: Any, item: Any) -> bool:
    if key == item:
        return True
    # Some functions echo only the fields they looked at: a key that is a part of the item.
    return (
        isinstance(key, Mapping)
        and isinstance(item, Mapping)
        and bool(key)
        and all(k in item and item[k] == v for k, v in key.items())
    )


def pair_failures(
    fail: Sequence[FailItem], submitted: Sequence[Any], status: int = 200
) -> tuple[ItemFailure, ...]:
    """Pair each ``fail`` entry with the submitted item it echoes (exact match first, then an
    item the key is a part of; each submitted item pairs at most once)."""
    used: set[int] = set()
    out: list[ItemFailure] = []
    for entry in fail:
        index: int | None = None
        if entry.key is not None:
            for exact in (True, False):
                index = next(
                    (
                        i
                        for i, item in enumerate(submitted)
                        if i not in used
                        and (entry.key == item if exact else _matches(entry.key, item))
                    ),
                    None,
                )
                if index is not None:
                    break
        elif len(fail) == 1 and len(submitted) == 1:
            index = 0
        if index is not None:
            used.add(index)
        key = entry.key if entry.key is not None or index is None else submitted[index]
        out.append(ItemFailure(key=key, index=index, errors=_item_errors(entry, status)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Result:
    """The answer of one call: succeeded ``data`` items and failed items, never one without the
    other.

    Attributes:
        path: the function called.
        status: the HTTP status (200 for every result; errors raise).
        data: the items that succeeded (or the function's output items).
        failures: the items that failed, each paired with the submitted item.
        meta: the response's ``meta`` object.
        pagination: ``meta.pagination``, when the function pages.
        request_id: the ``x-mc-req-id`` of the attempt that produced this answer.
        rate_limit: the ``X-RateLimit-*`` headers of that answer.
        attempts: how many attempts the call took.
        submitted: the items that were sent.
    """

    path: str
    status: int
    data: tuple[Any, ...]
    failures: tuple[ItemFailure, ...]
    meta: Mapping[str, Any] = field(default_factory=dict)
    pagination: Pagination | None = None
    request_id: str | None = None
    rate_limit: RateLimit | None = None
    attempts: int = 1
    submitted: tuple[Any, ...] = ()

    @property
    def ok(self) -> bool:
        """No item failed."""
        return not self.failures

    @property
    def partial(self) -> bool:
        """Some items failed and some succeeded."""
        return bool(self.failures) and bool(self.data)

    @property
    def next_page_token(self) -> str | None:
        """``meta.pagination.next``: send it back as ``page_token`` for the next page."""
        return self.pagination.next if self.pagination else None

    @property
    def is_last_token(self) -> bool:
        """``meta.isLastToken`` (get-siem-logs: no newer log file exists yet)."""
        return self.meta.get("isLastToken") is True

    def raise_for_failures(self) -> Result:
        """Raise :class:`~mcapi._errors.FunctionFailed` if any item failed; else return self."""
        if not self.failures:
            return self
        first = self.failures[0]
        errors = [e for f in self.failures for e in f.errors]
        entry = first.errors[0].entry if first.errors else None
        what = ", ".join(sorted({e.code or "unknown" for e in errors}))
        total = len(self.submitted) or len(self.failures) + len(self.data)
        raise FunctionFailed(
            f"{len(self.failures)} of {total} item(s) failed ({what}); "
            f"{len(self.data)} succeeded and are in .result.data",
            result=self,
            entry=entry,
            status=self.status,
            sub_code=entry.sub_code if entry else None,
            body_codes=tuple(e.code for e in errors if e.code),
            messages=tuple(e.message for e in errors if e.message),
            endpoint=self.path,
            request_id=self.request_id,
            attempts=self.attempts,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (what ``mcapi call`` prints)."""
        return {
            "path": self.path,
            "status": self.status,
            "data": list(self.data),
            "fail": [f.to_dict() for f in self.failures],
            "meta": dict(self.meta),
            "request_id": self.request_id,
            "rate_limit": self.rate_limit.to_dict() if self.rate_limit else None,
            "attempts": self.attempts,
        }


@dataclass(frozen=True, slots=True)
class AttemptEvent:
    """What happened on one attempt, given to the ``event_hook``.

    ``outcome`` is one of ``ok``, ``partial``, ``file``, ``retry``, ``wait``, ``refresh``,
    ``relogin``, ``raise``; ``reason`` says why in words; ``delay`` is the seconds the client
    waits before the next attempt. ``retries`` and ``quota_waits`` count the call's retries
    after transient failures and its waits for quota so far (this attempt's included), against
    the call's bounds ``max_attempts`` (the first attempt included, so at most
    ``max_attempts - 1`` retries) and ``max_quota_waits``.
    """

    path: str
    attempt: int
    outcome: str
    reason: str
    status: int | None
    sub_code: str | None
    delay: float
    retry_budget_remaining: int
    request_id: str | None
    retries: int = 0
    max_attempts: int = 0
    quota_waits: int = 0
    max_quota_waits: int = 0
