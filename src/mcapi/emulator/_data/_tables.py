"""The tables behind the emulated functions, on the store's shared ``metadata``.

Importing this module registers them, so that ``Store.create_all`` and ``Store.reset`` act on
them too (``mcapi.emulator.functions`` imports it). The conventions of the store apply: times are
``Float`` epoch seconds of the emulator clock, addresses are stored lower-case, lists are JSON.

Rows made by the seeded generator carry ``generated = true``, so that generating again replaces
what the generator made and keeps what API calls made. Tables that are paged have an integer
``seq`` that breaks ties between equal times: ``(time, seq)`` is the keyset of their page tokens.
"""

from __future__ import annotations

import sqlalchemy as sa

from mcapi.emulator._store._schema import metadata

__all__ = [
    "audit_events",
    "click_logs",
    "group_members",
    "groups",
    "held_messages",
    "managed_senders",
    "managed_urls",
    "messages",
    "siem_streams",
    "tenant_profiles",
]


def _account() -> sa.Column[int]:
    return sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )


def _generated() -> sa.Column[bool]:
    return sa.Column("generated", sa.Boolean, nullable=False, default=False)


#: What get-account reports beyond the store's account row; one row per account, optional.
tenant_profiles = sa.Table(
    "tenant_profiles",
    metadata,
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("max_retention_days", sa.Integer, nullable=False, default=2555),
    sa.Column("packages", sa.JSON, nullable=False, default=lambda: []),
    sa.Column("admin_email", sa.String(320), nullable=True),
    sa.Column("gateway", sa.Boolean, nullable=False, default=True),
    sa.Column("archive", sa.Boolean, nullable=False, default=True),
)

#: Archived / tracked messages (message-finder, archive).
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("received", sa.Float, nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("sender_name", sa.String(200), nullable=False, default=""),
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("info", sa.String(100), nullable=False, default=""),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sender_ip", sa.String(45), nullable=False),
    sa.Column("spam_score", sa.Integer, nullable=False, default=0),
    sa.Column("attachments", sa.JSON, nullable=False, default=lambda: []),
    sa.Column("message_id", sa.String(255), nullable=False),
    _generated(),
    sa.Index("ix_messages_account_received", "account_id", "received", "seq"),
)

#: Messages on hold (gateway); ``status`` is held, released or rejected.
held_messages = sa.Table(
    "held_messages",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("message_id", sa.String(64), nullable=True),
    sa.Column("received", sa.Float, nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("sender_name", sa.String(200), nullable=False, default=""),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("reason_code", sa.String(64), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("has_attachments", sa.Boolean, nullable=False, default=False),
    sa.Column("policy_info", sa.String(200), nullable=False, default=""),
    sa.Column("status", sa.String(16), nullable=False, default="held"),
    sa.Column("processed_at", sa.Float, nullable=True),
    sa.Column("processed_by", sa.String(320), nullable=True),
    _generated(),
    sa.Index("ix_held_messages_account_received", "account_id", "received", "seq"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("event_time", sa.Float, nullable=False),
    sa.Column("audit_type", sa.String(100), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("event_info", sa.Text, nullable=False),
    _generated(),
    sa.Index("ix_audit_events_account_time", "account_id", "event_time", "seq"),
)

#: URL Protect click logs (ttp/url/get-logs).
click_logs = sa.Table(
    "click_logs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    _account(),
    sa.Column("date", sa.Float, nullable=False),
    sa.Column("user_email", sa.String(320), nullable=False),
    sa.Column("from_user_email", sa.String(320), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("ttp_definition", sa.String(200), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("admin_override", sa.String(32), nullable=False),
    sa.Column("user_override", sa.String(32), nullable=False),
    sa.Column("scan_result", sa.String(16), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("sending_ip", sa.String(45), nullable=False),
    sa.Column("user_awareness_action", sa.String(32), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    _generated(),
    sa.Index("ix_click_logs_account_date", "account_id", "date", "seq"),
)

managed_urls = sa.Table(
    "managed_urls",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    #: the canonical form two entries may not share (match type, scheme, host, port, path, query)
    sa.Column("url_key", sa.String(2100), nullable=False),
    sa.Column("scheme", sa.String(16), nullable=False),
    sa.Column("domain", sa.String(253), nullable=False),
    sa.Column("port", sa.Integer, nullable=False),
    sa.Column("path", sa.String(2048), nullable=False),
    sa.Column("query_string", sa.String(2048), nullable=False),
    sa.Column("match_type", sa.String(16), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("comment", sa.String(500), nullable=False, default=""),
    sa.Column("disable_user_awareness", sa.Boolean, nullable=False, default=False),
    sa.Column("disable_rewrite", sa.Boolean, nullable=False, default=False),
    sa.Column("disable_log_click", sa.Boolean, nullable=False, default=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.UniqueConstraint("account_id", "url_key", name="uq_managed_urls_account_url"),
)

managed_senders = sa.Table(
    "managed_senders",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    _account(),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.UniqueConstraint(
        "account_id", "sender", "recipient", name="uq_managed_senders_account_pair"
    ),
)

#: Directory groups ("folders"); ``parent_id`` is another group's id or NULL for the root.
groups = sa.Table(
    "groups",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("source", sa.String(16), nullable=False, default="cloud"),
    sa.Column("parent_id", sa.String(64), nullable=True),
    sa.Column("created", sa.Float, nullable=False),
    _generated(),
    sa.Index("ix_groups_account_seq", "account_id", "seq"),
)

#: A group member is an e-mail address or a whole domain (``kind``).
group_members = sa.Table(
    "group_members",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "group_id",
        sa.String(64),
        sa.ForeignKey("groups.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("member", sa.String(320), nullable=False),
    sa.Column("internal", sa.Boolean, nullable=False),
    sa.Column("added", sa.Float, nullable=False),
    sa.UniqueConstraint("group_id", "member", name="uq_group_members_group_member"),
)

#: SIEM files metadata. File bodies are never stored: an MTA file is a pure function of this row,
#: its 30-minute slot and its log type, a TTP file reads the slot's click, attachment or
#: impersonation rows (see mcapi.emulator.functions._siem). No row = no files yet.
siem_streams = sa.Table(
    "siem_streams",
    metadata,
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("users", sa.Integer, nullable=False),
    sa.Column("domain", sa.String(253), nullable=False),
    #: epoch seconds where the first file's slot starts (a multiple of the slot length)
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("messages_per_user_day", sa.Integer, nullable=False),
)
