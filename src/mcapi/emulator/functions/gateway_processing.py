"""``/api/gateway/find-processing-messages``: the messages waiting in the delivery queue.

They are the rows of ``processing_messages`` that have not left the queue; the queue sizes of
``/api/email/get-email-queues`` count the same rows, so the two always agree. The list pages by
keyset over ``(created, seq)`` in the order asked for (``sortOrder``), so a message that leaves
the queue or arrives while a client pages never shifts a page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import processing_messages
from mcapi.emulator.functions._common import (
    INVALID,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    choice,
    format_time,
    nested,
    optional_text,
    parse_time,
    run_single,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, page, walk_now
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, enum, obj

__all__ = ["SPECS"]

_PERMISSION = "Gateway | Tracking | Read"
SORT_ORDERS = ("ascending", "descending", "asc", "desc")
_ROUTES = ("all", "inbound", "outbound", "internal", "external")
#: searchBy.fieldName -> the columns it searches (ALL: every one of them)
_SEARCH = {"fromAddress": ("sender",), "toAddress": ("recipient",), "subject": ("subject",),
           "info": ("info",), "remoteIp": ("remote_ip",)}  # fmt: skip
_ADDRESS = obj({"emailAddress": STR, "displayableName": STR}, "emailAddress")
PROCESSING = obj(
    {
        "id": STR,
        "fromEnv": _ADDRESS,
        "fromHeader": _ADDRESS,
        "to": _ADDRESS,
        "subject": STR,
        "attachment": BOOL,
        "routing": STR,
        "size": INT,
        "remoteIp": STR,
        "attempts": INT,
        "nextAttempt": DATE,
        "created": DATE,
        "info": STR,
        "priority": STR,
    },
    "id",
    "fromEnv",
    "to",
    "subject",
    "routing",
    "attempts",
    "nextAttempt",
    "created",
)


def find_processing_messages(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The account's queued messages created in ``[start, end]``, paged in ``sortOrder``."""

    def handle(item: Item) -> FunctionResult:
        order = choice(item, "sortOrder", SORT_ORDERS, default="descending")
        descending = order in ("descending", "desc")
        scope = "processing:" + ("newest" if descending else "oldest")
        now = walk_now(ctx.request.pagination, scope, ctx.now)
        end = parse_time(item, "end", default=now)
        start = parse_time(item, "start", default=0.0)
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
        t = processing_messages.c
        stmt = sa.select(processing_messages).where(
            t.account_id == ctx.account.id,
            t.left_at.is_(None),
            t.created >= start,
            t.created <= end,
        )
        with nested("searchBy"):
            stmt = _search(stmt, item.get("searchBy"))
        rules = item.get("filterBy")
        if rules is not None and not (
            isinstance(rules, list) and all(isinstance(r, Mapping) for r in rules)
        ):
            raise ItemRefused(INVALID, "filterBy must be a list of objects", "filterBy")
        for index, rule in enumerate(rules or []):
            with nested(f"filterBy[{index}]"):
                stmt = _filter(stmt, rule)
        with ctx.store.connect() as conn:
            found = page(
                conn,
                stmt,
                [t.created, t.seq],
                request=ctx.request.pagination,
                scope=scope,
                descending=descending,
                total=True,
                anchor=now,
            )
        records = [_record(row) for row in found.rows]
        return FunctionResult(data=[{"messages": records}], pagination=found.pagination)

    return run_single(ctx, handle)


def _search(stmt: sa.Select[Any], search_by: Any) -> sa.Select[Any]:
    if search_by is None:
        return stmt
    if not isinstance(search_by, Mapping):
        raise ItemRefused(INVALID, "searchBy must be an object", "searchBy")
    field = choice(search_by, "fieldName", ("ALL", *_SEARCH), default="ALL")
    value = optional_text(search_by, "value", max_length=200).lower()
    if not value:
        return stmt
    names = [n for names in _SEARCH.values() for n in names] if field == "ALL" else _SEARCH[field]
    columns = [processing_messages.c[name] for name in names]
    return stmt.where(sa.or_(*(sa.func.lower(c).contains(value, autoescape=True) for c in columns)))


def _filter(stmt: sa.Select[Any], rule: Mapping[str, Any]) -> sa.Select[Any]:
    """One filterBy entry: ``{"fieldName": "route"|"attachments", "value": ...}``, or the form
    integrations send, ``{"route": ..., "attachments": ...}`` (either key may be absent)."""
    t = processing_messages.c
    if "fieldName" in rule:
        name = choice(rule, "fieldName", ("route", "attachments"))
        try:
            return _filter(stmt, {name: rule.get("value")})
        except ItemRefused as exc:
            raise ItemRefused(exc.code, exc.message.replace(name, "value", 1), "value") from None
    if rule.get("route") is not None:
        route = choice(rule, "route", _ROUTES)
        if route != "all":
            stmt = stmt.where(t.route == route)
    attachments = rule.get("attachments")
    if attachments is not None:
        if isinstance(attachments, str) and attachments.strip().lower() in ("true", "false"):
            attachments = attachments.strip().lower() == "true"
        if not isinstance(attachments, bool):
            raise ItemRefused(INVALID, "attachments must be true or false", "attachments")
        stmt = stmt.where(t.has_attachments == attachments)
    return stmt


def _record(row: Any) -> dict[str, Any]:
    sender = {"emailAddress": row.sender, "displayableName": row.sender_name}
    return {
        "id": row.id,
        "fromEnv": sender,
        "fromHeader": sender,
        "to": {"emailAddress": row.recipient, "displayableName": ""},
        "subject": row.subject,
        "attachment": row.has_attachments,
        "routing": row.route,
        "size": row.size,
        "remoteIp": row.remote_ip,
        "attempts": row.attempts,
        "nextAttempt": format_time(row.next_attempt),
        "created": format_time(row.created),
        "info": row.info,
        "priority": row.priority,
    }


SPECS = (
    FunctionSpec(
        path="/api/gateway/find-processing-messages",
        handler=find_processing_messages,
        summary="Messages waiting in the delivery queue, paged, newest first unless ascending",
        permission=_PERMISSION,
        read_only=True,
        request_schema=obj(
            {
                "start": DATE,
                "end": DATE,
                "sortOrder": enum(*SORT_ORDERS),
                "searchBy": obj({"fieldName": enum("ALL", *_SEARCH), "value": STR}),
                "filterBy": array(
                    obj(
                        {
                            "fieldName": enum("route", "attachments"),
                            "value": STR,
                            "route": enum(*_ROUTES),
                            "attachments": BOOL,
                        }
                    )
                ),
            }
        ),
        response_schema=obj({"messages": array(PROCESSING)}, "messages"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
)
