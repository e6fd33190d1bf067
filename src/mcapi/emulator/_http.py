"""The HTTP/1.1 protocol a served emulator speaks: uvicorn's httptools protocol, with bounds on
what one connection can make the server hold or wait for.

Theory of operation
-------------------
uvicorn reads a request head of any size (httptools has no limit; its h11 protocol answers a
plain 400) and waits for a slow client for ever: its ``timeout_keep_alive`` only covers the idle
time *between* requests. :func:`guarded_protocol` makes a subclass of its httptools protocol that

* counts the bytes of the request head (request line and headers) as they arrive, including a
  head still incomplete, and past ``max_head_bytes`` answers ``431 err_request_header_too_large``
  and closes the connection without reading on;
* starts a timer when a connection opens and when a request's first byte arrives, stops it when
  the request is complete (head and body), and when it fires answers ``408 err_request_timeout``
  (if no answer has started) and closes the connection: a client that sends a byte a minute holds
  a connection ``request_timeout`` seconds at most.

Both answers are catalogue entries in the Mimecast error envelope, as every answer of the
emulator is. A connection closed mid-body reaches the application as ``http.disconnect``; the
endpoint then runs nothing (``mcapi.emulator._pipeline._runner``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mcapi._codes import lookup
from mcapi._envelope import render_error

__all__ = ["GuardedHttpToolsProtocol", "guarded_protocol"]


class _HeadTooLarge(Exception):
    """Raised from a parser callback: the head passed the bound (the parser then stops)."""


def _answer(status: int, body_code: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer in the error envelope, closing the connection."""
    body = orjson.dumps(render_error(lookup(status, None, body_code), message=message))
    return b"".join(
        (
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        )
    )


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded head and a request timeout (module doc)."""

    max_head_bytes: int = 16 * 1024
    request_timeout: float | None = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0  # the request line and headers parsed so far
        self._raw_head_bytes = 0  # the bytes received while the head is incomplete
        self._in_head = False
        self._request_timer: asyncio.TimerHandle | None = None

    # ---- connection ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # the first request must arrive in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):  # raised by a callback of ours
                self._refuse_head()
                return
            self.logger.warning("Invalid HTTP request received.")
            self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head:
            # A head still incomplete after this chunk: what has arrived of it counts (the chunk
            # it began in counts whole: at most a pipelined request's tail too many).
            self._raw_head_bytes += len(data)
            if self._raw_head_bytes > self.max_head_bytes:
                self._refuse_head()

    # ---- parser callbacks ---------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._raw_head_bytes = 0
        if self._request_timer is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # ---- the bounds ---------------------------------------------------------------------------
    def _count(self, size: int) -> None:
        # A head parsed in one chunk (however large) is counted here; data_received counts the
        # chunks of a head that is still incomplete.
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            raise _HeadTooLarge

    def _refuse_head(self) -> None:
        self._disarm()
        if self.transport.is_closing():
            return
        message = (
            f"the request line and headers pass {self.max_head_bytes} bytes, "
            "the most the emulator reads"
        )
        self.logger.info("request refused: %s", message)
        self.transport.write(_answer(431, "err_request_header_too_large", message))
        self.transport.close()

    def _arm(self) -> None:
        if self.request_timeout is not None:
            self._request_timer = self.loop.call_later(self.request_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _timed_out(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete or not cycle.response_started:
            message = f"the request did not arrive whole within {self.request_timeout:g} seconds"
            self.transport.write(_answer(408, "err_request_timeout", message))
        self.transport.close()


def guarded_protocol(
    *, max_head_bytes: int, request_timeout: float | None
) -> type[GuardedHttpToolsProtocol]:
    """A protocol class for ``uvicorn.Config(http=...)`` with these bounds (``request_timeout``
    ``None``: no timeout)."""
    if max_head_bytes < 1024:
        raise ValueError(f"the head bound must be at least 1024 bytes, got {max_head_bytes}")
    if request_timeout is not None and request_timeout <= 0:
        raise ValueError(f"the request timeout must be positive, got {request_timeout:g} s")
    return type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"max_head_bytes": max_head_bytes, "request_timeout": request_timeout},
    )
