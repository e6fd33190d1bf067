"""Threat remediation: ``/api/ttp/remediation/create``, ``get-incident`` and ``search-hash``.

Theory of operation
-------------------
An incident searches the archive (``messages``) between ``start`` and ``end`` for the messages
that carry a file hash (an attachment's SHA-256, SHA-1 or MD5, from ``message_attachments``) or
that have a ``Message-ID``, and removes them from the mailboxes. Each message it identified gets
a ``remediation_messages`` row: ``removed`` when this incident took it out, ``failed`` when an
earlier incident already had (the emulator's reading of "failed to remediate"; incidents of one
account are created one at a time, so a message is removed once). So ``identified
= successful + failed``, the counts get-incident reports are those of the rows, and a second
incident over the same message shows it as failed. Restoring is not emulated: ``restored`` is 0.

search-hash answers, for each well-formed hash, whether any message of the account received in
the last 365 days of the emulator clock carries it; malformed ones are listed in
``failedHashes``, as the platform documents.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data import (
    message_attachments,
    messages,
    new_id,
    record_audit,
    remediation_incidents,
    remediation_messages,
)
from mcapi.emulator._store._schema import accounts
from mcapi.emulator.functions._common import (
    INVALID,
    NOT_FOUND,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    choice,
    format_time,
    parse_time,
    required_text,
    run_items,
    run_single,
    string_list,
)
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, enum, obj

__all__ = ["SPECS", "is_hash"]

_READ = "Services | Threat Remediation | Read"
_EDIT = "Services | Threat Remediation | Edit"
_MAX_ITEMS = 100
MAX_HASHES = 100
SEARCH_BY = ("hash", "messageId")
#: How far back create searches without ``start`` ("one month back"), and search-hash looks.
REMEDIATION_WINDOW = 30 * 86400
HASH_LOOKBACK = 365 * 86400
_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$")

INCIDENT = obj(
    {
        "id": STR,
        "code": STR,
        "type": enum("notify_only", "automatic", "manual", "restored"),
        "reason": STR,
        "identified": INT,
        "successful": INT,
        "failed": INT,
        "restored": INT,
        "create": DATE,
        "modified": DATE,
        "searchCriteria": obj(
            {
                "start": DATE,
                "end": DATE,
                "fileHash": STR,
                "messageId": STR,
                "from": STR,
                "to": STR,
                "restoreCode": STR,
                "unremediateCode": STR,
            },
            "start",
            "end",
        ),
    },
    "id",
    "code",
    "type",
    "reason",
    "identified",
    "successful",
    "failed",
    "restored",
    "create",
    "modified",
    "searchCriteria",
)


def is_hash(value: str) -> bool:
    """An MD5, SHA-1 or SHA-256 in hex (either case)."""
    return bool(_HASH.match(value.lower()))


def _short(incident_id: str, purpose: str) -> str:
    return hashlib.sha256(f"{purpose}:{incident_id}".encode()).hexdigest()[:10].upper()


def _record(row: Any, counts: dict[str, int]) -> dict[str, Any]:
    criteria: dict[str, Any] = {"start": format_time(row.start), "end": format_time(row.end)}
    if row.search_by == "hash":
        criteria["fileHash"] = row.value
    else:
        criteria["messageId"] = row.value
    if row.sender:
        criteria["from"] = row.sender
    if row.recipient:
        criteria["to"] = row.recipient
    criteria["restoreCode"] = _short(row.id, "restore")
    criteria["unremediateCode"] = _short(row.id, "unremediate")
    removed, failed = counts.get("removed", 0), counts.get("failed", 0)
    return {
        "id": row.id,
        "code": row.code,
        "type": row.type,
        "reason": row.reason,
        "identified": removed + failed,
        "successful": removed,
        "failed": failed,
        "restored": 0,
        "create": format_time(row.created),
        "modified": format_time(row.modified),
        "searchCriteria": criteria,
    }


def _counts(conn: Connection, incident_id: str) -> dict[str, int]:
    t = remediation_messages.c
    rows = conn.execute(
        sa.select(t.status, sa.func.count()).where(t.incident_id == incident_id).group_by(t.status)
    )
    return {status: int(n) for status, n in rows}


def _parse_create(ctx: FunctionContext, item: Item) -> dict[str, Any]:
    reason = required_text(item, "reason", max_length=500)
    search_by = choice(item, "searchBy", SEARCH_BY, default="hash")
    value = required_text(item, "hashOrMessageId", max_length=998)
    if search_by == "hash":
        if not is_hash(value):
            raise ItemRefused(
                INVALID, "hashOrMessageId must be an MD5, SHA-1 or SHA-256 hash", "hashOrMessageId"
            )
        value = value.lower()
    elif not (value.startswith("<") and value.endswith(">")):
        raise ItemRefused(
            INVALID,
            "hashOrMessageId must be a Message-ID with its '<' '>' delimiters",
            "hashOrMessageId",
        )
    end = parse_time(item, "end", default=ctx.now)
    start = parse_time(item, "start", default=ctx.now - REMEDIATION_WINDOW)
    if end < start:
        raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
    return {"reason": reason, "search_by": search_by, "value": value, "start": start, "end": end}


def _identified(
    conn: Connection, account_id: int, search_by: str, value: str, start: float, end: float
) -> list[Any]:
    """The messages an incident names: ``(id, sender, recipients)``, oldest first."""
    m = messages.c
    stmt = sa.select(m.id, m.sender, m.recipients).where(
        m.account_id == account_id, m.received >= start, m.received <= end
    )
    if search_by == "hash":
        a = message_attachments.c
        carrying = sa.select(a.message_id).where(
            a.account_id == account_id,
            sa.or_(a.sha256 == value, a.sha1 == value, a.md5 == value),
        )
        stmt = stmt.where(m.id.in_(carrying))
    else:
        stmt = stmt.where(m.message_id == value)
    return list(conn.execute(stmt.order_by(m.received, m.seq)))


def create(ctx: FunctionContext) -> FunctionResult:
    """Create remediation incidents: remove the messages that match from the mailboxes."""

    def handle(item: Item) -> Iterable[Any]:
        fields = _parse_create(ctx, item)
        incident_id = new_id()
        with ctx.store.begin() as conn:
            # One incident at a time per account: lock the account's row (FOR UPDATE; SQLite's
            # BEGIN IMMEDIATE already serialises writers), then read which messages are already
            # removed, so two incidents racing over one message cannot both remove it.
            conn.execute(
                sa.select(accounts.c.id).where(accounts.c.id == ctx.account.id).with_for_update()
            )
            found = _identified(
                conn, ctx.account.id, fields["search_by"], fields["value"], fields["start"],
                fields["end"],
            )  # fmt: skip
            ids = [r.id for r in found]
            r = remediation_messages.c
            already = set(
                conn.execute(
                    sa.select(r.message_id).where(
                        r.account_id == ctx.account.id, r.status == "removed", r.message_id.in_(ids)
                    )
                ).scalars()
            )
            first = found[0] if found and fields["search_by"] == "messageId" else None
            row = conn.execute(
                remediation_incidents.insert()
                .values(
                    id=incident_id, account_id=ctx.account.id,
                    code=f"TR-{ctx.account.account_code}-{_short(incident_id, 'code')[:6]}",
                    type="manual", created=ctx.now, modified=ctx.now,
                    created_by=ctx.user.email,
                    sender=first.sender if first else "",
                    recipient=(first.recipients or [""])[0] if first else "",
                    **fields,
                )
                .returning(*remediation_incidents.c)
            ).one()  # fmt: skip
            if ids:
                conn.execute(
                    remediation_messages.insert(),
                    [
                        {
                            "incident_id": incident_id, "account_id": ctx.account.id,
                            "message_id": mid,
                            "status": "failed" if mid in already else "removed",
                        }
                        for mid in ids
                    ],
                )  # fmt: skip
            record_audit(
                conn, ctx.account.id, user=ctx.user.email,
                audit_type="Remediation Incident Created", category="ttp_logs", now=ctx.now,
                info=f"Remediation incident {row.code} created by {fields['search_by']} "
                f"{fields['value']}: {len(ids)} message(s) identified",
            )  # fmt: skip
            counts = _counts(conn, incident_id)
        return [_record(row, counts)]

    return run_items(ctx, handle)


def get_incident(ctx: FunctionContext) -> FunctionResult:
    """Remediation incidents by id, with their counts."""

    def handle(item: Item) -> Iterable[Any]:
        incident_id = required_text(item, "id", max_length=64)
        t = remediation_incidents.c
        with ctx.store.connect() as conn:
            row = conn.execute(
                sa.select(remediation_incidents).where(
                    t.account_id == ctx.account.id, t.id == incident_id
                )
            ).first()
            if row is None:
                raise ItemRefused(
                    NOT_FOUND, f"no remediation incident has the id {incident_id}", "id"
                )
            counts = _counts(conn, incident_id)
        return [_record(row, counts)]

    return run_items(ctx, handle)


def search_hash(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Which file hashes the account's mail of the last year carried."""

    def handle(item: Item) -> FunctionResult:
        submitted = string_list(item, "hashes", required=True, limit=MAX_HASHES)
        wanted = list(dict.fromkeys(submitted))
        good = [h for h in wanted if is_hash(h)]
        seen: set[str] = set()
        if good:
            lowered = {h.lower() for h in good}
            a, m = message_attachments.c, messages.c
            recent = sa.select(m.id).where(
                m.account_id == ctx.account.id, m.received >= ctx.now - HASH_LOOKBACK
            )
            with ctx.store.connect() as conn:
                for column in (a.sha256, a.sha1, a.md5):
                    seen.update(
                        conn.execute(
                            sa.select(column)
                            .distinct()
                            .where(
                                a.account_id == ctx.account.id,
                                column.in_(lowered),
                                a.message_id.in_(recent),
                            )
                        ).scalars()
                    )
        record = {
            "hashStatus": [{"hash": h, "detected": h.lower() in seen} for h in good],
            "failedHashes": [h for h in wanted if not is_hash(h)],
        }
        return FunctionResult(data=[record])

    return run_single(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/ttp/remediation/create",
        handler=create,
        summary="Create remediation incidents: remove the messages carrying a file hash or "
        "Message-ID from the mailboxes",
        permission=_EDIT,
        read_only=False,
        request_schema=obj(
            {
                "reason": STR,
                "searchBy": enum(*SEARCH_BY),
                "hashOrMessageId": STR,
                "start": DATE,
                "end": DATE,
            },
            "reason",
            "hashOrMessageId",
        ),
        response_schema=INCIDENT,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/ttp/remediation/get-incident",
        handler=get_incident,
        summary="Remediation incidents by id, with how many messages each identified and removed",
        permission=_READ,
        read_only=True,
        request_schema=obj({"id": STR}, "id"),
        response_schema=INCIDENT,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/ttp/remediation/search-hash",
        handler=search_hash,
        summary="Whether the account's mail of the last year carried each file hash",
        permission=_READ,
        read_only=True,
        request_schema=obj({"hashes": array(STR)}, "hashes"),
        response_schema=obj(
            {
                "hashStatus": array(obj({"hash": STR, "detected": BOOL}, "hash", "detected")),
                "failedHashes": array(STR),
            },
            "hashStatus",
            "failedHashes",
        ),
        max_items=1,
    ),
)
