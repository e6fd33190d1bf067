"""Which SIEM log files exist: the log types, and which of them a 30-minute slot holds.

Real SIEM files hold one log type each (receipt, process, delivery, journal, spam, AV, and the
URL, Attachment and Impersonation Protect logs). The MTA types are derived from the slot's
synthetic messages (see ``mcapi.emulator.functions._siem``); the three Targeted Threat Protection
types are the rows of the click, attachment and impersonation tables whose time falls in the slot.
A file exists only when it has at least one record.

Everything here is a pure function of the stream's numbers, except :func:`ttp_slots` and
:func:`ttp_present`, which read the tables.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data._tables import click_logs
from mcapi.emulator._data._ttp_tables import attachment_logs, impersonation_logs
from mcapi.emulator._data._vocab import hourly_weight

__all__ = [
    "LOG_TYPES",
    "MTA_TYPES",
    "SLOT_SECONDS",
    "TTP_TYPES",
    "extra_count",
    "file_count",
    "slot_messages",
    "ttp_column",
    "ttp_present",
    "ttp_slots",
]

SLOT_SECONDS = 1800
#: Derived from the slot's messages, in the order a slot's files are handed out.
MTA_TYPES = ("receipt", "process", "delivery", "jrnl", "spam", "av")
#: Read from the TTP tables.
TTP_TYPES = ("ttp_url", "ttp_ap", "ttp_ip")
LOG_TYPES = MTA_TYPES + TTP_TYPES
#: Spam-event and AV lines per message of the slot (on average).
_EXTRA_RATE = {"spam": 0.02, "av": 0.005}


def slot_messages(seed: int, users: int, messages_per_user_day: int, slot: int) -> int:
    """How many messages the stream's slot holds (office hours busy, nights quiet)."""
    hour = (slot * SLOT_SECONDS // 3600) % 24
    per_slot = users * messages_per_user_day * hourly_weight(hour) / 2
    jitter = random.Random(f"siem:{seed}:{slot}").uniform(0.8, 1.2)
    return max(0, round(per_slot * jitter))


def extra_count(seed: int, slot: int, total: int, log_type: str) -> int:
    """How many spam-event or AV lines the slot holds."""
    rate = _EXTRA_RATE[log_type]
    rng = random.Random(f"siem:{seed}:{slot}:{log_type}")
    # one draw per message, so that a quiet tenant still has the odd spam or AV file
    return sum(rng.random() < rate for _ in range(total))


def mta_present(seed: int, users: int, messages_per_user_day: int, slot: int) -> list[str]:
    """The MTA log types the slot has a file of. Receipt, process, delivery and journal files
    exist whenever the slot has mail (the emulator's simplification: in a slot whose every message
    was rejected or held, the process, delivery or journal file has no records); spam and AV files
    when the slot drew such lines."""
    total = slot_messages(seed, users, messages_per_user_day, slot)
    if total == 0:
        return []
    kinds = ["receipt", "process", "delivery", "jrnl"]
    kinds += [k for k in ("spam", "av") if extra_count(seed, slot, total, k) > 0]
    return kinds


def ttp_column(log_type: str) -> tuple[sa.Table, sa.Column[float]]:
    """The table of a TTP log type and its time column."""
    if log_type == "ttp_url":
        return click_logs, click_logs.c.date
    if log_type == "ttp_ap":
        return attachment_logs, attachment_logs.c.date
    return impersonation_logs, impersonation_logs.c.event_time


def ttp_present(conn: Connection, account_id: int, log_type: str, slot: int) -> bool:
    table, when = ttp_column(log_type)
    start = slot * SLOT_SECONDS
    found = conn.execute(
        sa.select(sa.literal(1))
        .where(table.c.account_id == account_id, when >= start, when < start + SLOT_SECONDS)
        .limit(1)
    ).first()
    return found is not None


def ttp_slots(conn: Connection, account_id: int, log_type: str) -> set[int]:
    """The slots that hold at least one record of a TTP log type (reads the times only)."""
    table, when = ttp_column(log_type)
    times = conn.execute(sa.select(when).where(table.c.account_id == account_id)).scalars()
    return {int(t // SLOT_SECONDS) for t in times}


def file_count(
    slots: Iterable[int],
    seed: int,
    users: int,
    messages_per_user_day: int,
    ttp: dict[str, set[int]],
) -> int:
    """How many files the given slots hold."""
    count = 0
    for slot in slots:
        count += len(mta_present(seed, users, messages_per_user_day, slot))
        count += sum(slot in ttp[kind] for kind in TTP_TYPES)
    return count
