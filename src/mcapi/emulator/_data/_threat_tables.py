"""The tables behind threat remediation and the threat-intelligence feed.

They extend the archive (``messages``) without changing it: ``message_attachments`` holds the file
hashes of every attachment a message lists (the archive keeps names, types and sizes only), keyed
by the message's ``id``; remediation incidents and the messages each one removed live in their
own tables; the feed's indicators are rows of ``threat_indicators``. The conventions of
``_tables`` apply (epoch-second times, ``generated`` rows replaced by the next generation, ``seq``
as the tie-breaker of page tokens).
"""

from __future__ import annotations

import sqlalchemy as sa

from mcapi.emulator._store._schema import metadata

__all__ = [
    "message_attachments",
    "remediation_incidents",
    "remediation_messages",
    "threat_indicators",
]


def _account() -> sa.Column[int]:
    return sa.Column(
        "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False
    )


#: One row per attachment of an archived message (``messages.attachments[index]``), with its
#: hashes and whether the platform judged it malicious. No foreign key to ``messages``: the
#: generator replaces both tables, and a message's ``id`` is stable across generations.
message_attachments = sa.Table(
    "message_attachments",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    _account(),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("received", sa.Float, nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("sha1", sa.String(40), nullable=False),
    sa.Column("md5", sa.String(32), nullable=False),
    sa.Column("malicious", sa.Boolean, nullable=False, default=False),
    sa.Column("generated", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_message_attachments_sha256", "account_id", "sha256"),
    sa.Index("ix_message_attachments_md5", "account_id", "md5"),
    sa.Index("ix_message_attachments_sha1", "account_id", "sha1"),
    sa.Index("ix_message_attachments_message", "message_id"),
)

#: Remediation incidents created through the API (ttp/remediation/create).
remediation_incidents = sa.Table(
    "remediation_incidents",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    _account(),
    sa.Column("code", sa.String(32), nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("search_by", sa.String(16), nullable=False),
    sa.Column("value", sa.String(998), nullable=False),
    sa.Column("start", sa.Float, nullable=False),
    sa.Column("end", sa.Float, nullable=False),
    #: the sender and first recipient of the message a messageId search found, else ""
    sa.Column("sender", sa.String(320), nullable=False, default=""),
    sa.Column("recipient", sa.String(320), nullable=False, default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("modified", sa.Float, nullable=False),
    sa.Column("created_by", sa.String(320), nullable=False),
)

#: What an incident did to each message it identified: ``removed`` (this incident took it out of
#: the mailboxes) or ``failed`` (another incident had already removed it).
remediation_messages = sa.Table(
    "remediation_messages",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.String(64), nullable=False, index=True),
    _account(),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Index("ix_remediation_messages_message", "account_id", "message_id", "status"),
)

#: Indicators of the threat-intelligence feed: ``feed_type`` is malware_customer (files found
#: in this account's mail) or malware_grid (found across the account's regional grid).
threat_indicators = sa.Table(
    "threat_indicators",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    _account(),
    sa.Column("feed_type", sa.String(32), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("md5", sa.String(32), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("file_type", sa.String(100), nullable=False),
    sa.Column("sender", sa.String(320), nullable=False),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(500), nullable=False),
    #: the archived message it came from (customer indicators of generated mail), else ""
    sa.Column("message_id", sa.String(64), nullable=False, default=""),
    sa.Column("generated", sa.Boolean, nullable=False, default=False),
    sa.Index("ix_threat_indicators_feed", "account_id", "feed_type", "created", "seq"),
)
