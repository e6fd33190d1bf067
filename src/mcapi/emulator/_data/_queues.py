"""Messages in delivery: the gateway's processing queue and the queue-size history it implies.

One row per message that entered the delivery queue (``created``); ``left_at`` is when it was
delivered or bounced, and is NULL while the message is still queued. Both views of the gateway read
the same rows, so they always agree:

* ``/api/gateway/find-processing-messages`` lists the rows still queued (``left_at IS NULL``);
* ``/api/email/get-email-queues`` counts, at each sample instant ``t``, the rows with
  ``created <= t`` that had not left by ``t`` (inbound, and outbound with internal mail).

Held messages are not in this queue: they wait in the hold queue (``held_messages``) until an
administrator releases or rejects them.

The generator's part (:func:`generate_queues`) draws from its own ``random.Random``, so adding the
queue leaves every other generated row exactly as it was.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data._tables import _account, _generated
from mcapi.emulator._data._vocab import Person, opaque_id
from mcapi.emulator._store._schema import metadata

__all__ = ["RETRY_SECONDS", "generate_queues", "processing_messages"]

#: The delivery retry interval of queued messages (the emulator's choice).
RETRY_SECONDS = 900

processing_messages = sa.Table(
    "processing_messages",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("sender_name", sa.String(200), nullable=False, default=""),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("has_attachments", sa.Boolean, nullable=False, default=False),
    sa.Column("remote_ip", sa.String(45), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("next_attempt", sa.Float, nullable=False),
    sa.Column("info", sa.String(300), nullable=False),
    sa.Column("priority", sa.String(16), nullable=False, default="normal"),
    #: when the message left the queue (delivered or bounced); NULL while it is queued
    sa.Column("left_at", sa.Float, nullable=True),
    _generated(),
    sa.Index("ix_processing_messages_account_created", "account_id", "created", "seq"),
)

_INFO = (
    "Remote server temporarily unavailable, retry scheduled",
    "421 4.7.0 Try again later, closing connection",
    "Connection timed out",
    "451 4.3.0 Mail server temporarily rejected message",
    "Awaiting attachment scan result",
)
_SUBJECTS = ("Quarterly figures", "Re: order status", "Meeting notes", "Invoice attached",
             "Weekly update", "Fw: contract draft")  # fmt: skip


def generate_queues(
    conn: Connection,
    account_id: int,
    *,
    seed: int,
    people: Sequence[Person],
    outside: Sequence[Person],
    start: float,
    now: float,
) -> int:
    """Replace the generated queue history of ``account_id`` over ``[start, now]``; how many
    rows were written. A few messages are still queued at ``now``."""
    t = processing_messages.c
    conn.execute(
        processing_messages.delete().where(t.account_id == account_id, t.generated == sa.true())
    )
    rng = random.Random(f"queues:{seed}")
    rows: list[dict[str, Any]] = []
    per_hour = max(1.0, len(people) / 20)
    hour = start
    while hour < now:
        for _ in range(rng.randint(0, round(per_hour * 2))):
            created = round(hour + rng.random() * 3600, 3)
            if created >= now:
                continue
            # most messages wait minutes, a few wait hours for a remote server
            wait = rng.expovariate(1 / 600) if rng.random() < 0.9 else rng.uniform(3600, 14400)
            rows.append(_row(rng, account_id, seed, len(rows), people, outside, created,
                             created + wait, now))  # fmt: skip
        hour += 3600
    # messages queued right now, whatever the history drew
    for _ in range(3 + len(people) // 50):
        created = round(now - rng.uniform(60, 3 * 3600), 3)
        rows.append(_row(rng, account_id, seed, len(rows), people, outside, created, None, now))
    if rows:
        conn.execute(processing_messages.insert(), rows)
    return len(rows)


def _row(
    rng: random.Random,
    account_id: int,
    seed: int,
    n: int,
    people: Sequence[Person],
    outside: Sequence[Person],
    created: float,
    leaves: float | None,
    now: float,
) -> dict[str, Any]:
    route = rng.choice(("inbound", "inbound", "outbound", "internal"))
    inside, other = rng.choice(people), rng.choice(outside)
    sender, recipient = (other, inside) if route == "inbound" else (inside, other)
    if route == "internal":
        recipient = rng.choice(people)
    queued = leaves is None or leaves > now
    last = now if queued else float(leaves or now)
    attempts = 1 + int((last - created) // RETRY_SECONDS)
    return {
        "id": opaque_id(seed, "processing", n), "account_id": account_id, "created": created,
        "sender": sender.email, "sender_name": sender.name, "recipient": recipient.email,
        "subject": rng.choice(_SUBJECTS), "route": route, "size": rng.randint(2_000, 900_000),
        "has_attachments": rng.random() < 0.3,
        "remote_ip": f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.7",
        "attempts": attempts, "next_attempt": round(created + attempts * RETRY_SECONDS, 3),
        "info": rng.choice(_INFO), "priority": "high" if rng.random() < 0.1 else "normal",
        "left_at": None if queued else round(float(leaves or now), 3), "generated": True,
    }  # fmt: skip
