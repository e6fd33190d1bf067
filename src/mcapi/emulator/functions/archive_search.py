"""``/api/archive/search``: archive search with the documented XML query (``_archive_query``).

Who is searched: with ``admin: true`` every mailbox of the account; otherwise the caller's own
mailbox only (messages to or from it). ``<mailboxes>`` narrows either further; naming another
address without admin and without "Archive | Search Content View" is refused with 403 0003, as the
other archive functions refuse it. Messages past the account's retention are not found.

Results are newest first, paged one of two ways:

* by the query, as the documented form does: ``page-size`` and ``startrow`` in ``<metadata>``,
  echoed as ``meta.pagination.pageSize`` and ``recordStart``. Such offset pages shift when mail
  arrives at the top of the window;
* by ``meta.pagination`` (``pageSize``, ``pageToken``), as integrations that pass the ``next``
  token do: keyset pages over ``(received, seq)`` that stay put while mail arrives (the query's
  ``startrow`` is then ignored, and its ``page-size`` is the default page size).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import sqlalchemy as sa

from mcapi._codes import lookup
from mcapi.emulator._data import get_profile, messages
from mcapi.emulator.functions._archive_query import (
    DOC_TYPES,
    ArchiveQuery,
    parse_query,
)
from mcapi.emulator.functions._common import (
    Item,
    boolean,
    format_time,
    optional_text,
    required_text,
    run_single,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, page, walk_now
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionError,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, obj
from mcapi.emulator.functions.archive import CONTENT_VIEW

__all__ = ["SPECS"]

_PERMISSION = "Archive | Search | Read"
_SCOPE = "archive-search"
_ADDRESS = obj({"emailAddress": STR, "displayableName": STR}, "emailAddress")
ITEM = obj(
    {
        "id": STR,
        "subject": STR,
        "displayfrom": STR,
        "displayfromaddress": STR,
        "displayto": STR,
        "displaytoaddresslist": array(_ADDRESS),
        "receiveddate": DATE,
        "size": INT,
        "attachmentcount": INT,
        "status": STR,
        "smash": STR,
    }
)


def search(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Archived messages matching an XML query, newest first, one page of them."""

    def handle(item: Item) -> FunctionResult:
        began = time.perf_counter()
        admin = boolean(item, "admin")
        optional_text(item, "searchReason", max_length=500)
        paging = ctx.request.pagination
        keyset = paging is not None and bool(paging.page_size or paging.page_token)
        # relative dates ("last_year") keep the walk's instant on every page of a token walk
        now = walk_now(paging, _SCOPE, ctx.now) if keyset else ctx.now
        query = parse_query(required_text(item, "query", max_length=10**6), now)
        others = [m for m in query.mailboxes if m != ctx.user.email]
        if others and not admin and not ctx.user.has_permission(CONTENT_VIEW):
            raise FunctionError(lookup(403, "0003", "err_xdk_operation_forbidden_for_address"))
        t = messages.c
        with ctx.store.connect() as conn:
            retention = get_profile(conn, ctx.account.id).max_retention_days
            stmt = _select(ctx, query, admin, oldest=ctx.now - retention * 86400)
            if keyset:
                found = page(
                    conn, stmt, [t.received, t.seq], request=paging, scope=_SCOPE,
                    descending=True, default_size=query.page_size, anchor=now,
                )  # fmt: skip
                rows, pagination = found.rows, found.pagination
            else:
                ordered = stmt.order_by(t.received.desc(), t.seq.desc())
                rows = list(conn.execute(ordered.offset(query.start_row).limit(query.page_size)))
                pagination = None
        items = [_item(row, query.return_fields) for row in rows]
        duration = round((time.perf_counter() - began) * 1000)
        offsets = {"pagination": {"recordStart": query.start_row, "pageSize": query.page_size}}
        return FunctionResult(
            data=[{"items": items, "queryDuration": duration}],
            pagination=pagination,
            extra_meta=None if keyset else offsets,
        )

    return run_single(ctx, handle)


def _has(column: Any, needle: str) -> Any:
    return sa.func.lower(column).contains(needle, autoescape=True)


def _select(
    ctx: FunctionContext, query: ArchiveQuery, admin: bool, *, oldest: float
) -> sa.Select[Any]:
    t = messages.c
    recipients = sa.cast(t.recipients, sa.Text)
    stmt = sa.select(messages).where(t.account_id == ctx.account.id, t.received >= oldest)
    if not admin:
        me = ctx.user.email
        stmt = stmt.where(sa.or_(t.sender == me, recipients.contains(f'"{me}"', autoescape=True)))
    if query.mailboxes:
        stmt = stmt.where(sa.or_(*(
            sa.or_(t.sender == m, recipients.contains(f'"{m}"', autoescape=True))
            for m in query.mailboxes
        )))  # fmt: skip
    if query.text is not None:
        where, words = query.text
        columns: dict[str, list[Any]] = {
            "subject": [t.subject], "from": [t.sender, t.sender_name], "to": [recipients],
            "": [t.subject, t.sender, t.sender_name, recipients],
        }  # fmt: skip
        searched = columns[where]
        stmt = stmt.where(sa.or_(*(_has(c, words) for c in searched)))
    if query.date_from is not None:
        stmt = stmt.where(t.received >= query.date_from)
    if query.date_to is not None:
        stmt = stmt.where(t.received <= query.date_to)
    if query.sent_from:
        stmt = stmt.where(_has(t.sender, query.sent_from))
    if query.sent_to:
        stmt = stmt.where(_has(recipients, query.sent_to))
    if query.route:
        stmt = stmt.where(t.route == query.route)
    attachments = sa.cast(t.attachments, sa.Text)
    if query.docs == "none":
        stmt = stmt.where(~attachments.contains('"filename"'))
    elif query.docs != "optional":
        # an attachment whose file name ends with one of the extensions (JSON text: name".)
        stmt = stmt.where(sa.or_(*(
            sa.func.lower(attachments).contains(f'.{ext}"' if ext else '"filename"',
                                                autoescape=True)
            for ext in DOC_TYPES[query.docs]
        )))  # fmt: skip
    return stmt


def _item(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    every = {
        "id": row.id,
        "subject": row.subject,
        "displayfrom": row.sender_name or row.sender,
        "displayfromaddress": row.sender,
        "displayto": ", ".join(row.recipients),
        "displaytoaddresslist": [
            {"emailAddress": r, "displayableName": ""} for r in row.recipients
        ],
        "receiveddate": format_time(row.received),
        "size": row.size,
        "attachmentcount": len(row.attachments),
        "status": "ARCHIVED",
        "smash": hashlib.sha1(row.message_id.encode(), usedforsecurity=False).hexdigest(),
    }
    return {name: every[name] for name in fields}


SPECS = (
    FunctionSpec(
        path="/api/archive/search",
        handler=search,
        summary="Archive search with the XML query form (page-size, startrow in the query)",
        permission=_PERMISSION,
        read_only=True,
        request_schema=obj({"admin": BOOL, "query": STR, "searchReason": STR}, "query"),
        response_schema=obj({"items": array(ITEM), "queryDuration": INT}, "items"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
)
