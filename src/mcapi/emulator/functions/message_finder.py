"""``/api/message-finder/search``: track messages by id, sender, recipient, subject, IP, route."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import messages
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

__all__ = ["SEARCH_DAYS", "SPECS"]

SEARCH_DAYS = 30
_SCOPE = "message-finder"
_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+$")
_ADDRESS = obj({"emailAddress": STR, "displayableName": STR}, "emailAddress")
TRACKED = obj(
    {
        "id": STR,
        "status": STR,
        "fromEnv": _ADDRESS,
        "fromHdr": _ADDRESS,
        "to": array(_ADDRESS),
        "subject": STR,
        "received": DATE,
        "sent": DATE,
        "route": STR,
        "senderIP": STR,
        "spamScore": INT,
        "detectionLevel": STR,
        "info": STR,
        "attachments": BOOL,
    },
    "id",
    "status",
    "fromEnv",
    "to",
    "subject",
    "received",
)


def _address_filter(column: Any, value: str, *, in_json: bool) -> Any:
    """Exact address (``a@b.c``) or a whole domain (``b.c``)."""
    if in_json:
        needle = f'"{value}"' if "@" in value else f'@{value}"'
        return sa.cast(column, sa.Text).contains(needle, autoescape=True)
    return column == value if "@" in value else column.endswith(f"@{value}", autoescape=True)


def _address_value(options: Mapping[str, Any], field: str) -> str | None:
    value = options.get(field)
    if value is None or value == "":
        return None
    text = value.strip().lower() if isinstance(value, str) else ""
    local, at, domain = text.rpartition("@")
    if not _DOMAIN.match(domain) or (at and not local):
        raise ItemRefused(INVALID, f"{field} must be an address or a domain", field)
    return text


def search(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Messages of the last 30 days matching the criteria, newest first, paged."""

    def handle(item: Item) -> FunctionResult:
        # the walk's instant: the last 30 days are the same ones on every page
        now = walk_now(ctx.request.pagination, _SCOPE, ctx.now)
        end = parse_time(item, "end", default=now)
        start = parse_time(item, "start", default=now - SEARCH_DAYS * 86400)
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
        if start < now - SEARCH_DAYS * 86400 - 60:
            raise ItemRefused(OUT_OF_RANGE, f"start is more than {SEARCH_DAYS} days ago", "start")
        optional_text(item, "searchReason", max_length=500)
        message_id = optional_text(item, "messageId", max_length=255)
        options = item.get("advancedTrackAndTraceOptions") or {}
        if not isinstance(options, Mapping):
            raise ItemRefused(
                INVALID, "advancedTrackAndTraceOptions must be an object",
                "advancedTrackAndTraceOptions",
            )  # fmt: skip
        t = messages.c
        stmt = sa.select(messages).where(
            t.account_id == ctx.account.id, t.received >= start, t.received <= end
        )
        if message_id:
            stmt = stmt.where(sa.or_(t.message_id == message_id, t.id == message_id))
        with nested("advancedTrackAndTraceOptions"):
            stmt = _options(stmt, options)
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.received, t.seq], request=ctx.request.pagination,
                scope=_SCOPE, descending=True, anchor=now,
            )  # fmt: skip
        tracked = [_tracked(row) for row in found.rows]
        return FunctionResult(data=[{"trackedEmails": tracked}], pagination=found.pagination)

    return run_single(ctx, handle)


def _options(stmt: sa.Select[Any], options: Mapping[str, Any]) -> sa.Select[Any]:
    """The advancedTrackAndTraceOptions criteria added to ``stmt``."""
    t = messages.c
    sender = _address_value(options, "from")
    if sender:
        stmt = stmt.where(_address_filter(t.sender, sender, in_json=False))
    recipient = _address_value(options, "to")
    if recipient:
        stmt = stmt.where(_address_filter(t.recipients, recipient, in_json=True))
    subject = optional_text(options, "subject", max_length=500)
    if subject:
        stmt = stmt.where(sa.func.lower(t.subject).contains(subject.lower(), autoescape=True))
    sender_ip = optional_text(options, "senderIP", max_length=45)
    if sender_ip:
        stmt = stmt.where(t.sender_ip == sender_ip)
    if options.get("route") is not None:
        stmt = stmt.where(t.route == choice(options, "route", ("inbound", "outbound", "internal")))
    return stmt


def _tracked(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "fromEnv": {"emailAddress": row.sender},
        "fromHdr": {"emailAddress": row.sender, "displayableName": row.sender_name},
        "to": [{"emailAddress": r, "displayableName": ""} for r in row.recipients],
        "subject": row.subject,
        "received": format_time(row.received),
        "sent": format_time(row.received),
        "route": row.route,
        "senderIP": row.sender_ip,
        "spamScore": row.spam_score,
        "detectionLevel": "",
        "info": row.info,
        "attachments": bool(row.attachments),
    }


SPECS = (
    FunctionSpec(
        path="/api/message-finder/search",
        handler=search,
        summary="Track messages of the last 30 days by id, sender, recipient, subject, IP, route",
        permission="Gateway | Tracking | Read",
        read_only=True,
        request_schema=obj(
            {
                "start": DATE,
                "end": DATE,
                "messageId": STR,
                "searchReason": STR,
                "advancedTrackAndTraceOptions": obj(
                    {
                        "from": STR,
                        "to": STR,
                        "subject": STR,
                        "senderIP": STR,
                        "route": enum("inbound", "outbound", "internal"),
                    }
                ),
            }
        ),
        response_schema=obj({"trackedEmails": array(TRACKED)}, "trackedEmails"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
)
