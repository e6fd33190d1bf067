"""The seeded, deterministic tenant generator: a realistic mailbox population in seconds.

``generate(store, account_id, seed=7, users=500, days=7, now=clock.now())`` fills one account
with people (users rows without passwords), archived messages, held messages, audit events, URL
click logs, directory groups, and the SIEM stream whose files get-siem-logs serves. The same
arguments give the same rows, ids included: every random choice is drawn from ``random.Random``
seeded with ``seed``, and times are offsets from ``now``.

Generating again replaces what the generator made for that account (rows flagged ``generated``)
and keeps what API calls made. Rows are written with bulk ``executemany`` inserts inside one
transaction; a week of a 500-user tenant (about 70,000 messages) takes a few seconds on SQLite.
SIEM file bodies are not written at all: they are derived from the stream row on request.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data import _siem_plan
from mcapi.emulator._data._policies import generate_blocked_senders
from mcapi.emulator._data._queues import generate_queues
from mcapi.emulator._data._records import audit_info
from mcapi.emulator._data._tables import (
    audit_events,
    click_logs,
    group_members,
    groups,
    held_messages,
    messages,
    siem_streams,
)
from mcapi.emulator._data._threat_generator import generate_threat_data
from mcapi.emulator._data._ttp_generator import attachment_rows, impersonation_rows
from mcapi.emulator._data._ttp_tables import attachment_logs, impersonation_logs
from mcapi.emulator._data._vocab import (
    Person,
    externals,
    hourly_weight,
    mailboxes,
    opaque_id,
    synth_message,
)
from mcapi.emulator._store._schema import domains, users

if TYPE_CHECKING:
    from mcapi.emulator._store import Store

__all__ = ["SIEM_SLOT_SECONDS", "STAGES", "GenerateSummary", "generate"]

SIEM_SLOT_SECONDS = _siem_plan.SLOT_SECONDS
_DAY = 86400
_BATCH = 5000
_GROUPS = (
    "All Staff", "Finance", "Sales", "Engineering", "Support", "Executives",
    "Permitted Senders", "Blocked Senders",
)  # fmt: skip
_AUDIT_ADMIN = (
    ("Policy Updated", "policy_logs", "Anti-Spoofing policy '{w}' updated"),
    ("User Role Changed", "account_logs", "Role 'Basic Administrator' granted to {u}"),
    ("Group Member Added", "directory_logs", "{u} added to group '{w}'"),
    ("Message Released", "email_logs", "Held message released to {u}"),
    ("Managed URL Created", "ttp_logs", "Managed URL https://{w}.example/ blocked"),
)  # fmt: skip
_AUTH_METHODS = ("Cloud", "Cloud", "Office 365", "Two Step Auth")
_AUTH_APPS = (
    "Administration Console", "Mimecast for Outlook", "mimecast-moa", "Mimecast Personal Portal",
)  # fmt: skip
_PUBLIC_IP = ((11, 223), (0, 255), (0, 255), (1, 254))
_CLICK_CATEGORIES = ("Business", "Technology", "News", "Shopping", "Phishing & Fraud")
#: The steps of one :func:`generate` run, in order, each reported to ``on_stage`` when done.
STAGES = (
    "people", "messages", "threat data", "audit events", "click logs", "groups", "queues",
    "blocked senders", "TTP logs", "SIEM stream",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class GenerateSummary:
    """What one :func:`generate` call wrote."""

    users: int
    messages: int
    held: int
    audit_events: int
    click_logs: int
    groups: int
    siem_files: int
    attachment_logs: int = 0
    impersonation_logs: int = 0

    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def generate(
    store: Store,
    account_id: int,
    *,
    seed: int,
    users: int,
    days: int,
    now: float,
    messages_per_user_day: int = 20,
    on_stage: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Fill ``account_id`` with ``days`` days (ending at ``now``) of a ``users``-people tenant;
    ``on_stage`` is told the name of each of :data:`STAGES` once it is written (a job's
    progress)."""
    done: Callable[[str], None] = on_stage or (lambda _stage: None)
    if users < 1 or days < 1 or messages_per_user_day < 0:
        raise ValueError("users and days must be at least 1, messages_per_user_day at least 0")
    account = store.get_account(account_id)
    if account is None:
        raise LookupError(f"account {account_id} does not exist")
    domain = _tenant_domain(store, account_id, account.account_code, now)
    people = mailboxes(seed, users, domain)
    outside = externals(seed)
    start = now - days * _DAY
    rng = random.Random(seed)
    with store.begin() as conn:
        _clear(conn, account_id)
        added_users = _insert_users(conn, account_id, people)
        done("people")
        n_messages, n_held = _insert_messages(
            conn, rng, account_id, people, outside, start, days, messages_per_user_day, seed
        )
        done("messages")
        generate_threat_data(conn, account_id, seed=seed, start=start, now=now)
        done("threat data")
        n_audit = _insert_audit(conn, rng, account_id, people, start, days, seed)
        done("audit events")
        n_clicks = _insert_clicks(conn, rng, account_id, people, outside, start, days, seed)
        done("click logs")
        n_groups = _insert_groups(conn, rng, account_id, people, now, seed)
        done("groups")
        generate_queues(
            conn, account_id, seed=seed, people=people, outside=outside, start=start, now=now
        )
        done("queues")
        # blocked-sender policies act on the new mail: blocked messages are rejected, not held
        n_held -= generate_blocked_senders(conn, account_id, seed=seed, start=start)
        done("blocked senders")
        # a generator of their own, so that the tables above stay as they were before these
        ttp_rng = random.Random(f"{seed}:ttp-protect")
        n_attachments = _batched(
            conn, attachment_logs, attachment_rows(
                ttp_rng, account_id, people, outside,
                _hour_counts(ttp_rng, start, days, len(people) + 24), seed,
            ),
        )  # fmt: skip
        n_impersonations = _batched(
            conn, impersonation_logs, impersonation_rows(
                ttp_rng, account_id, people,
                _hour_counts(ttp_rng, start, days, len(people) * 0.5 + 24), seed,
            ),
        )  # fmt: skip
        done("TTP logs")
        slot_start = (start // SIEM_SLOT_SECONDS) * SIEM_SLOT_SECONDS
        conn.execute(siem_streams.delete().where(siem_streams.c.account_id == account_id))
        conn.execute(
            siem_streams.insert().values(
                account_id=account_id, seed=seed, users=users, domain=domain,
                start=slot_start, messages_per_user_day=messages_per_user_day,
            )
        )  # fmt: skip
        first, end = int(slot_start // SIEM_SLOT_SECONDS), int(now // SIEM_SLOT_SECONDS)
        siem_files = _siem_plan.file_count(
            range(first, end), seed, users, messages_per_user_day,
            {kind: _siem_plan.ttp_slots(conn, account_id, kind) for kind in _siem_plan.TTP_TYPES},
        )  # fmt: skip
        done("SIEM stream")
    return GenerateSummary(
        users=added_users,
        messages=n_messages,
        held=n_held,
        audit_events=n_audit,
        click_logs=n_clicks,
        groups=n_groups,
        siem_files=siem_files,
        attachment_logs=n_attachments,
        impersonation_logs=n_impersonations,
    )


def _tenant_domain(store: Store, account_id: int, account_code: str, now: float) -> str:
    with store.connect() as conn:
        first = conn.execute(
            sa.select(domains.c.domain)
            .where(domains.c.account_id == account_id)
            .order_by(domains.c.id)
            .limit(1)
        ).scalar()
    if first is not None:
        return str(first)
    return store.add_domain(account_id, f"{account_code.lower()}.example", now=now).domain


def _clear(conn: Connection, account_id: int) -> None:
    for table in (
        messages,
        held_messages,
        audit_events,
        click_logs,
        attachment_logs,
        impersonation_logs,
    ):
        conn.execute(
            table.delete().where(table.c.account_id == account_id, table.c.generated == sa.true())
        )
    generated_groups = sa.select(groups.c.id).where(
        groups.c.account_id == account_id, groups.c.generated == sa.true()
    )
    conn.execute(group_members.delete().where(group_members.c.group_id.in_(generated_groups)))
    conn.execute(
        groups.delete().where(groups.c.account_id == account_id, groups.c.generated == sa.true())
    )


def _batched(conn: Connection, table: sa.Table, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            conn.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        conn.execute(table.insert(), batch)
        count += len(batch)
    return count


def _insert_users(conn: Connection, account_id: int, people: Sequence[Person]) -> int:
    wanted = [p.email for p in people]
    taken = set(conn.execute(sa.select(users.c.email).where(users.c.email.in_(wanted))).scalars())
    rows = [
        {
            "account_id": account_id,
            "email": p.email,
            "name": p.name,
            "password_hash": None,
            "auth_types": ["cloud"],
            "status": "active",
            "failed_attempts": 0,
            "permissions": [],
            "ip_ranges": None,
        }
        for p in people
        if p.email not in taken
    ]
    return _batched(conn, users, iter(rows))


def _hour_counts(
    rng: random.Random, start: float, days: int, per_day: float
) -> Iterator[tuple[float, int]]:
    for hour in range(days * 24):
        t0 = start + hour * 3600
        expected = per_day * hourly_weight(int(t0 // 3600) % 24)
        yield t0, max(0, round(expected * rng.uniform(0.8, 1.2)))


def _insert_messages(
    conn: Connection,
    rng: random.Random,
    account_id: int,
    people: tuple[Person, ...],
    outside: tuple[Person, ...],
    start: float,
    days: int,
    per_user_day: int,
    seed: int,
) -> tuple[int, int]:
    held: list[dict[str, Any]] = []

    def rows() -> Iterator[dict[str, Any]]:
        n = 0
        for t0, count in _hour_counts(rng, start, days, len(people) * per_user_day):
            times = sorted(t0 + rng.random() * 3600 for _ in range(count))
            for t in times:
                n += 1
                facts = synth_message(rng, people, outside)
                mid = opaque_id(seed, "message", n)
                row = {
                    "id": mid, "account_id": account_id, "received": round(t, 3),
                    "sender": facts.sender.email, "sender_name": facts.sender.name,
                    "recipients": [p.email for p in facts.recipients], "subject": facts.subject,
                    "route": facts.route, "status": facts.status, "info": facts.info,
                    "size": facts.size, "sender_ip": facts.sender_ip,
                    "spam_score": facts.spam_score,
                    "attachments": [
                        {"filename": a[0], "contentType": a[1], "size": a[2]}
                        for a in facts.attachments
                    ],
                    "message_id": f"<{mid[3:19]}@{facts.sender.email.rpartition('@')[2]}>",
                    "generated": True,
                }  # fmt: skip
                if facts.status == "held":
                    held.append(_held_row(rng, row, facts.suspicious, seed, len(held)))
                yield row

    count = _batched(conn, messages, rows())
    return count, _batched(conn, held_messages, iter(held))


_HOLD_REASONS = (
    ("Spam Signature", "spam_signature", "Anti-Spam policy"),
    ("Attachment Type Blocked", "attachment_type", "Attachment Management policy"),
    ("Suspected Malware", "malware_suspected", "Anti-Virus policy"),
    ("Content Examination", "content_examination", "Content Examination policy"),
)


def _held_row(
    rng: random.Random, message: dict[str, Any], suspicious: bool, seed: int, n: int
) -> dict[str, Any]:
    reason, code, policy = _HOLD_REASONS[0 if suspicious else rng.randrange(len(_HOLD_REASONS))]
    return {
        "id": opaque_id(seed, "held", n), "account_id": message["account_id"],
        "message_id": message["id"], "received": message["received"],
        "sender": message["sender"], "sender_name": message["sender_name"],
        "recipient": message["recipients"][0], "subject": message["subject"],
        "reason": reason, "reason_code": code, "route": message["route"],
        "size": message["size"], "has_attachments": bool(message["attachments"]),
        "policy_info": policy, "status": "held", "generated": True,
    }  # fmt: skip


def _insert_audit(
    conn: Connection,
    rng: random.Random,
    account_id: int,
    people: tuple[Person, ...],
    start: float,
    days: int,
    seed: int,
) -> int:
    admins = people[: max(1, len(people) // 100)]
    # the details of eventInfo come from a generator of their own, so that the rows of the
    # other tables stay what they were before events carried them
    detail = random.Random(f"{seed}:audit-info")

    def rows() -> Iterator[dict[str, Any]]:
        n = 0
        for t0, count in _hour_counts(rng, start, days, len(people) * 0.6 + 24):
            for t in sorted(t0 + rng.random() * 3600 for _ in range(count)):
                n += 1
                ip = ".".join(str(detail.randint(lo, hi)) for lo, hi in _PUBLIC_IP)
                if rng.random() < 0.85:
                    person = rng.choice(people)
                    who = person.email
                    ok = rng.random() < 0.95
                    category = "authentication_logs"
                    extra = {"Method": detail.choice(_AUTH_METHODS)}
                    if ok:
                        audit_type = "User Logged On"
                        text = f"Successful authentication for {who} <{person.name}>"
                    else:
                        audit_type = "Logon Authentication Failed"
                        text = f"Failed authentication for {who} <{person.name}>"
                        extra["Reason"] = detail.choice(("Wrong password", "Account Locked"))
                    info = audit_info(
                        text, when=t, ip=ip, application=detail.choice(_AUTH_APPS), **extra
                    )
                else:
                    who = rng.choice(admins).email
                    audit_type, category, text = rng.choice(_AUDIT_ADMIN)
                    text = text.format(u=rng.choice(people).email, w=rng.choice(_GROUPS))
                    info = audit_info(text, when=t, ip=ip, application="Administration Console")
                yield {
                    "id": opaque_id(seed, "audit", n), "account_id": account_id,
                    "event_time": round(t, 3), "audit_type": audit_type, "category": category,
                    "user": who, "event_info": info, "generated": True,
                }  # fmt: skip

    return _batched(conn, audit_events, rows())


def _insert_clicks(
    conn: Connection,
    rng: random.Random,
    account_id: int,
    people: tuple[Person, ...],
    outside: tuple[Person, ...],
    start: float,
    days: int,
    seed: int,
) -> int:
    def rows() -> Iterator[dict[str, Any]]:
        for t0, count in _hour_counts(rng, start, days, len(people) * 1.5):
            for t in sorted(t0 + rng.random() * 3600 for _ in range(count)):
                sender = rng.choice(outside)
                bad = rng.random() < 0.04
                host = sender.email.rpartition("@")[2]
                if bad:
                    host = rng.choice(("paypa1-secure.example", "invoice-portal.example"))
                path = rng.choice(("", "login", "invoice/view", "news/today", "docs/share"))
                yield {
                    "account_id": account_id, "date": round(t, 3),
                    "user_email": rng.choice(people).email, "from_user_email": sender.email,
                    "url": f"https://{host}/{path}", "ttp_definition": "Default URL Protection",
                    "subject": f"Shared link {rng.randint(100, 999)}",
                    "action": "block" if bad else rng.choice(("allow", "allow", "allow", "warn")),
                    "admin_override": "N/A", "user_override": "None",
                    "scan_result": "malicious" if bad else "clean",
                    "category": "Phishing & Fraud" if bad else rng.choice(_CLICK_CATEGORIES[:4]),
                    "sending_ip": f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.0.1",
                    "user_awareness_action": "N/A", "route": "inbound",
                    "message_id": f"<{opaque_id(seed, 'clickmsg', t)[3:19]}@{host}>",
                    "generated": True,
                }  # fmt: skip

    return _batched(conn, click_logs, rows())


def _insert_groups(
    conn: Connection,
    rng: random.Random,
    account_id: int,
    people: tuple[Person, ...],
    now: float,
    seed: int,
) -> int:
    root = opaque_id(seed, "group", "root")
    group_rows = [
        {"id": root, "account_id": account_id, "description": "Root", "source": "cloud",
         "parent_id": None, "created": now, "generated": True}
    ]  # fmt: skip
    member_rows: list[dict[str, Any]] = []
    for name in _GROUPS:
        gid = opaque_id(seed, "group", name)
        group_rows.append(
            {"id": gid, "account_id": account_id, "description": name, "source": "cloud",
             "parent_id": root, "created": now, "generated": True}
        )  # fmt: skip
        size = len(people) if name == "All Staff" else rng.randint(0, max(1, len(people) // 10))
        for person in rng.sample(people, k=min(size, len(people))):
            member_rows.append(
                {"id": opaque_id(seed, "member", gid, person.email), "group_id": gid,
                 "kind": "email", "member": person.email, "internal": True, "added": now}
            )  # fmt: skip
    conn.execute(groups.insert(), group_rows)
    _batched(conn, group_members, iter(member_rows))
    return len(group_rows)
