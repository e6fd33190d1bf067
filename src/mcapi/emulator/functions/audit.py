"""``/api/audit/get-audit-events`` (paged audit log) and ``/api/audit/get-siem-logs`` (files)."""

from __future__ import annotations

import sqlalchemy as sa

from mcapi.emulator._data import (
    AUDIT_CATEGORIES,
    _siem_plan,
    audit_events,
)
from mcapi.emulator.functions import _siem
from mcapi.emulator.functions._common import (
    INVALID,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    boolean,
    choice,
    format_time,
    optional_text,
    parse_time,
    run_single,
    string_list,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, page, walk_now
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, STR, array, enum, obj
from mcapi.emulator.functions._siem_rest import load_stream, present_types
from mcapi.emulator.functions._siem_ttp import ttp_records

__all__ = ["LOOKBACK_DAYS", "SPECS"]

LOOKBACK_DAYS = 60
SIEM_TOKEN_HEADER = "mc-siem-token"

EVENT = obj(
    {
        "id": STR,
        "auditType": STR,
        "user": STR,
        "eventTime": DATE,
        "eventInfo": STR,
        "category": STR,
    },
    "id",
    "auditType",
    "user",
    "eventTime",
    "eventInfo",
    "category",
)


def get_audit_events(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Audit events between two dates (at most 60 days back), newest first, paged."""

    def handle(item: Item) -> FunctionResult:
        start = parse_time(item, "startDateTime")
        end = parse_time(item, "endDateTime")
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "endDateTime is before startDateTime", "endDateTime")
        # the look-back is counted from the walk's first page, so that a walk started in time
        # is not cut off by the clock moving on
        now = walk_now(ctx.request.pagination, "audit-events", ctx.now)
        if start < now - LOOKBACK_DAYS * 86400:
            raise ItemRefused(
                OUT_OF_RANGE,
                f"startDateTime is more than {LOOKBACK_DAYS} days ago; the audit log "
                f"can be searched {LOOKBACK_DAYS} days back",
                "startDateTime",
            )
        query = optional_text(item, "query", max_length=200)
        categories = string_list(item, "categories", limit=len(AUDIT_CATEGORIES))
        unknown = sorted(set(categories) - set(AUDIT_CATEGORIES))
        if unknown:
            raise ItemRefused(
                INVALID,
                f"unknown categories {unknown}; known: {', '.join(AUDIT_CATEGORIES)}",
                "categories",
            )
        t = audit_events.c
        stmt = sa.select(audit_events).where(
            t.account_id == ctx.account.id, t.event_time >= start, t.event_time <= end
        )
        if categories:
            stmt = stmt.where(t.category.in_(categories))
        if query:
            needle = query.lower()
            stmt = stmt.where(
                sa.or_(
                    *(
                        sa.func.lower(column).contains(needle, autoescape=True)
                        for column in (t.audit_type, t.event_info, t.user)
                    )
                )
            )
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.event_time, t.seq], request=ctx.request.pagination,
                scope="audit-events", descending=True, anchor=now,
            )  # fmt: skip
        data = [
            {
                "id": row.id,
                "auditType": row.audit_type,
                "user": row.user,
                "eventTime": format_time(row.event_time),
                "eventInfo": row.event_info,
                "category": row.category,
            }
            for row in found.rows
        ]
        return FunctionResult(data=data, pagination=found.pagination)

    return run_single(ctx, handle)


def get_siem_logs(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The next SIEM log file after ``token`` (the oldest kept one without), streamed: one log
    type per file, as the platform hands them out."""

    def handle(item: Item) -> FunctionResult | StreamResult:
        choice(item, "type", ("MTA",), default="MTA")
        file_format = choice(item, "fileFormat", ("key_value", "json"), default="key_value")
        compress = boolean(item, "compress")
        token = optional_text(item, "token", max_length=200) or None
        now = ctx.now
        stream = _stream(ctx)
        last = _siem.last_produced_slot(now)
        first = (_siem.first_kept_slot(now), 0)
        if token is not None:
            named = _siem.decode_token(token, ctx.account.id)
            if named is None or named[0] < _siem.first_kept_slot(now) or named[0] > last:
                raise ItemRefused(
                    "err_audit_siem_invalid_token",
                    "The SIEM token is invalid or its log file is no longer kept",
                    "token",
                )
            first = (named[0], named[1] + 1)
        found = None
        if stream is not None:
            if first[0] < stream.start_slot:
                first = (stream.start_slot, 0)
            found = _siem.next_file(first, last, lambda slot: _present(ctx, stream, slot))
        if stream is None or found is None:
            headers = {SIEM_TOKEN_HEADER: token} if token else None
            return FunctionResult(extra_meta={"isLastToken": True}, headers=headers)
        slot, index = found
        log_type = _siem.LOG_TYPES[index]
        if log_type in _siem_plan.TTP_TYPES:
            records = ttp_records(
                ctx.store, ctx.account.id, ctx.account.account_code, log_type, slot
            )
        else:
            records = _siem.mta_records(stream, slot, log_type)
        name = _siem.file_name(slot, log_type, file_format, compress)
        return StreamResult(
            chunks=_siem.file_chunks(records, slot, log_type, file_format, compress),
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                SIEM_TOKEN_HEADER: _siem.encode_token(ctx.account.id, slot, index),
            },
        )

    return run_single(ctx, handle)


def _present(ctx: FunctionContext, stream: _siem.SiemStream, slot: int) -> list[str]:
    """The log types the slot has a file of: its MTA types, and the TTP types with rows."""
    return present_types(ctx.store, stream, slot)


def _stream(ctx: FunctionContext) -> _siem.SiemStream | None:
    return load_stream(ctx.store, ctx.account)


SPECS = (
    FunctionSpec(
        path="/api/audit/get-audit-events",
        handler=get_audit_events,
        summary="Audit events between two dates, newest first (60 days back at most)",
        permission="Account | Logs | Read",
        read_only=True,
        request_schema=obj(
            {
                "startDateTime": DATE,
                "endDateTime": DATE,
                "query": STR,
                "categories": array(enum(*AUDIT_CATEGORIES)),
            },
            "startDateTime",
            "endDateTime",
        ),
        response_schema=EVENT,
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/audit/get-siem-logs",
        handler=get_siem_logs,
        summary="The next SIEM log file (one log type per file, 30-minute files, kept 7 days)",
        permission="Gateway | Tracking | Read",
        read_only=True,
        request_schema=obj(
            {
                "type": enum("MTA"),
                "token": STR,
                "fileFormat": enum("key_value", "json"),
                "compress": BOOL,
            }
        ),
        response_schema=obj({}),
        max_items=1,
        streams=True,
    ),
)
