"""Attachment Protect and Impersonation Protect logs (ttp/attachment/get-logs,
ttp/impersonation/get-logs), on the store's shared ``metadata``.

The conventions of ``_tables`` apply: epoch-second ``Float`` times, lower-case addresses, JSON
lists, ``generated`` rows replaced by the generator, ``(time, seq)`` as the page keyset.
"""

from __future__ import annotations

import sqlalchemy as sa

from mcapi.emulator._store._schema import metadata

__all__ = ["attachment_logs", "impersonation_logs"]


def _account() -> sa.Column[int]:
    return sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )


#: One attachment sandboxed by Attachment Protect.
attachment_logs = sa.Table(
    "attachment_logs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    _account(),
    sa.Column("date", sa.Float, nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("file_type", sa.String(255), nullable=False),
    sa.Column("file_size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("md5", sa.String(32), nullable=False),
    sa.Column("sha1", sa.String(40), nullable=False),
    #: safe, malicious, timeout or error
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("action_triggered", sa.String(100), nullable=False),
    sa.Column("definition", sa.String(200), nullable=False),
    sa.Column("details", sa.String(500), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("sender_ip", sa.String(45), nullable=False),
    sa.Column("generated", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_attachment_logs_account_date", "account_id", "date", "seq"),
)

#: One message Impersonation Protect matched.
impersonation_logs = sa.Table(
    "impersonation_logs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("event_time", sa.Float, nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    sa.Column("definition", sa.String(200), nullable=False),
    sa.Column("hits", sa.Integer, nullable=False),
    #: the identifiers that matched (JSON list of strings)
    sa.Column("identifiers", sa.JSON, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    #: who the message posed as: ``Display Name <address>``
    sa.Column("posed_as", sa.String(400), nullable=False),
    sa.Column("tagged_external", sa.Boolean, nullable=False),
    sa.Column("tagged_malicious", sa.Boolean, nullable=False),
    sa.Column("sender_ip", sa.String(45), nullable=False),
    sa.Column("route", sa.String(16), nullable=False),
    sa.Column("message_id", sa.String(255), nullable=False),
    sa.Column("generated", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_impersonation_logs_account_time", "account_id", "event_time", "seq"),
)
