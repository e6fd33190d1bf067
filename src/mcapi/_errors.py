"""mcapi's exceptions: few classes, rich data.

::

    MimecastError                   base; every instance carries the fields below
    ├── ProtocolError               the message could not be built, or the answer broke the protocol
    │   ├── LocalProtocolError      the caller's mistake or bad configuration, found before
    │   │     (ValueError)          anything is sent: a secret key that is not base64, a malformed
    │   │                           date or header to parse, data that is not a list of items
    │   └── RemoteProtocolError     the server answered something the protocol does not allow: a
    │                               login without keys, a page token that points at itself, an
    │                               HTML page in the platform's place (``content_type``)
    ├── TransportError              no HTTP answer: connection refused or reset, timeout
    ├── ApiError                    an HTTP-level error answer, one class per status
    │   ├── BadRequest              400, 405, 408, 413, 431
    │   ├── Unauthorized            401
    │   ├── Forbidden               403
    │   ├── NotFound                404
    │   ├── Conflict                409
    │   ├── BindingExpired          418
    │   ├── QuotaExceeded           429
    │   └── ServerError             5xx
    └── FunctionFailed              HTTP 200, but items failed; carries the partial result,
                                    the succeeded items included

Only :class:`LocalProtocolError` is a ``ValueError`` (as in h11): an ``except ValueError`` around a
call catches the caller's own mistakes, never a misbehaving server.

Every error carries: ``status``, ``sub_code``, ``body_codes`` and ``messages`` (from ``fail``), the
catalogue ``entry`` (name, meaning, remedy, action), the ``endpoint``, the ``request_id``
(x-mc-req-id) and the number of ``attempts``. ``str(error)`` reads as one line a user can act on.
There is no class per sub code: branch on ``error.entry`` or ``error.sub_code``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcapi._codes import CodeEntry, lookup

__all__ = [
    "ApiError",
    "BadRequest",
    "BindingExpired",
    "Conflict",
    "Forbidden",
    "FunctionFailed",
    "LocalProtocolError",
    "MimecastError",
    "NotFound",
    "ProtocolError",
    "QuotaExceeded",
    "RemoteProtocolError",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "error_class_for",
]


class MimecastError(Exception):
    """Base of every mcapi error."""

    def __init__(
        self,
        message: str,
        *,
        entry: CodeEntry | None = None,
        status: int | None = None,
        sub_code: str | None = None,
        body_codes: tuple[str, ...] = (),
        messages: tuple[str, ...] = (),
        endpoint: str | None = None,
        request_id: str | None = None,
        attempts: int = 0,
        headers: Mapping[str, str] | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(f"{message} {hint}" if hint else message)
        #: The message without :attr:`hint`.
        self.summary = message
        #: What a program can do about it, in the library's terms (a parameter to pass), when the
        #: catalogue's remedy does not say; part of the message. The ``mcapi`` command line
        #: replaces it with advice in its own terms.
        self.hint = hint
        self.entry = entry
        self.status = status if status is not None else (entry.status if entry else None)
        self.sub_code = sub_code if sub_code is not None else (entry.sub_code if entry else None)
        self.body_codes = body_codes
        self.messages = messages
        self.endpoint = endpoint
        self.request_id = request_id
        self.attempts = attempts
        self.headers: Mapping[str, str] = dict(headers or {})

    @property
    def remedy(self) -> str | None:
        return self.entry.remedy if self.entry else None

    @property
    def retryable(self) -> bool:
        return self.entry.retryable if self.entry else False

    def __str__(self) -> str:
        return self.describe()

    def describe(self, advice: str | None = None) -> str:
        """One line a user can act on: the message, where it happened (endpoint, request id,
        attempts) and what to do: ``advice`` when given (it replaces the hint and the catalogue's
        remedy, e.g. with the command line's own), else the hint and the remedy."""
        parts = [self.summary if advice is not None else super().__str__()]
        where = []
        if self.endpoint:
            where.append(self.endpoint)
        if self.request_id:
            where.append(f"x-mc-req-id {self.request_id}")
        if self.attempts:
            where.append(f"{self.attempts} attempt{'s' if self.attempts != 1 else ''}")
        if where:
            parts.append(f"[{', '.join(where)}]")
        if advice is not None:
            parts.append(f"-- {advice}")
        elif self.entry is not None and self.entry.is_error:
            parts.append(f"-- {self.entry.remedy}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "message": super().__str__(),
            "status": self.status,
            "sub_code": self.sub_code,
            "body_codes": list(self.body_codes),
            "messages": list(self.messages),
            "endpoint": self.endpoint,
            "request_id": self.request_id,
            "attempts": self.attempts,
            "entry": self.entry.to_dict() if self.entry else None,
        }


class ProtocolError(MimecastError):
    """A message could not be built, or an answer broke the protocol; catch one of the two
    subclasses to tell whose fault it is."""


class LocalProtocolError(ProtocolError, ValueError):
    """The caller's mistake or bad configuration, found before anything was sent: a secret key
    that is not base64, a malformed date or header handed to a parser, data that is not a list of
    items, a client without a binding. Fix the code or the configuration; retrying cannot help."""


class RemoteProtocolError(ProtocolError):
    """The server answered something the protocol does not allow (a login answer without keys, a
    discovery answer without a region, a page token that points at itself, an HTML page from a
    proxy or gateway in the platform's place). Not a ``ValueError``: the caller did nothing
    wrong."""

    def __init__(self, message: str, *, content_type: str | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        #: The content type of a page that answered in the platform's place (a proxy's sign-in
        #: page, a gateway's error page); ``None`` when the answer came from the platform.
        self.content_type = content_type

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "content_type": self.content_type}


class TransportError(MimecastError):
    """No HTTP answer was received (connection refused or reset, timeout, broken reply)."""


class ApiError(MimecastError):
    """The platform answered with an HTTP-level error."""


class BadRequest(ApiError):
    """400 (and 405, 408, 413, 431): the request is malformed, too large or too slow, or lacks
    credentials or headers."""


class Unauthorized(ApiError):
    """401: authentication failed (see ``sub_code``)."""


class Forbidden(ApiError):
    """403: the user may not do this (see ``sub_code``)."""


class NotFound(ApiError):
    """404: no such function, or the domain is not managed (404 0003)."""


class Conflict(ApiError):
    """409: the data is not in the state the request assumes."""


class BindingExpired(ApiError):
    """418: the binding's TTL lapsed and it could not be refreshed."""


class QuotaExceeded(ApiError):
    """429: the quota is spent; ``reset_ms`` says when a call is added back."""

    @property
    def reset_ms(self) -> int | None:
        value = self.headers.get("x-ratelimit-reset")
        return int(value) if value is not None and value.isdigit() else None


class ServerError(ApiError):
    """5xx: the platform failed to process the request."""


class FunctionFailed(MimecastError):
    """HTTP 200, but items failed. ``result`` holds every succeeded item as well as the failures,
    so raising loses nothing."""

    def __init__(self, message: str, *, result: Any, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.result = result


_BY_STATUS: Mapping[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: BadRequest,
    408: BadRequest,
    409: Conflict,
    413: BadRequest,
    431: BadRequest,
    418: BindingExpired,
    429: QuotaExceeded,
}


def error_class_for(status: int) -> type[ApiError]:
    """The exception class of an HTTP status (unknown 4xx -> BadRequest, 5xx -> ServerError)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else BadRequest


def api_error(
    status: int,
    *,
    sub_code: str | None = None,
    body_codes: tuple[str, ...] = (),
    messages: tuple[str, ...] = (),
    endpoint: str | None = None,
    request_id: str | None = None,
    attempts: int = 0,
    headers: Mapping[str, str] | None = None,
    detail: str | None = None,
    hint: str | None = None,
) -> ApiError:
    """Build the right :class:`ApiError` for a response, with its catalogue entry.

    ``detail`` is a sentence added to the message, e.g. why the client could not recover;
    ``hint`` one saying what the caller can pass to do better (kept apart as ``error.hint``).
    """
    entry = lookup(status, sub_code, body_codes[0] if body_codes else None)
    text = f"{entry.label} {entry.name}: {entry.meaning}"
    if messages and messages[0] and messages[0] != entry.message:
        text += f" (platform said: {messages[0]})"
    if detail:
        text += f" {detail}"
    return error_class_for(status)(
        text,
        entry=entry,
        status=status,
        sub_code=sub_code or entry.sub_code,
        body_codes=body_codes,
        messages=messages,
        endpoint=endpoint,
        request_id=request_id,
        attempts=attempts,
        headers=headers,
        hint=hint,
    )
