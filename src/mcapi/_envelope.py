"""The Mimecast response envelope: ``meta`` / ``data`` / ``fail``, and pagination.

Every JSON response of the API 1.0 is ``{"meta": {"status": N, "pagination": {...}}, "data": [...],
"fail": [...]}``. A ``fail`` entry holds the submitted item as ``key`` (for per-item failures under
HTTP 200) and ``errors``: ``{"code", "message", "retryable", "field"?}``.

Two directions, two temperaments:

* :func:`parse_response` is tolerant, because real responses vary (missing ``fail``, ``null``
  data, a lone object instead of a list, extra fields): it never raises on a decoded JSON value.
* :func:`parse_request` is strict, because the emulator must refuse what the platform refuses: it
  raises :class:`EnvelopeError` with the reason, which becomes a 400.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcapi._codes import CodeEntry, sub_code_of

__all__ = [
    "Envelope",
    "EnvelopeError",
    "ErrorDetail",
    "FailItem",
    "PageRequest",
    "Pagination",
    "RequestEnvelope",
    "lenient_bool",
    "lenient_int",
    "parse_request",
    "parse_response",
    "render_error",
    "render_request",
    "render_response",
]


class EnvelopeError(ValueError):
    """A request body that is not a Mimecast request envelope."""


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """One entry of ``fail[].errors``."""

    code: str | None
    message: str | None
    retryable: bool = False
    field: str | None = None

    @property
    def sub_code(self) -> str | None:
        return sub_code_of(self.message)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
        }
        if self.field is not None:
            out["field"] = self.field
        return out


@dataclass(frozen=True, slots=True)
class FailItem:
    """One entry of ``fail``: the submitted item (``key``, when the platform echoes it) and its
    errors."""

    key: Any
    errors: tuple[ErrorDetail, ...]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.key is not None:
            out["key"] = self.key
        out["errors"] = [e.to_dict() for e in self.errors]
        return out


@dataclass(frozen=True, slots=True)
class Pagination:
    """``meta.pagination`` of a response."""

    page_size: int | None = None
    next: str | None = None
    previous: str | None = None
    total_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.page_size is not None:
            out["pageSize"] = self.page_size
        if self.next is not None:
            out["next"] = self.next
        if self.previous is not None:
            out["previous"] = self.previous
        if self.total_count is not None:
            out["totalCount"] = self.total_count
        return out


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed response body."""

    status: int | None
    data: tuple[Any, ...]
    fail: tuple[FailItem, ...]
    pagination: Pagination | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_last_token(self) -> bool:
        """``meta.isLastToken`` (get-siem-logs says so when no newer file exists)."""
        return self.meta.get("isLastToken") is True


@dataclass(frozen=True, slots=True)
class PageRequest:
    """``meta.pagination`` of a request."""

    page_size: int | None = None
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class RequestEnvelope:
    """A validated request body."""

    data: tuple[Mapping[str, Any], ...]
    pagination: PageRequest | None = None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _parse_error(raw: Any) -> ErrorDetail:
    if not isinstance(raw, Mapping):
        return ErrorDetail(code=None, message=_as_str(raw))
    return ErrorDetail(
        code=_as_str(raw.get("code")),
        message=_as_str(raw.get("message")),
        retryable=raw.get("retryable") is True,
        field=_as_str(raw.get("field")),
    )


def _parse_fail(raw: Any) -> FailItem:
    if not isinstance(raw, Mapping):
        return FailItem(key=None, errors=(_parse_error(raw),))
    errors = raw.get("errors")
    if isinstance(errors, list):
        parsed = tuple(_parse_error(e) for e in errors)
    elif errors is None and ("code" in raw or "message" in raw):
        # Some endpoints put one error's fields straight on the fail entry.
        parsed = (_parse_error(raw),)
    else:
        parsed = ()
    return FailItem(key=raw.get("key"), errors=parsed)


def _parse_pagination(raw: Any) -> Pagination | None:
    if not isinstance(raw, Mapping):
        return None
    return Pagination(
        page_size=_as_int(raw.get("pageSize")),
        next=_as_str(raw.get("next")) or None,
        previous=_as_str(raw.get("previous")) or None,
        total_count=_as_int(raw.get("totalCount")),
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def parse_response(body: Any) -> Envelope:
    """Parse a decoded JSON response body; never raises."""
    if not isinstance(body, Mapping):
        return Envelope(status=None, data=(), fail=())
    meta = body.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    return Envelope(
        status=_as_int(meta.get("status")),
        data=_as_tuple(body.get("data")),
        fail=tuple(_parse_fail(f) for f in _as_tuple(body.get("fail"))),
        pagination=_parse_pagination(meta.get("pagination")),
        meta=dict(meta),
    )


def parse_request(body: Any, *, max_page_size: int | None = None) -> RequestEnvelope:
    """Validate a decoded request body; raises :class:`EnvelopeError` with the reason.

    A body without ``data`` (``{}``), or with ``data`` null, reads as ``data: []``: integrations
    post ``{}`` to functions whose fields are all optional, and the functions read no items as one
    empty item. ``meta.pagination.pageSize`` may be a number written as a string (``"100"``).
    """
    if not isinstance(body, Mapping):
        raise EnvelopeError("the body must be a JSON object")
    data = body.get("data")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise EnvelopeError("data must be an array")
    for index, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise EnvelopeError(f"data[{index}] must be an object")
    meta = body.get("meta")
    page: PageRequest | None = None
    if meta is not None:
        if not isinstance(meta, Mapping):
            raise EnvelopeError("meta must be an object")
        raw_page = meta.get("pagination")
        if raw_page is not None:
            page = _parse_page_request(raw_page, max_page_size)
    return RequestEnvelope(data=tuple(data), pagination=page)


#: The spellings of a boolean sent as a string that requests may use (compared case-insensitively,
#: surrounding blanks ignored): the emulator's own rule, as the platform's is not documented.
_TRUE, _FALSE = "true", "false"
#: Digits a whole number written as a string may have (a 64-bit integer has at most 19).
_MAX_DIGITS = 18


def lenient_bool(value: Any) -> bool | None:
    """A request field's boolean: ``true``/``false``, or the strings ``"true"``/``"false"`` in
    any case; ``None`` for anything else (``"1"``, ``"yes"``, numbers are not booleans)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text == _TRUE:
            return True
        if text == _FALSE:
            return False
    return None


def lenient_int(value: Any) -> int | None:
    """A request field's whole number: an integer, or a string of decimal digits with an optional
    sign (``"100"``, ``" -5 "``); ``None`` for anything else (booleans, fractions, ``"1e2"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in ("+", "-") else text
        if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
            return int(text)
    return None


def _parse_page_request(raw: Any, max_page_size: int | None) -> PageRequest:
    if not isinstance(raw, Mapping):
        raise EnvelopeError("meta.pagination must be an object")
    raw_size = raw.get("pageSize")
    size = None if raw_size is None else lenient_int(raw_size)
    if raw_size is not None:
        if size is None:
            raise EnvelopeError("meta.pagination.pageSize must be a whole number")
        if size < 1 or (max_page_size is not None and size > max_page_size):
            limit = f" and {max_page_size}" if max_page_size is not None else ""
            raise EnvelopeError(f"meta.pagination.pageSize must be between 1{limit}")
    token = raw.get("pageToken")
    if token is not None and not isinstance(token, str):
        raise EnvelopeError("meta.pagination.pageToken must be a string")
    return PageRequest(page_size=size, page_token=token or None)


def render_response(
    data: Sequence[Any] = (),
    fail: Sequence[FailItem] = (),
    *,
    status: int = 200,
    pagination: Pagination | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A response body as the platform writes it."""
    meta: dict[str, Any] = {"status": status}
    if pagination is not None:
        meta["pagination"] = pagination.to_dict()
    if extra_meta:
        meta.update(extra_meta)
    return {"meta": meta, "data": list(data), "fail": [f.to_dict() for f in fail]}


def render_error(
    entry: CodeEntry, *, message: str | None = None, retryable: bool | None = None
) -> dict[str, Any]:
    """The error envelope of an HTTP-level answer for a catalogue entry.

    ``message`` replaces the entry's text after the sub code, e.g. for 409 conflicts that name
    the item.
    """
    text = entry.message
    if message is not None:
        text = f"{entry.sub_code} {message}" if entry.sub_code else message
    error = ErrorDetail(
        code=entry.body_code or f"err_http_{entry.status}",
        message=text,
        retryable=entry.retryable if retryable is None else retryable,
    )
    return render_response((), (FailItem(key=None, errors=(error,)),), status=entry.status)


def render_request(
    data: Sequence[Mapping[str, Any]] = (),
    *,
    page_size: int | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    """A request body: ``{"data": [...]}`` with ``meta.pagination`` when paging."""
    body: dict[str, Any] = {"data": [dict(item) for item in data]}
    if page_size is not None or page_token is not None:
        pagination: dict[str, Any] = {}
        if page_size is not None:
            pagination["pageSize"] = page_size
        if page_token is not None:
            pagination["pageToken"] = page_token
        body["meta"] = {"pagination": pagination}
    return body
