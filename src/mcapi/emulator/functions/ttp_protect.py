"""Attachment Protect and Impersonation Protect logs: ``/api/ttp/attachment/get-logs`` and
``/api/ttp/impersonation/get-logs``.

Both page through one window (``from``, ``to``: default the 24 hours before the walk's first
page), newest first unless ``oldestFirst``, on the ``(time, seq)`` keyset, so that a walk is
stable while new events are logged. The records carry the field names of the platform's answers
as public integrations read them (see docs/functions.md).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import attachment_logs, impersonation_logs
from mcapi.emulator.functions._common import (
    INVALID,
    Item,
    ItemRefused,
    boolean,
    choice,
    format_time,
    optional_text,
    run_single,
    string_list,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, log_window, page
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, enum, obj

__all__ = ["SPECS"]

ATTACHMENT_READ = "Monitoring | Attachment Protection | Read"
IMPERSONATION_READ = "Monitoring | Impersonation Protection | Read"
_ROUTES = ("all", "internal", "outbound", "inbound")
RESULTS = ("all", "malicious", "safe", "error", "timeout")
SEARCH_FIELDS = ("all", "senderAddress", "recipientAddress", "subject", "policy", "senderIpAddress")
#: The identifiers the filter accepts; ``repy_address_mismatch`` is how the platform's reference
#: spells the reply-address check, accepted as well as the plain spelling.
IDENTIFIERS = (
    "newly_observed_domain", "internal_user_name", "reply_address_mismatch",
    "repy_address_mismatch", "targeted_threat_dictionary", "similar_internal_domain",
)  # fmt: skip
ACTIONS = (
    "none", "delete", "hold", "bounce", "smart_folder", "disable_smart_folder", "content_expire",
    "meta_expire", "stationery", "disable_stationery", "secure_delivery", "delivery_route",
    "document_policy", "attach_set_policy", "remove_email",
)  # fmt: skip

ATTACHMENT_LOG = obj(
    {
        "senderAddress": STR,
        "recipientAddress": STR,
        "fileName": STR,
        "fileType": STR,
        "result": enum(*RESULTS[1:]),
        "actionTriggered": STR,
        "date": DATE,
        "details": STR,
        "route": STR,
        "messageId": STR,
        "subject": STR,
        "fileHash": STR,
        "definition": STR,
    },
    "senderAddress", "recipientAddress", "fileName", "result", "date", "route", "fileHash",
)  # fmt: skip
IMPERSONATION_RESULT = obj(
    {
        "impersonationDomainSource": STR,
        "similarDomain": STR,
        "stringSimilarToDomain": STR,
        "checkerResult": STR,
    },
    "impersonationDomainSource",
)
IMPERSONATION_LOG = obj(
    {
        "id": STR,
        "senderAddress": STR,
        "recipientAddress": STR,
        "subject": STR,
        "definition": STR,
        "hits": INT,
        "identifiers": array(STR),
        "action": STR,
        "taggedExternal": BOOL,
        "taggedMalicious": BOOL,
        "senderIpAddress": STR,
        "eventTime": DATE,
        "impersonationResults": array(IMPERSONATION_RESULT),
        "messageId": STR,
    },
    "id", "senderAddress", "recipientAddress", "hits", "identifiers", "action", "eventTime",
)  # fmt: skip


def get_attachment_logs(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Attachment Protect logs between two dates, by route and result, paged."""

    def handle(item: Item) -> FunctionResult:
        window = log_window(ctx.request.pagination, item, "ttp-attachment-logs", ctx.now)
        start, end, now = window.start, window.end, window.now
        scope, oldest_first = window.scope, window.oldest_first
        route = choice(item, "route", _ROUTES, default="all")
        result = choice(item, "result", RESULTS, default="all")
        t = attachment_logs.c
        stmt = sa.select(attachment_logs).where(
            t.account_id == ctx.account.id, t.date >= start, t.date <= end
        )
        if route != "all":
            stmt = stmt.where(t.route == route)
        if result != "all":
            stmt = stmt.where(t.result == result)
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.date, t.seq], request=ctx.request.pagination, scope=scope,
                descending=not oldest_first, anchor=now,
            )  # fmt: skip
        logs = [_attachment_record(r) for r in found.rows]
        return FunctionResult(data=[{"attachmentLogs": logs}], pagination=found.pagination)

    return run_single(ctx, handle)


def _attachment_record(r: Any) -> dict[str, Any]:
    return {
        "senderAddress": r.sender, "recipientAddress": r.recipient, "fileName": r.file_name,
        "fileType": r.file_type, "result": r.result, "actionTriggered": r.action_triggered,
        "date": format_time(r.date), "details": r.details, "route": r.route,
        "messageId": r.message_id, "subject": r.subject, "fileHash": r.sha256,
        "definition": r.definition,
    }  # fmt: skip


def _impersonation_filters(item: Item) -> list[sa.ColumnElement[bool]]:
    t = impersonation_logs.c
    where: list[sa.ColumnElement[bool]] = []
    search_field = choice(item, "searchField", SEARCH_FIELDS, default="all")
    query = optional_text(item, "query", max_length=200).lower()
    if query:
        columns = {
            "senderAddress": [t.sender], "recipientAddress": [t.recipient],
            "subject": [t.subject], "policy": [t.definition], "senderIpAddress": [t.sender_ip],
        }  # fmt: skip
        searched = columns.get(search_field) or [c[0] for c in columns.values()]
        where.append(sa.or_(*(sa.func.lower(c).contains(query, autoescape=True) for c in searched)))
    identifiers = string_list(item, "identifiers", limit=len(IDENTIFIERS))
    unknown = sorted(set(identifiers) - set(IDENTIFIERS))
    if unknown:
        raise ItemRefused(INVALID, f"unknown identifiers {unknown}", "identifiers")
    wanted = {"reply_address_mismatch" if i == "repy_address_mismatch" else i for i in identifiers}
    if wanted:
        # identifiers are a JSON list; a quoted match is exact and portable across databases
        where.append(
            sa.or_(*(sa.cast(t.identifiers, sa.Text).contains(f'"{i}"') for i in sorted(wanted)))
        )
    actions = string_list(item, "actions", limit=len(ACTIONS))
    unknown = sorted(set(actions) - set(ACTIONS))
    if unknown:
        raise ItemRefused(INVALID, f"unknown actions {unknown}", "actions")
    if actions:
        where.append(t.action.in_(actions))
    for field, column in (("taggedMalicious", t.tagged_malicious),
                          ("taggedExternal", t.tagged_external)):  # fmt: skip
        if item.get(field) is not None:
            where.append(column == boolean(item, field))
    return where


def _impersonation_record(r: Any) -> dict[str, Any]:
    name = r.posed_as.partition(" <")[0]
    results = [
        {
            "impersonationDomainSource": source,
            **(
                {"similarDomain": r.posed_as, "stringSimilarToDomain": name, "checkerResult": "hit"}
                if source == "internal_user_name"
                else {"stringSimilarToDomain": r.subject.split()[0].lower()}
            ),
        }
        for source in r.identifiers
    ]
    return {
        "id": r.id, "senderAddress": r.sender, "recipientAddress": r.recipient,
        "subject": r.subject, "definition": r.definition, "hits": r.hits,
        "identifiers": list(r.identifiers), "action": r.action,
        "taggedExternal": r.tagged_external, "taggedMalicious": r.tagged_malicious,
        "senderIpAddress": r.sender_ip, "eventTime": format_time(r.event_time),
        "impersonationResults": results, "messageId": r.message_id,
    }  # fmt: skip


def get_impersonation_logs(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Impersonation Protect logs between two dates, searched and filtered, paged; the first item
    also counts every match (``resultCount``)."""

    def handle(item: Item) -> FunctionResult:
        window = log_window(ctx.request.pagination, item, "ttp-impersonation-logs", ctx.now)
        start, end, now = window.start, window.end, window.now
        scope, oldest_first = window.scope, window.oldest_first
        t = impersonation_logs.c
        stmt = sa.select(impersonation_logs).where(
            t.account_id == ctx.account.id,
            t.event_time >= start,
            t.event_time <= end,
            *_impersonation_filters(item),
        )
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.event_time, t.seq], request=ctx.request.pagination,
                scope=scope, descending=not oldest_first, anchor=now, total=True,
            )  # fmt: skip
        logs = [_impersonation_record(r) for r in found.rows]
        return FunctionResult(
            data=[{"resultCount": found.pagination.total_count, "impersonationLogs": logs}],
            pagination=found.pagination,
        )

    return run_single(ctx, handle)


_WINDOW = {"from": DATE, "to": DATE, "oldestFirst": BOOL}

SPECS = (
    FunctionSpec(
        path="/api/ttp/attachment/get-logs",
        handler=get_attachment_logs,
        summary="Attachment Protect logs between two dates, paged",
        permission=ATTACHMENT_READ,
        read_only=True,
        request_schema=obj({**_WINDOW, "route": enum(*_ROUTES), "result": enum(*RESULTS)}),
        response_schema=obj({"attachmentLogs": array(ATTACHMENT_LOG)}, "attachmentLogs"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/ttp/impersonation/get-logs",
        handler=get_impersonation_logs,
        summary="Impersonation Protect logs between two dates, searched and filtered, paged",
        permission=IMPERSONATION_READ,
        read_only=True,
        request_schema=obj(
            {
                **_WINDOW,
                "searchField": enum(*SEARCH_FIELDS),
                "query": STR,
                "identifiers": array(enum(*IDENTIFIERS)),
                "actions": array(enum(*ACTIONS)),
                "taggedMalicious": BOOL,
                "taggedExternal": BOOL,
            }
        ),
        response_schema=obj(
            {"resultCount": INT, "impersonationLogs": array(IMPERSONATION_LOG)},
            "resultCount",
            "impersonationLogs",
        ),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
)
