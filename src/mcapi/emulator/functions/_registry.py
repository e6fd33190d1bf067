"""The table of emulated functions.

Every API function the emulator serves is one :class:`FunctionSpec` row: its path, the permission
it requires, whether it only reads, the JSON schema of one request item and of one response item,
its per-call limits, and the handler. The request pipeline reads the table (route, permission,
rate-limit bucket); the OpenAPI document is generated from it; handlers never see an unsigned or
unauthorised call.

A handler is a plain function ``(FunctionContext) -> FunctionResult | StreamResult``. It reports
per-item failures in ``FunctionResult.fail`` (HTTP 200) and HTTP-level function errors (409, and
403 0003/0007/0011 for message retrieval) by raising :class:`FunctionError` with a catalogue entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcapi._codes import CodeEntry
from mcapi._envelope import FailItem, Pagination, RequestEnvelope

if TYPE_CHECKING:
    from mcapi.emulator._clock import Clock
    from mcapi.emulator._store import Account, Store, User

__all__ = [
    "FunctionContext",
    "FunctionError",
    "FunctionResult",
    "FunctionSpec",
    "Handler",
    "StreamResult",
]


class FunctionError(Exception):
    """An HTTP-level answer decided by a function (409 conflicts, 403 0003/0007/0011)."""

    def __init__(self, entry: CodeEntry, message: str | None = None) -> None:
        super().__init__(message or entry.message)
        self.entry = entry
        self.message = message


# FunctionContext and FunctionResult are made for every call: plain (not frozen) slotted
# dataclasses, which build several times faster than frozen ones. Treat them as read-only.
@dataclass(slots=True)
class FunctionContext:
    """What a handler may use: the caller, the request, the state and the clock."""

    store: Store
    clock: Clock
    account: Account
    user: User
    app_id: str
    request: RequestEnvelope
    #: The function's row: its item limit (``spec.max_items``) is the one the handler enforces.
    spec: FunctionSpec
    #: Items the fault engine made fail: index -> errors (the handler skips those items).
    injected_failures: Mapping[int, Sequence[Any]] = field(default_factory=dict)

    @property
    def now(self) -> float:
        return self.clock.now()


@dataclass(slots=True)
class FunctionResult:
    """A JSON answer under HTTP 200: succeeded items in ``data``, failed ones in ``fail``."""

    data: Sequence[Any] = ()
    fail: Sequence[FailItem] = ()
    pagination: Pagination | None = None
    extra_meta: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class StreamResult:
    """A file answer (get-siem-logs, get-message-part): streamed, never built in memory."""

    chunks: Iterable[bytes]
    media_type: str = "application/octet-stream"
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[FunctionContext], "FunctionResult | StreamResult"]


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One row of the function table."""

    path: str
    handler: Handler
    summary: str
    #: The permission the caller needs (``None``: any authenticated user).
    permission: str | None
    #: Whether the function only reads (a client may retry it after a transient failure).
    read_only: bool
    #: JSON schema of one item of the request's ``data`` array.
    request_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    #: JSON schema of one item of the response's ``data`` array.
    response_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    #: Most items accepted in one call (``None``: no limit).
    max_items: int | None = None
    #: Whether the function pages through ``meta.pagination``; its largest page.
    paginated: bool = False
    max_page_size: int | None = None
    #: Whether a success is a file stream rather than JSON.
    streams: bool = False
