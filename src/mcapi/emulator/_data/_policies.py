"""Blocked-sender policies: their table, the rule that decides which one applies to a message, and
what the generator makes of them.

Theory of operation
-------------------
A policy names senders (``from_type``/``from_value``) and recipients (``to_type``/``to_value``),
a validity window and an ``option``: ``block_sender`` rejects the message, ``no_action`` lets it
through (an exception to a broader block). Like the platform's policies they act when a message
is received: a policy never changes a message that was already received, and a deleted policy is
kept (``deleted`` set) so that the messages it rejected while it existed stay explained.

Messages only arrive through the generator, so that is where policies act: after generating, the
generator calls :func:`apply_blocked_senders`, which finds, for every generated inbound message,
the policies in force when it was received whose senders and recipients match it, picks the one
that applies (:func:`choose`), and when that one blocks, marks the message ``rejected`` with the
info ``Blocked Sender``, drops its hold entry (a rejected message is never held) and records the
verdict (``blocked_sender_verdicts``) so that get-message-info can name the policy.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data._tables import group_members, held_messages, messages
from mcapi.emulator._data._vocab import EXTERNAL_DOMAINS, externals, opaque_id
from mcapi.emulator._store._schema import domains, metadata

__all__ = [
    "BLOCKED_INFO",
    "OPTIONS",
    "TARGET_TYPES",
    "PolicyRule",
    "apply_blocked_senders",
    "blocked_sender_policies",
    "blocked_sender_verdicts",
    "choose",
    "generate_blocked_senders",
    "rule_of",
]

OPTIONS = ("block_sender", "no_action")
FROM_PARTS = ("envelope_from", "header_from", "both")
#: From most to least specific: a more specific policy wins over a broader one.
TARGET_TYPES = (
    "individual_email_address",
    "email_domain",
    "profile_group",
    "internal_addresses",
    "external_addresses",
    "everyone",
)
BLOCKED_INFO = "Blocked Sender"
_BATCH = 500

blocked_sender_policies = sa.Table(
    "blocked_sender_policies",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("option", sa.String(16), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("comment", sa.String(500), nullable=False, default=""),
    sa.Column("from_part", sa.String(16), nullable=False),
    sa.Column("from_type", sa.String(32), nullable=False),
    sa.Column("from_value", sa.String(320), nullable=True),
    sa.Column("to_type", sa.String(32), nullable=False),
    sa.Column("to_value", sa.String(320), nullable=True),
    #: NULL = eternal (the platform reports 1900-01-01 / 2100-01-01)
    sa.Column("from_date", sa.Float, nullable=True),
    sa.Column("to_date", sa.Float, nullable=True),
    sa.Column("override", sa.Boolean, nullable=False, default=False),
    sa.Column("bidirectional", sa.Boolean, nullable=False, default=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    sa.Column("enforced", sa.Boolean, nullable=False, default=False),
    sa.Column("source_ips", sa.JSON, nullable=False, default=lambda: []),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    #: when delete-policy removed it (NULL: in force); kept to explain past verdicts
    sa.Column("deleted", sa.Float, nullable=True),
    sa.Column("generated", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_blocked_sender_policies_account_seq", "account_id", "seq"),
)

#: Which policy rejected which message (generated messages only; rebuilt on every generation).
blocked_sender_verdicts = sa.Table(
    "blocked_sender_verdicts",
    metadata,
    sa.Column("message_id", sa.String(64), primary_key=True),
    sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("policy_id", sa.String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One policy as the matching rule sees it."""

    id: str
    option: str
    description: str
    from_type: str
    from_value: str | None
    to_type: str
    to_value: str | None
    start: float
    end: float
    override: bool
    bidirectional: bool
    enabled: bool
    source_ips: tuple[str, ...]
    seq: int

    def in_force(self, when: float) -> bool:
        return self.enabled and self.start <= when <= self.end

    def specificity(self) -> tuple[int, int]:
        return (-TARGET_TYPES.index(self.from_type), -TARGET_TYPES.index(self.to_type))


def rule_of(row: Any) -> PolicyRule:
    """The rule of a ``blocked_sender_policies`` row: in force from its creation (or its
    ``fromDate`` if later) until its deletion (or its ``toDate`` if earlier)."""
    start = max(row.created, row.from_date) if row.from_date is not None else row.created
    ends = [t for t in (row.to_date, row.deleted) if t is not None]
    return PolicyRule(
        id=row.id, option=row.option, description=row.description, from_type=row.from_type,
        from_value=row.from_value, to_type=row.to_type, to_value=row.to_value, start=start,
        end=min(ends) if ends else float("inf"), override=row.override,
        bidirectional=row.bidirectional, enabled=row.enabled,
        source_ips=tuple(row.source_ips or ()), seq=row.seq,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Directory:
    """What matching needs to know about the tenant: its domains and its groups' members."""

    internal: frozenset[str]
    members: Mapping[str, frozenset[str]]

    def matches(self, kind: str, value: str | None, address: str) -> bool:
        domain = address.rpartition("@")[2]
        if kind == "everyone":
            return True
        if kind == "internal_addresses":
            return domain in self.internal
        if kind == "external_addresses":
            return domain not in self.internal
        if kind == "email_domain":
            return domain == value
        if kind == "individual_email_address":
            return address == value
        group = self.members.get(value or "", frozenset())
        return address in group or domain in group


def _from_ip(rule: PolicyRule, sender_ip: str) -> bool:
    if not rule.source_ips:
        return True
    try:
        address = ipaddress.ip_address(sender_ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in rule.source_ips)


def _names_sender(kind: str, value: str | None, directory: _Directory) -> sa.ColumnElement[bool]:
    """SQL: the message's sender is one of the addresses ``kind``/``value`` name."""
    sender = messages.c.sender
    if kind == "everyone":
        return sa.true()
    if kind == "email_domain":
        return sender.endswith(f"@{value}", autoescape=True)
    if kind == "individual_email_address":
        return sender == value
    if kind == "profile_group":
        members = directory.members.get(value or "", frozenset())
        return sa.or_(
            sender.in_(sorted(m for m in members if "@" in m)),
            *(sender.endswith(f"@{d}", autoescape=True) for d in members if "@" not in d),
        )
    internal = sa.or_(
        sa.false(), *(sender.endswith(f"@{d}", autoescape=True) for d in directory.internal)
    )
    return internal if kind == "internal_addresses" else sa.not_(internal)


def _sender_side(rule: PolicyRule, directory: _Directory) -> sa.ColumnElement[bool]:
    """SQL: ``rule`` was in force when the message arrived and names its sender (forwards, or
    backwards for a bidirectional rule): the part of :func:`_applies` that needs no recipients."""
    t = messages.c
    when = t.received >= rule.start
    if rule.end != float("inf"):
        when = sa.and_(when, t.received <= rule.end)
    forwards = sa.and_(
        t.route == "inbound", _names_sender(rule.from_type, rule.from_value, directory)
    )
    if rule.bidirectional:
        backwards = sa.and_(
            t.route == "outbound", _names_sender(rule.to_type, rule.to_value, directory)
        )
        forwards = sa.or_(forwards, backwards)
    return sa.and_(when, forwards)


def _applies(rule: PolicyRule, directory: _Directory, message: Any) -> bool:
    """Whether ``rule`` covers ``message``: inbound mail from its senders to its recipients, and
    when it is bidirectional also outbound mail from its recipients to its senders."""
    if not rule.in_force(message.received) or not _from_ip(rule, message.sender_ip):
        return False
    recipients: Sequence[str] = message.recipients
    if message.route == "inbound":
        return directory.matches(rule.from_type, rule.from_value, message.sender) and any(
            directory.matches(rule.to_type, rule.to_value, r) for r in recipients
        )
    if message.route == "outbound" and rule.bidirectional:
        return directory.matches(rule.to_type, rule.to_value, message.sender) and any(
            directory.matches(rule.from_type, rule.from_value, r) for r in recipients
        )
    return False


def choose(rules: Iterable[PolicyRule]) -> PolicyRule | None:
    """The policy that applies among matching ones: an ``override`` policy first, then the most
    specific senders, then the most specific recipients, then the newest."""
    return max(rules, key=lambda r: (r.override, r.specificity(), r.seq), default=None)


def _directory(conn: Connection, account_id: int, rules: Sequence[PolicyRule]) -> _Directory:
    internal = frozenset(
        conn.execute(sa.select(domains.c.domain).where(domains.c.account_id == account_id))
        .scalars()
        .all()
    )
    wanted = {
        value
        for r in rules
        for kind, value in ((r.from_type, r.from_value), (r.to_type, r.to_value))
        if kind == "profile_group" and value
    }
    members: dict[str, set[str]] = {}
    if wanted:
        m = group_members.c
        for group_id, member in conn.execute(
            sa.select(m.group_id, m.member).where(m.group_id.in_(sorted(wanted)))
        ):
            members.setdefault(group_id, set()).add(member)
    return _Directory(internal, {k: frozenset(v) for k, v in members.items()})


def apply_blocked_senders(conn: Connection, account_id: int) -> int:
    """Reject the account's generated messages that a blocking policy applied to when they were
    received; the number of hold entries this removed."""
    v = blocked_sender_verdicts.c
    generated_ids = sa.select(messages.c.id).where(
        messages.c.account_id == account_id, messages.c.generated == sa.true()
    )
    conn.execute(
        blocked_sender_verdicts.delete().where(
            v.account_id == account_id,
            sa.or_(
                v.message_id.in_(generated_ids),
                v.message_id.not_in(sa.select(messages.c.id)),
            ),
        )
    )
    p = blocked_sender_policies.c
    rules = [
        rule_of(row)
        for row in conn.execute(
            sa.select(blocked_sender_policies).where(p.account_id == account_id, p.enabled)
        )
    ]
    if not any(r.option == "block_sender" for r in rules):
        return 0
    directory = _directory(conn, account_id, rules)
    blocking = [r for r in rules if r.option == "block_sender"]
    t = messages.c
    # Only a message whose sender a blocking policy names can be blocked: the database finds
    # those, so that the recipients of every other message are never decoded.
    candidates = list(
        conn.execute(
            sa.select(t.id).where(
                t.account_id == account_id,
                t.generated == sa.true(),
                sa.or_(*(_sender_side(r, directory) for r in blocking)),
            )
        ).scalars()
    )
    verdicts: list[dict[str, Any]] = []
    for start in range(0, len(candidates), _BATCH):
        for message in conn.execute(
            sa.select(t.id, t.sender, t.recipients, t.received, t.route, t.sender_ip).where(
                t.id.in_(candidates[start : start + _BATCH])
            )
        ):
            rule = choose(r for r in rules if _applies(r, directory, message))
            if rule is not None and rule.option == "block_sender":
                verdicts.append(
                    {"message_id": message.id, "account_id": account_id, "policy_id": rule.id}
                )
    removed = 0
    for start in range(0, len(verdicts), _BATCH):
        batch = verdicts[start : start + _BATCH]
        ids = [row["message_id"] for row in batch]
        conn.execute(
            messages.update().where(t.id.in_(ids)).values(status="rejected", info=BLOCKED_INFO)
        )
        removed += conn.execute(
            held_messages.delete().where(
                held_messages.c.message_id.in_(ids), held_messages.c.generated == sa.true()
            )
        ).rowcount
        conn.execute(blocked_sender_verdicts.insert(), batch)
    return removed


_DAY = 86400.0


def generate_blocked_senders(conn: Connection, account_id: int, *, seed: int, start: float) -> int:
    """Replace the account's generated policies with a few a real tenant has (a bulk mailer's
    domain and one correspondent's address blocked, a partner exempted, an old block disabled),
    in force since before ``start``, then apply the policies to the generated messages. Returns
    the number of hold entries removed (blocked messages are rejected, never held).

    The blocked senders are ordinary correspondents, not the suspicious senders the spam scanner
    holds: the hold queue a tenant is generated with stays what it was before policies existed."""
    p = blocked_sender_policies.c
    conn.execute(
        blocked_sender_policies.delete().where(p.account_id == account_id, p.generated == sa.true())
    )
    rng = random.Random(f"blocked-senders:{seed}")
    since = start - 30 * _DAY
    bulk, partner, old = rng.sample(EXTERNAL_DOMAINS, k=3)
    taken = {bulk, partner, old}
    person = next(p.email for p in externals(seed) if p.email.rpartition("@")[2] not in taken)
    made = (
        ("block_sender", f"Block bulk mailer {bulk}", "email_domain", bulk, True),
        ("block_sender", f"Block {person}", "individual_email_address", person, True),
        ("no_action", f"Never block partner {partner}", "email_domain", partner, True),
        ("block_sender", f"Old block of {old}", "email_domain", old, False),
    )  # fmt: skip
    conn.execute(
        blocked_sender_policies.insert(),
        [
            {
                "id": opaque_id(seed, "blocked-sender", n), "account_id": account_id,
                "option": option, "description": description, "comment": "",
                "from_part": "both", "from_type": kind, "from_value": value,
                "to_type": "everyone", "to_value": None, "from_date": None, "to_date": None,
                "override": False, "bidirectional": False, "enabled": enabled,
                "enforced": False, "source_ips": [], "created": since + n,
                "updated": since + n, "deleted": None, "generated": True,
            }
            for n, (option, description, kind, value, enabled) in enumerate(made)
        ],
    )  # fmt: skip
    return apply_blocked_senders(conn, account_id)
