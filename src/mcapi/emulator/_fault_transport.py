"""Transport faults, produced on the ASGI ``send`` by ``send_transport_fault`` (what a client sees
over a real socket, under uvicorn's h11 and httptools servers alike):

* ``reset`` - the connection closes before a single byte of response ("Server disconnected
  without sending a response"). ASGI has no message for that, and uvicorn answers 500 to an app
  that fails before starting its response; so the helper starts a response whose header name no
  server will write (uvicorn marks the response started, refuses the header, writes nothing) and
  raises ``TransportFault``, on which uvicorn closes the socket.
* ``empty`` - a complete ``200`` with ``Content-Length: 0`` and ``Connection: close``: a well-formed
  HTTP response whose body is not the JSON envelope (as from a proxy that lost the body).
* ``truncated`` - a ``200`` declaring ``Content-Length`` of the full body, half of the body, then
  ``TransportFault``, on which the server closes the socket ("peer closed connection without
  sending complete message body").

In-process (httpx ``ASGITransport``, Starlette ``TestClient``) there is no socket to break, so the
``TransportFault`` reaches the caller. ``TransportFaultLogFilter`` keeps uvicorn from logging these
deliberate failures as application errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from mcapi.emulator._faults import TRANSPORT_KINDS, BodyKind, TransportKind

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class TransportFault(Exception):
    """Raised by ``send_transport_fault`` so the server closes the connection mid-response."""

    def __init__(self, kind: TransportKind) -> None:
        super().__init__(f"emulated transport fault: {kind}")
        self.kind = kind


class TransportFaultLogFilter(logging.Filter):
    """Drops the server's "Exception in ASGI application" records caused by ``TransportFault``.

    Attach it to the ``uvicorn.error`` logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], TransportFault))


_TRUNCATED_BODY = (
    b'{"meta": {"status": 200}, "data": [{"emulated": "truncated response"}], "fail": []}'
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Timeout"}  # fmt: skip


def fault_body(kind: BodyKind, status: int) -> tuple[bytes, str]:
    """The body and content type of a status answer without the envelope: a proxy's HTML error
    page (``html``), or an envelope cut off mid-way, so not JSON (``malformed``)."""
    if kind == "html":
        title = f"{status} {_REASONS.get(status, 'Server Error')}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return page.encode("ascii"), "text/html; charset=utf-8"
    whole = f'{{"meta": {{"status": {status}}}, "data": [], "fail": [{{"errors": [{{"code": "'
    return whole.encode("ascii"), "application/json"


# A space is not allowed in a header name: servers refuse it before writing anything.
_UNWRITABLE_HEADER = (b"x-mcapi fault", b"reset")


async def send_transport_fault(
    kind: TransportKind,
    send: Send,
    *,
    body: bytes | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Put a broken response on the wire; see the module doc for what each kind looks like.

    ``body`` is the full response the truncation cuts in half (default: a small envelope);
    ``headers`` are added to the ``empty`` and ``truncated`` responses (e.g. ``X-RateLimit-*``).
    Raises ``TransportFault`` for ``reset`` and ``truncated``; returns normally for ``empty``.
    Must be given the server's own ``send``, not one wrapped by a buffering middleware.
    """
    if kind == "reset":
        try:
            await send(
                {"type": "http.response.start", "status": 200, "headers": [_UNWRITABLE_HEADER]}
            )
        except Exception as exc:
            raise TransportFault(kind) from exc
        raise TransportFault(kind)
    if kind == "empty":
        fixed = [(b"content-type", b"application/json"), (b"content-length", b"0")]
        start = [*fixed, (b"connection", b"close"), *headers]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if kind == "truncated":
        full = body if body else _TRUNCATED_BODY
        start = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(full)).encode()),
            *headers,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": start})
        await send(
            {"type": "http.response.body", "body": full[: len(full) // 2], "more_body": True}
        )
        raise TransportFault(kind)
    raise ValueError(f"transport: must be one of {', '.join(TRANSPORT_KINDS)}, got {kind!r}")
