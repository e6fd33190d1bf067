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

Records, not wrappers
---------------------
Most paged functions answer their records as the ``data`` items themselves (audit events, held
messages). Others answer one wrapper per page whose list field holds the records, e.g.
message-finder/search's ``{"trackedEmails": [...]}``. :data:`RECORD_FIELDS` is the one table of
those fields, by function; :func:`records_of` unwraps a page with it, and ``paginate`` yields
records (``records=False`` keeps the ``data`` items as they came; ``pages()`` gives the pages).
Nothing is dropped: a ``data`` item that is not a wrapper of its function's field (not an object,
or the field absent or not a list) is yielded as it is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from mcapi._errors import RemoteProtocolError
from mcapi.client._result import Result

__all__ = [
    "RECORD_FIELDS",
    "aiter_items",
    "aiter_pages",
    "iter_items",
    "iter_pages",
    "next_token",
    "records_of",
]

#: Paged functions whose ``data`` items wrap the records: the list field that holds them. A
#: function not listed answers its records as the ``data`` items. Sources: the vendor's
#: endpoint reference (find-groups, ttp/url/get-logs: shared/reference/mimecast-api.md section
#: 7) and public integrations that read these fields (demisto/content
#: Packs/Mimecast/Integrations/MimecastV2/MimecastV2.py: ``attachmentLogs``,
#: ``impersonationLogs``, ``groupMembers``, archive/search ``items``,
#: find-processing-messages ``messages``; archive/get-message-list is read as plain items).
RECORD_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "/api/message-finder/search": "trackedEmails",
        "/api/user/get-internal-users": "users",
        "/api/ttp/url/get-logs": "clickLogs",
        "/api/ttp/attachment/get-logs": "attachmentLogs",
        "/api/ttp/impersonation/get-logs": "impersonationLogs",
        "/api/directory/find-groups": "folders",
        "/api/directory/get-group-members": "groupMembers",
        "/api/archive/search": "items",
        "/api/gateway/find-processing-messages": "messages",
    }
)


def records_of(page: Result) -> Iterator[Any]:
    """The records of one page: the items of its function's :data:`RECORD_FIELDS` list field,
    else its ``data`` items themselves."""
    field = RECORD_FIELDS.get(page.path)
    if field is None:
        yield from page.data
        return
    for item in page.data:
        inner = item.get(field) if isinstance(item, dict) else None
        if isinstance(inner, list):
            yield from inner
        else:
            yield item  # not a wrapper: keep it rather than lose it


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


def iter_items(pages: Iterator[Result], records: bool = False) -> Iterator[Any]:
    """The ``data`` items (``records``: the records) of each page; raises ``FunctionFailed``
    after a page with failures."""
    for page in pages:
        yield from records_of(page) if records else page.data
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


async def aiter_items(pages: AsyncIterator[Result], records: bool = False) -> AsyncIterator[Any]:
    """Async :func:`iter_items`."""
    async for page in pages:
        for item in records_of(page) if records else page.data:
            yield item
        page.raise_for_failures()
