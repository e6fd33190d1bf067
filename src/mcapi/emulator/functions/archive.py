"""The archive: ``/api/archive/get-message-detail`` and ``/api/archive/get-message-part``.

Who may read what (the platform's rule: "Archive | Search Content View" for any mailbox, no
permission for one's own; delegation is not emulated):

1. ``mailbox`` names an address the caller may not act on (not the caller's own, and no content
   view permission) -> 403 0003;
2. the message does not exist -> a ``fail`` entry with ``err_item_not_found`` (HTTP 200);
3. the caller may not load this message: without content view it must be to or from the caller;
   with ``mailbox`` given it must be to or from that mailbox -> 403 0007;
4. the message is older than the account's ``maxRetention`` days on the emulator clock
   -> 403 0011.

Both functions take one item, since their refusals are answers to the whole call.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mcapi._codes import lookup
from mcapi.emulator._data import get_profile, messages
from mcapi.emulator.functions._common import (
    NOT_FOUND,
    Item,
    ItemError,
    choice,
    format_time,
    optional_email,
    required_text,
    run_single,
)
from mcapi.emulator.functions._mail import MessageView, body_html, body_plain, rfc822
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionError,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import EMAIL, INT, STR, array, enum, obj

__all__ = ["CONTENT_VIEW", "SPECS"]

CONTENT_VIEW = "Archive | Search Content View"
PART_TYPES = ("HTML", "PLAIN", "RFC822", "TRANSMISSION_MESSAGE_BODY")
_ADDRESS = obj({"emailAddress": STR, "displayableName": STR}, "emailAddress")
DETAIL = obj(
    {
        "id": STR,
        "messageId": STR,
        "subject": STR,
        "from": _ADDRESS,
        "to": array(_ADDRESS),
        "received": STR,
        "size": INT,
        "route": STR,
        "status": STR,
        "retentionExpiry": STR,
        "attachments": array(
            obj({"filename": STR, "contentType": STR, "size": INT, "extension": STR})
        ),
    },
    "id",
    "subject",
    "from",
    "to",
    "received",
)


def _load(ctx: FunctionContext, item: Item) -> tuple[Any, float]:
    """The message row the caller may read, and its retention expiry; or the refusal."""
    message_id = required_text(item, "id", max_length=64)
    mailbox = optional_email(item, "mailbox")
    can_view_all = ctx.user.has_permission(CONTENT_VIEW)
    if mailbox is not None and mailbox != ctx.user.email and not can_view_all:
        raise FunctionError(lookup(403, "0003", "err_xdk_operation_forbidden_for_address"))
    with ctx.store.connect() as conn:
        row = conn.execute(
            sa.select(messages).where(
                messages.c.account_id == ctx.account.id, messages.c.id == message_id
            )
        ).first()
        retention_days = get_profile(conn, ctx.account.id).max_retention_days
    if row is None:
        raise ItemError(NOT_FOUND, f"no archived message has the id {message_id}", "id")
    parties = {row.sender, *row.recipients}
    if (not can_view_all and ctx.user.email not in parties) or (
        mailbox is not None and mailbox not in parties
    ):
        raise FunctionError(lookup(403, "0007", "err_xdk_message_load_forbidden"))
    expiry = row.received + retention_days * 86400
    if ctx.now >= expiry:
        raise FunctionError(lookup(403, "0011", "err_xdk_message_expired"))
    return row, expiry


def _extension(name: str) -> str:
    return name.rpartition(".")[2] if "." in name else ""


def get_message_detail(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Metadata of one archived message."""

    def handle(item: Item) -> FunctionResult:
        row, expiry = _load(ctx, item)
        record = {
            "id": row.id,
            "messageId": row.message_id,
            "subject": row.subject,
            "from": {"emailAddress": row.sender, "displayableName": row.sender_name},
            "to": [{"emailAddress": r, "displayableName": ""} for r in row.recipients],
            "received": format_time(row.received),
            "size": row.size,
            "route": row.route,
            "status": row.status,
            "retentionExpiry": format_time(expiry),
            "attachments": [
                {**a, "extension": _extension(str(a.get("filename", "")))} for a in row.attachments
            ],
        }
        return FunctionResult(data=[record])

    return run_single(ctx, handle)


def get_message_part(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """One archived message as a file: its HTML or plain body, or the whole RFC 822 message."""

    def handle(item: Item) -> StreamResult:
        context = choice(item, "context", ("DELIVERED", "RECEIVED"), default="DELIVERED")
        part = choice(item, "type", PART_TYPES, default="RFC822")
        row, _ = _load(ctx, item)
        view = MessageView(
            id=row.id,
            message_id=row.message_id,
            received=row.received,
            sender=row.sender,
            sender_name=row.sender_name,
            recipients=tuple(row.recipients),
            subject=row.subject,
            sender_ip=row.sender_ip,
            attachments=tuple(
                (a["filename"], a["contentType"], a["size"]) for a in row.attachments
            ),
            delivered=context == "DELIVERED",
            region=ctx.account.region,
        )
        if part == "HTML":
            chunks, ext = iter([body_html(view).encode()]), "html"
        elif part == "PLAIN":
            chunks, ext = iter([body_plain(view).encode()]), "txt"
        else:
            chunks, ext = rfc822(view, transmission=part != "RFC822"), "eml"
        return StreamResult(
            chunks=chunks,
            headers={"Content-Disposition": f'attachment; filename="{row.id[:32]}.{ext}"'},
        )

    return run_single(ctx, handle)


_ITEM = {"id": STR, "mailbox": EMAIL}

SPECS = (
    FunctionSpec(
        path="/api/archive/get-message-detail",
        handler=get_message_detail,
        summary="Metadata of one archived message (content view rules apply)",
        permission=None,
        read_only=True,
        request_schema=obj(_ITEM, "id"),
        response_schema=DETAIL,
        max_items=1,
    ),
    FunctionSpec(
        path="/api/archive/get-message-part",
        handler=get_message_part,
        summary="One archived message as a file: HTML, plain text or RFC 822",
        permission=None,
        read_only=True,
        request_schema=obj(
            {
                **_ITEM,
                "context": enum("DELIVERED", "RECEIVED"),
                "type": enum(*PART_TYPES),
            },
            "id",
        ),
        response_schema=obj({}),
        max_items=1,
        streams=True,
    ),
)
