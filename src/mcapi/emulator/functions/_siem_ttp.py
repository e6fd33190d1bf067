"""The TTP SIEM files (``ttp_url``, ``ttp_ap``, ``ttp_ip``): the click, attachment and
impersonation rows of one 30-minute slot, as SIEM records.

Rows are read in batches of 100 on the ``(time, seq)`` keyset, each batch on its own short-lived
connection, so that streaming a file holds neither a transaction nor more than one batch.
Field names follow real SIEM records of these types (see docs/functions.md, get-siem-logs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mcapi.emulator._data._siem_plan import SLOT_SECONDS, ttp_column
from mcapi.emulator.functions._siem import when

if TYPE_CHECKING:
    from mcapi.emulator._store import Store

__all__ = ["ttp_records"]

_BATCH = 100


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _url(row: Any, account_code: str) -> dict[str, Any]:
    return {
        "datetime": when(row.date), "acc": account_code, "reason": row.scan_result,
        "url": row.url, "route": row.route, "sourceIp": row.sending_ip,
        "sender": row.from_user_email, "senderDomain": row.from_user_email.rpartition("@")[2],
        "recipient": row.user_email, "urlCategory": row.category, "action": row.action,
    }  # fmt: skip


def _attachment(row: Any, account_code: str) -> dict[str, Any]:
    return {
        "datetime": when(row.date), "acc": account_code, "fileName": row.file_name,
        "sha256": row.sha256, "Size": row.file_size, "IP": row.sender_ip,
        "Recipient": row.recipient, "SenderDomain": row.sender.rpartition("@")[2],
        "fileExt": row.file_name.rpartition(".")[2], "fileMime": row.file_type,
        "Sender": row.sender, "Route": row.route.title(), "sha1": row.sha1, "md5": row.md5,
        "Subject": row.subject, "MsgId": row.message_id,
    }  # fmt: skip


def _impersonation(row: Any, account_code: str) -> dict[str, Any]:
    found = set(row.identifiers)
    return {
        "datetime": when(row.event_time), "aCode": row.id[3:25], "acc": account_code,
        "Subject": row.subject, "MsgId": row.message_id, "Sender": row.sender,
        "Recipient": row.recipient, "Route": row.route.title(), "Action": row.action.title(),
        "Definition": row.definition, "Hits": str(row.hits), "IP": row.sender_ip,
        "TaggedExternal": _flag(row.tagged_external),
        "TaggedMalicious": _flag(row.tagged_malicious),
        "NewDomain": _flag("newly_observed_domain" in found),
        "InternalName": _flag("internal_user_name" in found),
        "ReplyMismatch": _flag("reply_address_mismatch" in found),
        "ThreatDictionary": _flag("targeted_threat_dictionary" in found),
        "SimilarInternalDomain": _flag("similar_internal_domain" in found),
        "CustomThreatDictionary": "false", "CustomName": "false",
        "SimilarCustomExternalDomain": "false", "SimilarMimecastExternalDomain": "false",
    }  # fmt: skip


_SHAPES = {"ttp_url": _url, "ttp_ap": _attachment, "ttp_ip": _impersonation}


def ttp_records(
    store: Store, account_id: int, account_code: str, log_type: str, slot: int
) -> Iterator[dict[str, Any]]:
    """The records of one TTP file, oldest first, read in batches as the file streams."""
    table, moment = ttp_column(log_type)
    shape = _SHAPES[log_type]
    start, end = slot * SLOT_SECONDS, (slot + 1) * SLOT_SECONDS
    after: tuple[float, int] | None = None
    while True:
        stmt = sa.select(table).where(
            table.c.account_id == account_id, moment >= start, moment < end
        )
        if after is not None:
            stmt = stmt.where(sa.tuple_(moment, table.c.seq) > sa.tuple_(*after))
        with store.connect() as conn:
            rows = conn.execute(stmt.order_by(moment, table.c.seq).limit(_BATCH)).all()
        for row in rows:
            yield shape(row, account_code)
        if len(rows) < _BATCH:
            return
        after = (getattr(rows[-1], moment.name), rows[-1].seq)
