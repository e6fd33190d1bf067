"""API 2.0: the applications (client credentials) and the tokens issued to them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 04:31:42.385840
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Create-if-absent, as the first revision: a database adopted without migration history may
    # already hold these tables (made by create_all), and keeps them.
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "api2_applications" not in existing:
        op.create_table(
            "api2_applications",
            sa.Column("client_id", sa.String(length=64), nullable=False),
            sa.Column("secret_hash", sa.String(length=255), nullable=False),
            sa.Column("name", sa.String(length=200), nullable=False),
            sa.Column("account_id", sa.Integer(), nullable=False),
            sa.Column("role", sa.String(length=100), nullable=False),
            sa.Column("permissions", sa.JSON(), nullable=False),
            sa.Column("products", sa.JSON(), nullable=False),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["account_id"],
                ["accounts.id"],
                name=op.f("fk_api2_applications_account_id_accounts"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("client_id", name=op.f("pk_api2_applications")),
        )
        with op.batch_alter_table("api2_applications", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_api2_applications_account_id"), ["account_id"], unique=False
            )

    if "api2_tokens" not in existing:
        op.create_table(
            "api2_tokens",
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("client_id", sa.String(length=64), nullable=False),
            sa.Column("issued_at", sa.Float(), nullable=False),
            sa.Column("expires_at", sa.Float(), nullable=False),
            sa.ForeignKeyConstraint(
                ["client_id"],
                ["api2_applications.client_id"],
                name=op.f("fk_api2_tokens_client_id_api2_applications"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_api2_tokens")),
        )
        with op.batch_alter_table("api2_tokens", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_api2_tokens_client_id"), ["client_id"], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("api2_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api2_tokens_client_id"))

    op.drop_table("api2_tokens")
    with op.batch_alter_table("api2_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api2_applications_account_id"))

    op.drop_table("api2_applications")
