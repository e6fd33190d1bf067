"""Following ``meta.pagination.next`` page after page, for both clients.

Theory of operation
-------------------
A paginated function answers ``meta.pagination.next`` while more results exist; the next request
sends it back as ``meta.pagination.pageToken``. Each page is one ordinary call, so a 418 or 429 in
the middle is handled inside that call: the client refreshes or waits and repeats *the same page
token*, and the iteration goes on where it was - no item repeated, none skipped.

A page whose answer holds ``fail`` entries yields its ``data`` items first and then raises
:class:`~mcapi._errors.FunctionFailed` (carrying that page's result), so nothing is silently
dropped. A ``next`` token equal to the one just sent would loop forever; it raises instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from mcapi._errors import RemoteProtocolError
from mcapi.client._result import Result

__all__ = ["aiter_items", "aiter_pages", "iter_items", "iter_pages", "next_token"]


def next_token(result: Result, sent: str | None) -> str | None:
    """The token of the page after ``result``, or ``None`` at the end."""
    token = result.next_page_token
    if token is None:
        return None
    if token == sent:
        raise RemoteProtocolError(
            f"{result.path} answered the page token it was sent as the next one; stopping "
            "instead of looping",
            endpoint=result.path,
            request_id=result.request_id,
        )
    return token


def iter_pages(call: Callable[[str | None], Result], first: str | None = None) -> Iterator[Result]:
    """Pages from ``call(page_token)`` until no ``next`` token comes back."""
    token = first
    while True:
        result = call(token)
        yield result
        token = next_token(result, token)
        if token is None:
            return


def iter_items(pages: Iterator[Result]) -> Iterator[Any]:
    """The ``data`` items of each page; raises ``FunctionFailed`` after a page with failures."""
    for page in pages:
        yield from page.data
        page.raise_for_failures()


async def aiter_pages(
    call: Callable[[str | None], Awaitable[Result]], first: str | None = None
) -> AsyncIterator[Result]:
    """Async :func:`iter_pages`."""
    token = first
    while True:
        result = await call(token)
        yield result
        token = next_token(result, token)
        if token is None:
            return


async def aiter_items(pages: AsyncIterator[Result]) -> AsyncIterator[Any]:
    """Async :func:`iter_items`."""
    async for page in pages:
        for item in page.data:
            yield item
        page.raise_for_failures()
