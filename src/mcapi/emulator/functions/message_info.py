"""``/api/message-finder/get-message-info``: the tracking detail of one message found by
``message-finder/search``.

The detail is derived from the state the other functions change: the message row (its status moves
when a held copy is released or rejected), its hold entry (``queueInfo``, ``releaseInfo``), the
blocked-sender policy that rejected it (``blocked_sender_verdicts``) and the tenant's retention.
Nothing here is stored twice, so the detail never disagrees with search, the hold list or the
archive.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data import (
    blocked_sender_policies,
    blocked_sender_verdicts,
    get_profile,
    held_messages,
    messages,
)
from mcapi.emulator.functions._common import (
    NOT_FOUND,
    Item,
    ItemRefused,
    format_time,
    required_text,
    run_items,
)
from mcapi.emulator.functions._registry import FunctionContext, FunctionResult, FunctionSpec
from mcapi.emulator.functions._schemas import BOOL, DATE, INT, STR, array, obj

__all__ = ["SPECS"]

_MAX_ITEMS = 100
_DAY = 86400.0
#: The tracking status of each message status (a delivered message is reported as archived).
STATUS = {"delivered": "archived", "held": "held", "rejected": "rejected", "bounced": "bounced"}
_RECEIPT = {
    "delivered": "Email Received",
    "held": "Email Received - Held for review",
    "rejected": "Email Rejected",
    "bounced": "Email Received",
}
_ROUTE_POLICIES = {
    "inbound": (
        ("Spam Scanning", "Relaxed Spam Detection"),
        ("URL Protection", "Default Inbound URL Protect Definition"),
        ("Attachment Protection", "Default Inbound Attachment Protect Definition"),
    ),
    "outbound": (("Secure Delivery", "Opportunistic TLS"),),
    "internal": (("Journaling", "Default Journal Definition"),),
}

_COMPONENT = obj(
    {"type": STR, "name": STR, "extension": STR, "mimeType": STR, "size": INT, "hash": STR},
    "type", "name", "size", "hash",
)  # fmt: skip
_POLICY = obj({"policyType": STR, "policyName": STR, "inherited": BOOL}, "policyType")
_MESSAGE_INFO = obj(
    {
        "fromHeader": STR, "fromEnvelope": STR, "to": array(STR), "cc": array(STR),
        "subject": STR, "sent": DATE, "processed": DATE, "transmissionInfo": STR, "route": STR,
    },
    "fromHeader", "fromEnvelope", "to", "subject", "sent", "processed",
)  # fmt: skip
_META = {
    "messageExpiresIn": INT, "processingServer": STR, "transmissionSize": INT, "remoteIp": STR,
    "remoteHost": STR, "remoteServerGreeting": STR, "receiptAcknowledgement": STR,
    "transmissionStart": DATE, "transmissionEnd": DATE, "encryptionInfo": STR,
    "components": array(_COMPONENT),
}  # fmt: skip
MESSAGE_INFO = obj(
    {
        "id": STR,
        "status": STR,
        "recipientInfo": obj(
            {
                "messageInfo": _MESSAGE_INFO,
                "recipientMetaInfo": obj(
                    {**_META, "receiptEvent": STR, "spamEvent": STR, "binaryEmailSize": INT},
                    "receiptEvent",
                ),
                "policyInfo": array(_POLICY),
            },
            "messageInfo",
            "recipientMetaInfo",
        ),
        "deliveredMessage": {
            "type": "object",
            "description": "one entry per recipient the message was delivered to",
            "additionalProperties": obj(
                {
                    "messageInfo": _MESSAGE_INFO,
                    "policyInfo": array(_POLICY),
                    "deliveryMetaInfo": obj(
                        {**_META, "deliveryEvent": STR, "emailAddress": STR}, "deliveryEvent"
                    ),
                },
                "messageInfo",
                "deliveryMetaInfo",
            ),
        },
        "retentionInfo": obj(
            {
                "currentPurgeDate": DATE,
                "purgeBasedOn": STR,
                "originalPurgeDate": DATE,
                "retentionAdjustmentDays": INT,
                "litigationHoldInfo": array(STR),
                "fbrStamps": array(STR),
                "smartTags": array(STR),
                "fbrExpireCheck": array(STR),
                "audits": array(STR),
            },
            "currentPurgeDate",
            "originalPurgeDate",
        ),
        "spamInfo": obj(
            {"spamScore": INT, "detectionLevel": STR, "spamProcessingDetail": {"type": "object"}},
            "spamScore",
        ),
        "queueInfo": obj(
            {
                "reason": STR,
                "reasonCode": STR,
                "policyInfo": STR,
                "dateReceived": DATE,
                "status": STR,
            },
            "reason",
            "status",
        ),
        "releaseInfo": obj({"action": STR, "by": STR, "date": DATE}, "action"),
    },
    "id",
    "status",
    "recipientInfo",
    "deliveredMessage",
    "retentionInfo",
    "spamInfo",
)


def _hash(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _components(row: Any) -> list[dict[str, Any]]:
    body = max(1, row.size - sum(int(a.get("size", 0)) for a in row.attachments))
    parts = [
        ("Email Transmission File", "transmission.eml", "eml", "message/rfc822-stubbed", row.size),
        ("Email Primary Body HTML", "body.htm", "htm", "text/html", body),
    ]
    for attachment in row.attachments:
        name = str(attachment.get("filename", "attachment"))
        parts.append(("File", name, name.rpartition(".")[2], str(attachment.get("contentType")),
                      int(attachment.get("size", 0))))  # fmt: skip
    return [
        {"type": kind, "name": name, "extension": ext, "mimeType": mime, "size": size,
         "hash": _hash(row.id, name)}
        for kind, name, ext, mime, size in parts
    ]  # fmt: skip


def _message_info(row: Any) -> dict[str, Any]:
    return {
        "fromHeader": row.sender,
        "fromEnvelope": row.sender,
        "to": list(row.recipients),
        "cc": [],
        "subject": row.subject,
        "sent": format_time(row.received),
        "processed": format_time(row.received),
        "transmissionInfo": "",
        "route": row.route,
    }


def _transmission(row: Any, ctx: FunctionContext, expires_in: int) -> dict[str, Any]:
    """What the receiving (or delivering) connection looked like."""
    remote = row.sender.rpartition("@")[2] if row.route == "inbound" else "internal.mail"
    return {
        "messageExpiresIn": expires_in,
        "processingServer": f"{ctx.account.region.lower()}-mta-1.mimecast.lan",
        "transmissionSize": row.size,
        "remoteIp": row.sender_ip,
        "remoteHost": f"mail.{remote}",
        "remoteServerGreeting": f"EHLO mail.{remote}",
        "receiptAcknowledgement": "250 Received OK",
        "transmissionStart": format_time(row.received - 2),
        "transmissionEnd": format_time(row.received),
        "encryptionInfo": "TLS",
        "components": _components(row),
    }


def _policies(route: str) -> list[dict[str, Any]]:
    return [
        {"policyType": kind, "policyName": name, "inherited": False}
        for kind, name in _ROUTE_POLICIES.get(route, ())
    ]


def _detail(ctx: FunctionContext, conn: Connection, row: Any) -> dict[str, Any]:
    profile = get_profile(conn, ctx.account.id)
    purge = row.received + profile.max_retention_days * _DAY
    expires_in = max(0, math.ceil((purge - ctx.now) / _DAY))
    meta = _transmission(row, ctx, expires_in)
    receipt = {
        **meta,
        "receiptEvent": _RECEIPT.get(row.status, "Email Received"),
        "spamEvent": "na" if row.spam_score < 5 else "Spam Signature",
        "binaryEmailSize": row.size,
    }
    recipient_info: dict[str, Any] = {
        "messageInfo": _message_info(row),
        "recipientMetaInfo": receipt,
        "policyInfo": [],
    }
    blocked = conn.execute(
        sa.select(blocked_sender_policies.c.description)
        .join(
            blocked_sender_verdicts,
            blocked_sender_verdicts.c.policy_id == blocked_sender_policies.c.id,
        )
        .where(blocked_sender_verdicts.c.message_id == row.id)
    ).scalar()
    if blocked is not None:
        receipt["receiptEvent"] = "Email Rejected - Blocked Sender"
        recipient_info["policyInfo"] = [
            {"policyType": "Blocked Senders", "policyName": blocked, "inherited": False}
        ]
    delivered: dict[str, Any] = {}
    if row.status in ("delivered", "bounced"):
        event = "Email Delivered" if row.status == "delivered" else "Email Bounced - Hard Bounce"
        for address in row.recipients:
            delivered[address] = {
                "messageInfo": _message_info(row),
                "policyInfo": _policies(row.route),
                "deliveryMetaInfo": {**meta, "deliveryEvent": event, "emailAddress": address},
            }
    detail: dict[str, Any] = {
        "id": row.id,
        "status": STATUS.get(row.status, row.status),
        "recipientInfo": recipient_info,
        "deliveredMessage": delivered,
        "retentionInfo": {
            "currentPurgeDate": format_time(purge),
            "purgeBasedOn": "original",
            "originalPurgeDate": format_time(purge),
            "retentionAdjustmentDays": 0,
            "litigationHoldInfo": [],
            "fbrStamps": [],
            "smartTags": [],
            "fbrExpireCheck": [],
            "audits": [],
        },
        "spamInfo": _spam(row),
    }
    _hold(conn, row, detail)
    return detail


def _spam(row: Any) -> dict[str, Any]:
    suspicious = row.spam_score >= 5
    check = {"allow": not suspicious, "info": "fail" if suspicious else "pass"}
    return {
        "spamScore": row.spam_score,
        "detectionLevel": "relaxed",
        "spamProcessingDetail": {
            "rbl": {"allow": True, "info": ""}, "greyEmail": False, "spf": check,
            "dkim": check, "dmarc": check, "permittedSender": {"allow": True, "info": "none"},
            "managedSender": {"allow": True, "info": "unknown"},
        },
    }  # fmt: skip


def _hold(conn: Connection, row: Any, detail: dict[str, Any]) -> None:
    """``queueInfo`` (and ``releaseInfo`` once an administrator acted) from the hold entry."""
    h = held_messages.c
    held = conn.execute(
        sa.select(held_messages).where(h.message_id == row.id).order_by(h.seq.desc()).limit(1)
    ).first()
    if held is None:
        return
    detail["queueInfo"] = {
        "reason": held.reason, "reasonCode": held.reason_code, "policyInfo": held.policy_info,
        "dateReceived": format_time(held.received), "status": held.status,
    }  # fmt: skip
    if held.processed_at is not None:
        detail["releaseInfo"] = {
            "action": held.status, "by": held.processed_by or "",
            "date": format_time(held.processed_at),
        }  # fmt: skip


def get_message_info(ctx: FunctionContext) -> FunctionResult:
    """The tracking detail of each message id."""

    def handle(item: Item) -> Iterable[Any]:
        message_id = required_text(item, "id", max_length=64)
        with ctx.store.connect() as conn:
            row = conn.execute(
                sa.select(messages).where(
                    messages.c.account_id == ctx.account.id, messages.c.id == message_id
                )
            ).first()
            if row is None:
                raise ItemRefused(NOT_FOUND, f"no message has the id {message_id}", "id")
            return [_detail(ctx, conn, row)]

    return run_items(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/message-finder/get-message-info",
        handler=get_message_info,
        summary="The tracking detail of messages found by message-finder/search",
        permission="Gateway | Tracking | Read",
        read_only=True,
        request_schema=obj({"id": STR}, "id"),
        response_schema=MESSAGE_INFO,
        max_items=_MAX_ITEMS,
    ),
)
