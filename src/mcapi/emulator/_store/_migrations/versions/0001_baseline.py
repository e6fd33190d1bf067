"""The schema when migrations were introduced (the tables of mcapi 0.1).

Revision ID: 0001
Revises:
Create Date: 2026-12-02 03:45:09.528673
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Create-if-absent: a database made before migrations existed keeps its tables (checked
    # by _migrate before this runs) and gains only the ones it lacks.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "accounts" not in existing:
        op.create_table(
            "accounts",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_code", sa.String(length=32), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("region", sa.String(length=16), nullable=False),
            sa.Column("lockout_threshold", sa.Integer(), nullable=False),
            sa.Column("lockout_seconds", sa.Integer(), nullable=False),
            sa.Column("binding_ttl_seconds", sa.Integer(), nullable=True),
            sa.Column("max_bindings_per_user", sa.Integer(), nullable=False),
            sa.Column("quota_limit", sa.Integer(), nullable=False),
            sa.Column("quota_reset_ms", sa.Integer(), nullable=False),
            sa.Column("function_quotas", sa.JSON(), nullable=False),
            sa.Column("permitted_ip_ranges", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
            sa.UniqueConstraint("account_code", name=op.f("uq_accounts_account_code")),
        )
    if "emulator_settings" not in existing:
        op.create_table(
            "emulator_settings",
            sa.Column("name", sa.String(length=64), nullable=False),
            sa.Column("value", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("name", name=op.f("pk_emulator_settings")),
        )
    if "login_failures" not in existing:
        op.create_table(
            "login_failures",
            sa.Column("address", sa.String(length=320), nullable=False),
            sa.Column("failed_attempts", sa.Integer(), nullable=False),
            sa.Column("locked_until", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("address", name=op.f("pk_login_failures")),
        )
    if "applications" not in existing:
        op.create_table(
            "applications",
            sa.Column("app_id", sa.String(length=64), nullable=False),
            sa.Column("app_key", sa.String(length=128), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_applications_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("app_id", name=op.f("pk_applications")),
        )
        with op.batch_alter_table("applications", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_applications_account_id"), ["account_id"], unique=False
            )

    if "attachment_logs" not in existing:
        op.create_table(
            "attachment_logs",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("date", sa.Float(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("file_name", sa.String(length=255), nullable=False),
            sa.Column("file_type", sa.String(length=255), nullable=False),
            sa.Column("file_size", sa.Integer(), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("md5", sa.String(length=32), nullable=False),
            sa.Column("sha1", sa.String(length=40), nullable=False),
            sa.Column("result", sa.String(length=16), nullable=False),
            sa.Column("action_triggered", sa.String(length=100), nullable=False),
            sa.Column("definition", sa.String(length=200), nullable=False),
            sa.Column("details", sa.String(length=500), nullable=False),
            sa.Column("route", sa.String(length=16), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("message_id", sa.String(length=255), nullable=False),
            sa.Column("sender_ip", sa.String(length=45), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_attachment_logs_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_attachment_logs")),
        )
        with op.batch_alter_table("attachment_logs", schema=None) as batch_op:
            batch_op.create_index(
                "ix_attachment_logs_account_date", ["account_id", "date", "seq"], unique=False
            )

    if "audit_events" not in existing:
        op.create_table(
            "audit_events",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("event_time", sa.Float(), nullable=False),
            sa.Column("audit_type", sa.String(length=100), nullable=False),
            sa.Column("category", sa.String(length=64), nullable=False),
            sa.Column("user", sa.String(length=320), nullable=False),
            sa.Column("event_info", sa.Text(), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_audit_events_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
            sa.UniqueConstraint("id", name=op.f("uq_audit_events_id")),
        )
        with op.batch_alter_table("audit_events", schema=None) as batch_op:
            batch_op.create_index(
                "ix_audit_events_account_time", ["account_id", "event_time", "seq"], unique=False
            )

    if "blocked_sender_policies" not in existing:
        op.create_table(
            "blocked_sender_policies",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("option", sa.String(length=16), nullable=False),
            sa.Column("description", sa.String(length=200), nullable=False),
            sa.Column("comment", sa.String(length=500), nullable=False),
            sa.Column("from_part", sa.String(length=16), nullable=False),
            sa.Column("from_type", sa.String(length=32), nullable=False),
            sa.Column("from_value", sa.String(length=320), nullable=True),
            sa.Column("to_type", sa.String(length=32), nullable=False),
            sa.Column("to_value", sa.String(length=320), nullable=True),
            sa.Column("from_date", sa.Float(), nullable=True),
            sa.Column("to_date", sa.Float(), nullable=True),
            sa.Column("override", sa.Boolean(), nullable=False),
            sa.Column("bidirectional", sa.Boolean(), nullable=False),
            sa.Column("enabled", sa.Boolean(), nullable=False),
            sa.Column("enforced", sa.Boolean(), nullable=False),
            sa.Column("source_ips", sa.JSON(), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.Column("updated", sa.Float(), nullable=False),
            sa.Column("deleted", sa.Float(), nullable=True),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_blocked_sender_policies_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_blocked_sender_policies")),
            sa.UniqueConstraint("id", name=op.f("uq_blocked_sender_policies_id")),
        )
        with op.batch_alter_table("blocked_sender_policies", schema=None) as batch_op:
            batch_op.create_index(
                "ix_blocked_sender_policies_account_seq", ["account_id", "seq"], unique=False
            )

    if "blocked_sender_verdicts" not in existing:
        op.create_table(
            "blocked_sender_verdicts",
            sa.Column("message_id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("policy_id", sa.String(length=64), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_blocked_sender_verdicts_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("message_id", name=op.f("pk_blocked_sender_verdicts")),
        )
    if "click_logs" not in existing:
        op.create_table(
            "click_logs",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("date", sa.Float(), nullable=False),
            sa.Column("user_email", sa.String(length=320), nullable=False),
            sa.Column("from_user_email", sa.String(length=320), nullable=False),
            sa.Column("url", sa.String(length=2048), nullable=False),
            sa.Column("ttp_definition", sa.String(length=200), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("action", sa.String(length=16), nullable=False),
            sa.Column("admin_override", sa.String(length=32), nullable=False),
            sa.Column("user_override", sa.String(length=32), nullable=False),
            sa.Column("scan_result", sa.String(length=16), nullable=False),
            sa.Column("category", sa.String(length=64), nullable=False),
            sa.Column("sending_ip", sa.String(length=45), nullable=False),
            sa.Column("user_awareness_action", sa.String(length=32), nullable=False),
            sa.Column("route", sa.String(length=16), nullable=False),
            sa.Column("message_id", sa.String(length=255), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_click_logs_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_click_logs")),
        )
        with op.batch_alter_table("click_logs", schema=None) as batch_op:
            batch_op.create_index(
                "ix_click_logs_account_date", ["account_id", "date", "seq"], unique=False
            )

    if "domains" not in existing:
        op.create_table(
            "domains",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("domain", sa.String(length=253), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("inbound_type", sa.String(length=16), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_domains_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_domains")),
            sa.UniqueConstraint("domain", name=op.f("uq_domains_domain")),
        )
        with op.batch_alter_table("domains", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_domains_account_id"), ["account_id"], unique=False)

    if "groups" not in existing:
        op.create_table(
            "groups",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("description", sa.String(length=200), nullable=False),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("parent_id", sa.String(length=64), nullable=True),
            sa.Column("created", sa.Float(), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_groups_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_groups")),
            sa.UniqueConstraint("id", name=op.f("uq_groups_id")),
        )
        with op.batch_alter_table("groups", schema=None) as batch_op:
            batch_op.create_index("ix_groups_account_seq", ["account_id", "seq"], unique=False)

    if "held_messages" not in existing:
        op.create_table(
            "held_messages",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("message_id", sa.String(length=64), nullable=True),
            sa.Column("received", sa.Float(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("sender_name", sa.String(length=200), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("reason", sa.String(length=200), nullable=False),
            sa.Column("reason_code", sa.String(length=64), nullable=False),
            sa.Column("route", sa.String(length=16), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("has_attachments", sa.Boolean(), nullable=False),
            sa.Column("policy_info", sa.String(length=200), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("processed_at", sa.Float(), nullable=True),
            sa.Column("processed_by", sa.String(length=320), nullable=True),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_held_messages_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_held_messages")),
            sa.UniqueConstraint("id", name=op.f("uq_held_messages_id")),
        )
        with op.batch_alter_table("held_messages", schema=None) as batch_op:
            batch_op.create_index(
                "ix_held_messages_account_received", ["account_id", "received", "seq"], unique=False
            )

    if "impersonation_logs" not in existing:
        op.create_table(
            "impersonation_logs",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("event_time", sa.Float(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("definition", sa.String(length=200), nullable=False),
            sa.Column("hits", sa.Integer(), nullable=False),
            sa.Column("identifiers", sa.JSON(), nullable=False),
            sa.Column("action", sa.String(length=32), nullable=False),
            sa.Column("posed_as", sa.String(length=400), nullable=False),
            sa.Column("tagged_external", sa.Boolean(), nullable=False),
            sa.Column("tagged_malicious", sa.Boolean(), nullable=False),
            sa.Column("sender_ip", sa.String(length=45), nullable=False),
            sa.Column("route", sa.String(length=16), nullable=False),
            sa.Column("message_id", sa.String(length=255), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_impersonation_logs_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_impersonation_logs")),
            sa.UniqueConstraint("id", name=op.f("uq_impersonation_logs_id")),
        )
        with op.batch_alter_table("impersonation_logs", schema=None) as batch_op:
            batch_op.create_index(
                "ix_impersonation_logs_account_time",
                ["account_id", "event_time", "seq"],
                unique=False,
            )

    if "managed_senders" not in existing:
        op.create_table(
            "managed_senders",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("action", sa.String(length=16), nullable=False),
            sa.Column("updated", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_managed_senders_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_managed_senders")),
            sa.UniqueConstraint(
                "account_id", "sender", "recipient", name="uq_managed_senders_account_pair"
            ),
        )
    if "managed_urls" not in existing:
        op.create_table(
            "managed_urls",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("url_key", sa.String(length=2100), nullable=False),
            sa.Column("scheme", sa.String(length=16), nullable=False),
            sa.Column("domain", sa.String(length=253), nullable=False),
            sa.Column("port", sa.Integer(), nullable=False),
            sa.Column("path", sa.String(length=2048), nullable=False),
            sa.Column("query_string", sa.String(length=2048), nullable=False),
            sa.Column("match_type", sa.String(length=16), nullable=False),
            sa.Column("action", sa.String(length=16), nullable=False),
            sa.Column("comment", sa.String(length=500), nullable=False),
            sa.Column("disable_user_awareness", sa.Boolean(), nullable=False),
            sa.Column("disable_rewrite", sa.Boolean(), nullable=False),
            sa.Column("disable_log_click", sa.Boolean(), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_managed_urls_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_managed_urls")),
            sa.UniqueConstraint("account_id", "url_key", name="uq_managed_urls_account_url"),
            sa.UniqueConstraint("id", name=op.f("uq_managed_urls_id")),
        )
    if "message_attachments" not in existing:
        op.create_table(
            "message_attachments",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("message_id", sa.String(length=64), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("received", sa.Float(), nullable=False),
            sa.Column("filename", sa.String(length=255), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("sha1", sa.String(length=40), nullable=False),
            sa.Column("md5", sa.String(length=32), nullable=False),
            sa.Column("malicious", sa.Boolean(), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_message_attachments_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_message_attachments")),
        )
        with op.batch_alter_table("message_attachments", schema=None) as batch_op:
            batch_op.create_index("ix_message_attachments_md5", ["account_id", "md5"], unique=False)
            batch_op.create_index("ix_message_attachments_message", ["message_id"], unique=False)
            batch_op.create_index(
                "ix_message_attachments_sha1", ["account_id", "sha1"], unique=False
            )
            batch_op.create_index(
                "ix_message_attachments_sha256", ["account_id", "sha256"], unique=False
            )

    if "messages" not in existing:
        op.create_table(
            "messages",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("received", sa.Float(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("sender_name", sa.String(length=200), nullable=False),
            sa.Column("recipients", sa.JSON(), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("route", sa.String(length=16), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("info", sa.String(length=100), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("sender_ip", sa.String(length=45), nullable=False),
            sa.Column("spam_score", sa.Integer(), nullable=False),
            sa.Column("attachments", sa.JSON(), nullable=False),
            sa.Column("message_id", sa.String(length=255), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_messages_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_messages")),
            sa.UniqueConstraint("id", name=op.f("uq_messages_id")),
        )
        with op.batch_alter_table("messages", schema=None) as batch_op:
            batch_op.create_index(
                "ix_messages_account_received", ["account_id", "received", "seq"], unique=False
            )

    if "processing_messages" not in existing:
        op.create_table(
            "processing_messages",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("sender_name", sa.String(length=200), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("route", sa.String(length=16), nullable=False),
            sa.Column("size", sa.Integer(), nullable=False),
            sa.Column("has_attachments", sa.Boolean(), nullable=False),
            sa.Column("remote_ip", sa.String(length=45), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt", sa.Float(), nullable=False),
            sa.Column("info", sa.String(length=300), nullable=False),
            sa.Column("priority", sa.String(length=16), nullable=False),
            sa.Column("left_at", sa.Float(), nullable=True),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_processing_messages_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_processing_messages")),
            sa.UniqueConstraint("id", name=op.f("uq_processing_messages_id")),
        )
        with op.batch_alter_table("processing_messages", schema=None) as batch_op:
            batch_op.create_index(
                "ix_processing_messages_account_created",
                ["account_id", "created", "seq"],
                unique=False,
            )

    if "remediation_incidents" not in existing:
        op.create_table(
            "remediation_incidents",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("code", sa.String(length=32), nullable=False),
            sa.Column("type", sa.String(length=16), nullable=False),
            sa.Column("reason", sa.String(length=500), nullable=False),
            sa.Column("search_by", sa.String(length=16), nullable=False),
            sa.Column("value", sa.String(length=998), nullable=False),
            sa.Column("start", sa.Float(), nullable=False),
            sa.Column("end", sa.Float(), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.Column("modified", sa.Float(), nullable=False),
            sa.Column("created_by", sa.String(length=320), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_remediation_incidents_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_remediation_incidents")),
            sa.UniqueConstraint("id", name=op.f("uq_remediation_incidents_id")),
        )
    if "remediation_messages" not in existing:
        op.create_table(
            "remediation_messages",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("incident_id", sa.String(length=64), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("message_id", sa.String(length=64), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_remediation_messages_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_remediation_messages")),
        )
        with op.batch_alter_table("remediation_messages", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_remediation_messages_incident_id"), ["incident_id"], unique=False
            )
            batch_op.create_index(
                "ix_remediation_messages_message",
                ["account_id", "message_id", "status"],
                unique=False,
            )

    if "siem_streams" not in existing:
        op.create_table(
            "siem_streams",
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("seed", sa.BigInteger(), nullable=False),
            sa.Column("users", sa.Integer(), nullable=False),
            sa.Column("domain", sa.String(length=253), nullable=False),
            sa.Column("start", sa.Float(), nullable=False),
            sa.Column("messages_per_user_day", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_siem_streams_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("account_id", name=op.f("pk_siem_streams")),
        )
    if "tenant_profiles" not in existing:
        op.create_table(
            "tenant_profiles",
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("max_retention_days", sa.Integer(), nullable=False),
            sa.Column("packages", sa.JSON(), nullable=False),
            sa.Column("admin_email", sa.String(length=320), nullable=True),
            sa.Column("gateway", sa.Boolean(), nullable=False),
            sa.Column("archive", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_tenant_profiles_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("account_id", name=op.f("pk_tenant_profiles")),
        )
    if "threat_indicators" not in existing:
        op.create_table(
            "threat_indicators",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("feed_type", sa.String(length=32), nullable=False),
            sa.Column("created", sa.Float(), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("md5", sa.String(length=32), nullable=False),
            sa.Column("filename", sa.String(length=255), nullable=False),
            sa.Column("file_type", sa.String(length=100), nullable=False),
            sa.Column("sender", sa.String(length=320), nullable=False),
            sa.Column("recipient", sa.String(length=320), nullable=False),
            sa.Column("subject", sa.String(length=500), nullable=False),
            sa.Column("message_id", sa.String(length=64), nullable=False),
            sa.Column("generated", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_threat_indicators_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("seq", name=op.f("pk_threat_indicators")),
        )
        with op.batch_alter_table("threat_indicators", schema=None) as batch_op:
            batch_op.create_index(
                "ix_threat_indicators_feed",
                ["account_id", "feed_type", "created", "seq"],
                unique=False,
            )

    if "users" not in existing:
        op.create_table(
            "users",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("email", sa.String(length=320), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("password_hash", sa.String(length=255), nullable=True),
            sa.Column("auth_types", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("failed_attempts", sa.Integer(), nullable=False),
            sa.Column("locked_until", sa.Float(), nullable=True),
            sa.Column("password_expires_at", sa.Float(), nullable=True),
            sa.Column("permissions", sa.JSON(), nullable=False),
            sa.Column("ip_ranges", sa.JSON(none_as_null=True), nullable=True),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_users_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
            sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        )
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_users_account_id"), ["account_id"], unique=False)

    if "bindings" not in existing:
        op.create_table(
            "bindings",
            sa.Column("access_key", sa.String(length=128), nullable=False),
            sa.Column("secret_key", sa.String(length=128), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("app_id", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=True),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.Column("revoked_reason", sa.String(length=64), nullable=True),
            sa.ForeignKeyConstraint(
                ["app_id"],
                ["applications.app_id"],
                name=op.f("fk_bindings_app_id_applications"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
                name=op.f("fk_bindings_user_id_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("access_key", name=op.f("pk_bindings")),
        )
        with op.batch_alter_table("bindings", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_bindings_user_id"), ["user_id"], unique=False)

    if "group_members" not in existing:
        op.create_table(
            "group_members",
            sa.Column("id", sa.String(length=64), nullable=False),
            sa.Column("group_id", sa.String(length=64), nullable=False),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("member", sa.String(length=320), nullable=False),
            sa.Column("internal", sa.Boolean(), nullable=False),
            sa.Column("added", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["group_id"],
                ["groups.id"],
                name=op.f("fk_group_members_group_id_groups"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
            sa.UniqueConstraint("group_id", "member", name="uq_group_members_group_member"),
        )
        with op.batch_alter_table("group_members", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_group_members_group_id"), ["group_id"], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_group_id"))

    op.drop_table("group_members")
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bindings_user_id"))

    op.drop_table("bindings")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_account_id"))

    op.drop_table("users")
    with op.batch_alter_table("threat_indicators", schema=None) as batch_op:
        batch_op.drop_index("ix_threat_indicators_feed")

    op.drop_table("threat_indicators")
    op.drop_table("tenant_profiles")
    op.drop_table("siem_streams")
    with op.batch_alter_table("remediation_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_remediation_messages_message")
        batch_op.drop_index(batch_op.f("ix_remediation_messages_incident_id"))

    op.drop_table("remediation_messages")
    op.drop_table("remediation_incidents")
    with op.batch_alter_table("processing_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_processing_messages_account_created")

    op.drop_table("processing_messages")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_account_received")

    op.drop_table("messages")
    with op.batch_alter_table("message_attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_message_attachments_sha256")
        batch_op.drop_index("ix_message_attachments_sha1")
        batch_op.drop_index("ix_message_attachments_message")
        batch_op.drop_index("ix_message_attachments_md5")

    op.drop_table("message_attachments")
    op.drop_table("managed_urls")
    op.drop_table("managed_senders")
    with op.batch_alter_table("impersonation_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_impersonation_logs_account_time")

    op.drop_table("impersonation_logs")
    with op.batch_alter_table("held_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_held_messages_account_received")

    op.drop_table("held_messages")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index("ix_groups_account_seq")

    op.drop_table("groups")
    with op.batch_alter_table("domains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domains_account_id"))

    op.drop_table("domains")
    with op.batch_alter_table("click_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_click_logs_account_date")

    op.drop_table("click_logs")
    op.drop_table("blocked_sender_verdicts")
    with op.batch_alter_table("blocked_sender_policies", schema=None) as batch_op:
        batch_op.drop_index("ix_blocked_sender_policies_account_seq")

    op.drop_table("blocked_sender_policies")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_account_time")

    op.drop_table("audit_events")
    with op.batch_alter_table("attachment_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_attachment_logs_account_date")

    op.drop_table("attachment_logs")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_account_id"))

    op.drop_table("applications")
    op.drop_table("login_failures")
    op.drop_table("emulator_settings")
    op.drop_table("accounts")
