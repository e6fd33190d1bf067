"""Bounding one attempt by a total time, not only each read.

httpx's timeouts bound each network operation: a body that trickles one byte a second never
trips a read timeout, so an attempt (and the call) could run forever behind a broken proxy. The
shells stamp each request with the monotonic instant by which its answer must have arrived -
the client's ``timeout`` from now, or the call's deadline if sooner - and a response hook wraps
the body's stream so that reading past that instant raises ``httpx.ReadTimeout``: the core then
treats it as any other timeout (retried only where repeating is safe, and within the deadline).

The instant is checked as each chunk arrives; a server that sends nothing at all is already
bounded by the read timeout. Streams handed to the caller (``call_stream``, ``download``) are not
stamped: a large file may take longer than one answer should.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx

#: ``request.extensions`` key: the ``time.monotonic()`` instant the answer must have arrived by.
UNTIL = "mcapi.until"


def attempt_seconds(timeout: float | httpx.Timeout) -> float:
    """The total time one attempt may take: the client's ``timeout`` (its read part, for an
    ``httpx.Timeout``; 30 s when that is unbounded)."""
    if isinstance(timeout, httpx.Timeout):
        return timeout.read if timeout.read is not None else 30.0
    return float(timeout)


def _late(request: httpx.Request) -> httpx.ReadTimeout:
    return httpx.ReadTimeout(
        "the answer did not arrive within the attempt's time (a body that trickles)",
        request=request,
    )


class _BoundedSync(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, until: float, request: httpx.Request) -> None:
        self._inner, self._until, self._request = inner, until, request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            if time.monotonic() > self._until:
                raise _late(self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _BoundedAsync(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, until: float, request: httpx.Request) -> None:
        self._inner, self._until, self._request = inner, until, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            if time.monotonic() > self._until:
                raise _late(self._request)
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def bound_sync(response: httpx.Response) -> None:
    """httpx response hook of the sync client (runs before the body is read)."""
    until = response.request.extensions.get(UNTIL)
    if until is not None and isinstance(response.stream, httpx.SyncByteStream):
        response.stream = _BoundedSync(response.stream, until, response.request)


async def bound_async(response: httpx.Response) -> None:
    """httpx response hook of the async client (runs before the body is read)."""
    until = response.request.extensions.get(UNTIL)
    if until is not None and isinstance(response.stream, httpx.AsyncByteStream):
        response.stream = _BoundedAsync(response.stream, until, response.request)
