"""``/api/managedsender/permit-or-block-sender``: permit or block one sender for one recipient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import managed_senders, new_id, record_audit
from mcapi.emulator.functions._common import Item, choice, email, run_items
from mcapi.emulator.functions._registry import FunctionContext, FunctionResult, FunctionSpec
from mcapi.emulator.functions._schemas import EMAIL, STR, enum, obj

__all__ = ["SPECS"]

_MAX_ITEMS = 100


def permit_or_block_sender(ctx: FunctionContext) -> FunctionResult:
    """Set the (sender, to) pair to permit or block; setting it again updates the same entry."""

    def handle(item: Item) -> Iterable[Any]:
        sender = email(item, "sender")
        to = email(item, "to")
        action = choice(item, "action", ("permit", "block"))
        try:
            entry_id = _set(ctx, sender, to, action)
        except sa.exc.IntegrityError:
            # A concurrent call created the pair between our look-up and our insert (the
            # (account, sender, recipient) unique constraint refused ours): it exists now, so
            # setting it again updates it.
            entry_id = _set(ctx, sender, to, action)
        return [{"id": entry_id, "sender": sender, "to": to, "type": action.title()}]

    return run_items(ctx, handle)


def _set(ctx: FunctionContext, sender: str, to: str, action: str) -> str:
    """Insert or update the pair's entry in one transaction; its id."""
    t = managed_senders.c
    with ctx.store.begin() as conn:
        found = conn.execute(
            sa.select(t.id).where(
                t.account_id == ctx.account.id, t.sender == sender, t.recipient == to
            )
        ).scalar()
        if found is None:
            found = new_id()
            conn.execute(
                managed_senders.insert().values(
                    id=found, account_id=ctx.account.id, sender=sender, recipient=to,
                    action=action, updated=ctx.now,
                )
            )  # fmt: skip
        else:
            conn.execute(
                managed_senders.update().where(t.id == found).values(action=action, updated=ctx.now)
            )
        record_audit(
            conn, ctx.account.id, user=ctx.user.email, audit_type="Managed Sender Updated",
            category="policy_logs", info=f"{sender} -> {to}: {action}",
            now=ctx.now, app_id=ctx.app_id,
        )  # fmt: skip
    return str(found)


SPECS = (
    FunctionSpec(
        path="/api/managedsender/permit-or-block-sender",
        handler=permit_or_block_sender,
        summary="Permit or block a sender for a recipient",
        permission="Gateway | Managed Senders | Edit",
        read_only=False,
        request_schema=obj(
            {"sender": EMAIL, "to": EMAIL, "action": enum("permit", "block")},
            "sender",
            "to",
            "action",
        ),
        response_schema=obj(
            {"id": STR, "sender": STR, "to": STR, "type": enum("Permit", "Block")},
            "id",
            "sender",
            "to",
            "type",
        ),
        max_items=_MAX_ITEMS,
    ),
)
