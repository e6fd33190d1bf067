"""Held messages: ``/api/gateway/get-hold-message-list``, ``hold-release``, ``hold-reject``, and
their counts by hold reason, ``/api/gateway/get-hold-summary-list``.

Releasing or rejecting is a state change that happens once: doing it again to the same message
is a conflict (``err_hold_already_processed``). Following the rule of ``_common``, a call that
names one message answers 409; a call that names several answers 200 and lists the conflicting
ones in ``fail``. For hold-reject the unit is the message id: an item carrying ``ids: [a, b]``
where ``b`` was already processed gives ``a`` in ``data`` and a ``fail`` entry whose ``key`` is
the item narrowed to ``ids: [b]``, which the client can resend as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import held_messages, messages, record_audit
from mcapi.emulator.functions._common import (
    INVALID,
    NOT_FOUND,
    OUT_OF_RANGE,
    Item,
    ItemConflict,
    ItemRefused,
    ItemResults,
    boolean,
    choice,
    format_time,
    nested,
    optional_text,
    over_limit,
    parse_time,
    required_text,
    run_items,
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
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, enum, obj

__all__ = ["SPECS"]

_EDIT = "Account | Monitoring | Held | Edit"
_MAX_ITEMS = 100
MAX_IDS = 100
ALREADY_PROCESSED = "err_hold_already_processed"
REJECT_REASONS = (
    "MESSAGE_CONTAINS_UNDESIRABLE_CONTENT",
    "MESSAGE_CONTAINS_CONFIDENTIAL_INFORMATION",
    "REVIEWER_DISAPPROVES_OF_CONTENT",
    "INAPPROPRIATE_COMMUNICATION",
    "MESSAGE_GOES_AGAINST_EMAIL_POLICIES",
)
_SEARCH_FIELDS = {"subject": "subject", "sender": "sender", "recipient": "recipient",
                  "reason_code": "reason_code"}  # fmt: skip
_ADDRESS = obj({"emailAddress": STR, "displayableName": STR}, "emailAddress")
HELD = obj(
    {
        "id": STR,
        "reason": STR,
        "reasonCode": STR,
        "reasonId": STR,
        "dateReceived": DATE,
        "from": _ADDRESS,
        "fromHeader": _ADDRESS,
        "to": _ADDRESS,
        "subject": STR,
        "route": STR,
        "size": INT,
        "hasAttachments": BOOL,
        "policyInfo": STR,
    },
    "id",
    "reason",
    "dateReceived",
    "from",
    "to",
    "subject",
)


def get_hold_message_list(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Messages on hold, newest first; the caller's own unless ``admin`` is true. Paged."""

    def handle(item: Item) -> FunctionResult:
        admin = boolean(item, "admin")
        now = walk_now(ctx.request.pagination, "hold-list", ctx.now)
        end = parse_time(item, "end", default=now)
        start = parse_time(item, "start", default=0.0)
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
        t = held_messages.c
        stmt = sa.select(held_messages).where(
            t.account_id == ctx.account.id, t.status == "held",
            t.received >= start, t.received <= end,
        )  # fmt: skip
        if not admin:
            stmt = stmt.where(t.recipient == ctx.user.email)
        with nested("searchBy"):
            stmt = _search(stmt, item)
        for index, rule in enumerate(_filters(item)):
            with nested(f"filterBy[{index}]"):
                if choice(rule, "fieldName", ("route", "reason_code")) == "route":
                    route = choice(rule, "value", ("all", "inbound", "outbound", "internal"))
                    if route != "all":
                        stmt = stmt.where(t.route == route)
                else:
                    code = required_text(rule, "value", max_length=64).lower()
                    stmt = stmt.where(t.reason_code == code)
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.received, t.seq], request=ctx.request.pagination,
                scope="hold-list", descending=True, anchor=now,
            )  # fmt: skip
        return FunctionResult(data=[_held(r) for r in found.rows], pagination=found.pagination)

    return run_single(ctx, handle)


def _search(stmt: sa.Select[Any], item: Item) -> sa.Select[Any]:
    search_by = item.get("searchBy")
    if search_by is None:
        return stmt
    if not isinstance(search_by, Mapping):
        raise ItemRefused(INVALID, "searchBy must be an object", "searchBy")
    field = choice(search_by, "fieldName", ("all", *_SEARCH_FIELDS), default="all")
    value = optional_text(search_by, "value", max_length=200).lower()
    if not value:
        return stmt
    names = list(_SEARCH_FIELDS.values()) if field == "all" else [_SEARCH_FIELDS[field]]
    columns = [held_messages.c[name] for name in names]
    return stmt.where(sa.or_(*(sa.func.lower(c).contains(value, autoescape=True) for c in columns)))


def _filters(item: Item) -> list[Mapping[str, Any]]:
    rules = item.get("filterBy")
    if rules is None:
        return []
    if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
        raise ItemRefused(INVALID, "filterBy must be a list of {fieldName, value}", "filterBy")
    return rules


def _held(row: Any) -> dict[str, Any]:
    sender = {"emailAddress": row.sender, "displayableName": row.sender_name}
    return {
        "id": row.id,
        "reason": row.reason,
        "reasonCode": row.reason_code,
        "reasonId": row.reason_code.upper(),
        "dateReceived": format_time(row.received),
        "from": sender,
        "fromHeader": sender,
        "to": {"emailAddress": row.recipient, "displayableName": ""},
        "subject": row.subject,
        "route": row.route,
        "size": row.size,
        "hasAttachments": row.has_attachments,
        "policyInfo": row.policy_info,
    }


def _process(ctx: FunctionContext, held_id: str, status: str, note: str) -> None:
    """Move one held message to ``status`` (released / rejected), once.

    The transition is one conditional UPDATE (``... WHERE status = 'held'``): of two calls that
    process the same message at the same time, the database lets exactly one change the row (on
    PostgreSQL the second waits for the first's row lock, then finds the status changed); the
    other changes nothing and answers the conflict."""
    t = held_messages.c
    with ctx.store.begin() as conn:
        row = conn.execute(
            held_messages.update()
            .where(t.account_id == ctx.account.id, t.id == held_id, t.status == "held")
            .values(status=status, processed_at=ctx.now, processed_by=ctx.user.email)
            .returning(t.message_id, t.recipient)
        ).first()
        if row is None:
            current = conn.execute(
                sa.select(t.status).where(t.account_id == ctx.account.id, t.id == held_id)
            ).scalar()
            if current is None:
                raise ItemRefused(NOT_FOUND, f"no held message has the id {held_id}", "id")
            raise ItemConflict(ALREADY_PROCESSED, f"the message {held_id} was already {current}")
        if row.message_id is not None:
            delivered = "delivered" if status == "released" else "rejected"
            conn.execute(
                messages.update()
                .where(messages.c.account_id == ctx.account.id, messages.c.id == row.message_id)
                .values(status=delivered)
            )
        record_audit(
            conn, ctx.account.id, user=ctx.user.email,
            audit_type=f"Held Message {status.title()}", category="email_logs",
            info=f"Held message for {row.recipient} {status}{note}", now=ctx.now, app_id=ctx.app_id,
        )  # fmt: skip


def hold_release(ctx: FunctionContext) -> FunctionResult:
    """Release held messages to their recipients."""

    def handle(item: Item) -> Iterable[Any]:
        held_id = required_text(item, "id", max_length=64)
        _process(ctx, held_id, "released", "")
        return [{"id": held_id, "release": True}]

    return run_items(ctx, handle)


def hold_reject(ctx: FunctionContext) -> FunctionResult:
    """Reject held messages (``ids``), optionally notifying the sender; one result per id."""
    items = ctx.request.data or ({},)  # no items: one empty item, as run_items reads them
    refused = over_limit(ctx, items)
    if refused is not None:
        return refused
    out = ItemResults()
    units = 0
    for index, item in enumerate(items):
        injected = ctx.injected_failures.get(index)
        if injected:
            units += 1
            out.injected(dict(item), injected)
            continue
        try:
            ids = string_list(item, "ids", required=True, limit=MAX_IDS)
            if item.get("reasonType") is not None:
                choice(item, "reasonType", REJECT_REASONS)
            optional_text(item, "message", max_length=1000)
            notify = boolean(item, "notify")
        except ItemRefused as exc:
            units += 1
            out.failed(dict(item), exc)
            continue
        units += len(ids)
        note = " (sender notified)" if notify else ""
        for held_id in ids:
            try:
                _process(ctx, held_id, "rejected", note)
            except ItemRefused as exc:
                out.failed({**item, "ids": [held_id]}, exc)
            else:
                out.ok({"id": held_id, "reject": True})
    return out.result(units=units)


def get_hold_summary_list(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """How many messages of the account are on hold, per hold reason (``policyInfo``), most
    first. Counted from the hold list itself, so releasing or rejecting one lowers its count."""

    def handle(item: Item) -> FunctionResult:
        t = held_messages.c
        count = sa.func.count().label("n")
        stmt = (
            sa.select(t.policy_info, count)
            .where(t.account_id == ctx.account.id, t.status == "held")
            .group_by(t.policy_info)
            .order_by(count.desc(), t.policy_info)
        )
        with ctx.store.connect() as conn:
            rows = conn.execute(stmt).all()
        return FunctionResult(
            data=[{"policyInfo": policy, "numberOfItems": int(n)} for policy, n in rows]
        )

    return run_single(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/gateway/get-hold-message-list",
        handler=get_hold_message_list,
        summary="Messages on hold, newest first (the caller's own unless admin), paged",
        permission="Account | Dashboard | Read",
        read_only=True,
        request_schema=obj(
            {
                "admin": BOOL,
                "start": DATE,
                "end": DATE,
                "searchBy": obj(
                    {
                        "fieldName": enum("all", "subject", "sender", "recipient", "reason_code"),
                        "value": STR,
                    }
                ),
                "filterBy": array(
                    obj({"fieldName": enum("route", "reason_code"), "value": STR}, "fieldName")
                ),
            }
        ),
        response_schema=HELD,
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/gateway/get-hold-summary-list",
        handler=get_hold_summary_list,
        summary="Counts of the messages on hold, per hold reason (policyInfo), most first",
        permission="Account | Dashboard | Read",
        read_only=True,
        request_schema=obj({}),
        response_schema=obj(
            {"policyInfo": STR, "numberOfItems": INT}, "policyInfo", "numberOfItems"
        ),
        max_items=1,
    ),
    FunctionSpec(
        path="/api/gateway/hold-release",
        handler=hold_release,
        summary="Release held messages (409 when the one message named was already processed)",
        permission=_EDIT,
        read_only=False,
        request_schema=obj({"id": STR}, "id"),
        response_schema=obj({"id": STR, "release": BOOL}, "id", "release"),
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/gateway/hold-reject",
        handler=hold_reject,
        summary="Reject held messages (409 when the one message named was already processed)",
        permission=_EDIT,
        read_only=False,
        request_schema=obj(
            {
                "ids": array(STR),
                "message": STR,
                "reasonType": enum(*REJECT_REASONS),
                "notify": BOOL,
            },
            "ids",
        ),
        response_schema=obj({"id": STR, "reject": BOOL}, "id", "reject"),
        max_items=_MAX_ITEMS,
    ),
)
