"""The archive: ``/api/archive/get-message-detail``, ``get-message-part``, ``get-message-list``
(a mailbox's messages) and ``get-file`` (one attachment, or the whole message, as a file).

Who may read what (the platform's rule: "Archive | Search Content View" for any mailbox, no
permission for one's own; delegation is not emulated):

1. ``mailbox`` names an address the caller may not act on (not the caller's own, and no content
   view permission) -> 403 0003;
2. the message does not exist -> a ``fail`` entry with ``err_item_not_found`` (HTTP 200);
3. the caller may not load this message: without content view it must be to or from the caller;
   with ``mailbox`` given it must be to or from that mailbox -> 403 0007;
4. the message is older than the account's ``maxRetention`` days on the emulator clock
   -> 403 0011.

They take one item, since their refusals are answers to the whole call. get-message-list applies
rule 1 to the mailbox it lists, and lists only messages still within retention.

An attachment's id (``attachments[].id`` of get-message-detail, which get-file takes) names the
message and the attachment's position: ``eNp`` and the URL-safe base64 of ``<message id>|<n>``.
get-file also takes a message id, and then answers the whole message as RFC 822 (.eml).
"""

from __future__ import annotations

import base64
import binascii
import calendar
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mcapi._codes import lookup
from mcapi.emulator._data import get_profile, messages
from mcapi.emulator.functions._common import (
    NOT_FOUND,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    boolean,
    choice,
    format_time,
    optional_email,
    parse_time,
    required_text,
    run_single,
)
from mcapi.emulator.functions._mail import (
    MessageView,
    attachment_bytes,
    body_html,
    body_plain,
    rfc822,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, page, walk_now
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionError,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, EMAIL, INT, STR, array, enum, obj

__all__ = ["CONTENT_VIEW", "SPECS", "attachment_id", "mailbox_filter"]

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
            obj({"id": STR, "filename": STR, "contentType": STR, "size": INT, "extension": STR})
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
        raise ItemRefused(NOT_FOUND, f"no archived message has the id {message_id}", "id")
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
                {
                    "id": attachment_id(row.id, index),
                    **a,
                    "extension": _extension(str(a.get("filename", ""))),
                }
                for index, a in enumerate(row.attachments)
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
        view = _view(ctx, row, delivered=context == "DELIVERED")
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


def _view(ctx: FunctionContext, row: Any, *, delivered: bool) -> MessageView:
    return MessageView(
        id=row.id,
        message_id=row.message_id,
        received=row.received,
        sender=row.sender,
        sender_name=row.sender_name,
        recipients=tuple(row.recipients),
        subject=row.subject,
        sender_ip=row.sender_ip,
        attachments=tuple((a["filename"], a["contentType"], a["size"]) for a in row.attachments),
        delivered=delivered,
        region=ctx.account.region,
    )


def attachment_id(message_id: str, index: int) -> str:
    """The id of attachment ``index`` of a message (see the module's docstring)."""
    raw = f"{message_id}|{index}".encode()
    return "eNp" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _attachment_of(file_id: str) -> tuple[str, int] | None:
    """``(message id, position)`` named by an attachment id; None for any other id."""
    if not file_id.startswith("eNp"):
        return None
    body = file_id[3:]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    message_id, bar, index = text.rpartition("|")
    if not bar or not index.isdigit() or not message_id:
        return None
    return message_id, int(index)


def get_file(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """One attachment as a file (by its id), or a whole message as RFC 822 (by the message id)."""

    def handle(item: Item) -> StreamResult:
        file_id = required_text(item, "id", max_length=200)
        named = _attachment_of(file_id)
        message_id, index = named if named else (file_id, None)
        row, _ = _load(ctx, {**item, "id": message_id})
        if index is None:
            chunks = rfc822(_view(ctx, row, delivered=True))
            name = f"{row.id[:32]}.eml"
        else:
            if index >= len(row.attachments):
                raise ItemRefused(NOT_FOUND, f"no file has the id {file_id}", "id")
            attachment = row.attachments[index]
            chunks = attachment_bytes(row.id, index, int(attachment["size"]))
            name = str(attachment["filename"]).replace('"', "")
        return StreamResult(
            chunks=chunks, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    return run_single(ctx, handle)


def mailbox_filter(mailbox: str, view: str) -> sa.ColumnElement[bool]:
    """Messages in ``mailbox``'s INBOX (it is a recipient) or SENT folder (it is the sender)."""
    if view == "SENT":
        return messages.c.sender == mailbox
    return sa.cast(messages.c.recipients, sa.Text).contains(f'"{mailbox}"', autoescape=True)


def get_message_list(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """A mailbox's messages in a view (INBOX or SENT), newest first, paged."""

    def handle(item: Item) -> FunctionResult:
        view = choice(item, "view", ("INBOX", "SENT"), default="INBOX")
        mailbox = optional_email(item, "mailbox") or ctx.user.email
        if mailbox != ctx.user.email and not ctx.user.has_permission(CONTENT_VIEW):
            raise FunctionError(lookup(403, "0003", "err_xdk_operation_forbidden_for_address"))
        # aliases and delegates are not emulated: the flags are checked, and change nothing
        boolean(item, "includeAliases", default=True)
        boolean(item, "includeDelegates")
        now = walk_now(ctx.request.pagination, "archive-list", ctx.now)
        end = parse_time(item, "end", default=now - now % 86400 + 86400)  # the day's end
        start = parse_time(item, "start", default=_month_before(now))
        if end < start:
            raise ItemRefused(OUT_OF_RANGE, "end is before start", "end")
        t = messages.c
        with ctx.store.connect() as conn:
            retention = get_profile(conn, ctx.account.id).max_retention_days
            stmt = sa.select(messages).where(
                t.account_id == ctx.account.id, mailbox_filter(mailbox, view),
                t.received >= max(start, ctx.now - retention * 86400), t.received <= end,
            )  # fmt: skip
            found = page(
                conn, stmt, [t.received, t.seq], request=ctx.request.pagination,
                scope="archive-list", descending=True, anchor=now,
            )  # fmt: skip
        return FunctionResult(data=[_listed(r) for r in found.rows], pagination=found.pagination)

    return run_single(ctx, handle)


def _month_before(epoch: float) -> float:
    """The same day and time a calendar month earlier (the last day of a shorter month)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day).timestamp()


def _listed(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "subject": row.subject,
        "from": {"emailAddress": row.sender, "displayableName": row.sender_name},
        "to": [{"emailAddress": r, "displayableName": ""} for r in row.recipients],
        "received": format_time(row.received),
        "size": row.size,
        "attachmentCount": len(row.attachments),
        "status": row.status,
    }


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
    FunctionSpec(
        path="/api/archive/get-message-list",
        handler=get_message_list,
        summary="A mailbox's archived messages in its INBOX or SENT view, newest first, paged",
        permission=None,
        read_only=True,
        request_schema=obj(
            {
                "mailbox": EMAIL,
                "view": enum("INBOX", "SENT"),
                "start": DATE,
                "end": DATE,
                "includeAliases": BOOL,
                "includeDelegates": BOOL,
            }
        ),
        response_schema=obj(
            {
                "id": STR,
                "subject": STR,
                "from": _ADDRESS,
                "to": array(_ADDRESS),
                "received": DATE,
                "size": INT,
                "attachmentCount": INT,
                "status": STR,
            },
            "id",
            "subject",
            "from",
            "received",
            "attachmentCount",
        ),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/archive/get-file",
        handler=get_file,
        summary="One attachment (by its id) or a whole message (by its id, as RFC 822) as a file",
        permission=None,
        read_only=True,
        request_schema=obj(_ITEM, "id"),
        response_schema=obj({}),
        max_items=1,
        streams=True,
    ),
)
