"""The emulator's tables (SQLAlchemy Core).

One shared :data:`metadata` holds every table of the emulator; other modules add their tables
(messages, audit events, ...) to it, and :meth:`Store.create_all` / :meth:`Store.reset` act on all
of them. The SQL stays portable between SQLite (the default) and PostgreSQL (shared deployments):

- times are ``Float`` epoch seconds taken from the emulator's clock (never ``time``), so advancing
  the clock in a test moves every expiry consistently;
- lists and maps are ``JSON`` columns; a nullable JSON column maps Python ``None`` to SQL NULL;
- e-mail addresses and domains are stored lower-cased, so a unique constraint is enough to make
  look-ups case-insensitive on both engines (no ``ILIKE``/``COLLATE NOCASE``).

Policy defaults mirror what the platform is reported to use: lockout after 5 failures for 15
minutes, bindings that live 3 days (NULL = "Never Expire"), at most 2000 bindings per user.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "DEFAULT_BINDING_TTL_SECONDS",
    "accounts",
    "applications",
    "bindings",
    "domains",
    "emulator_settings",
    "login_failures",
    "metadata",
    "users",
]

DEFAULT_BINDING_TTL_SECONDS = 3 * 24 * 3600

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_code", sa.String(32), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("region", sa.String(16), nullable=False, default="us"),
    sa.Column("lockout_threshold", sa.Integer, nullable=False, default=5),
    sa.Column("lockout_seconds", sa.Integer, nullable=False, default=900),
    sa.Column(
        "binding_ttl_seconds", sa.Integer, nullable=True, default=DEFAULT_BINDING_TTL_SECONDS
    ),
    sa.Column("max_bindings_per_user", sa.Integer, nullable=False, default=2000),
    sa.Column("quota_limit", sa.Integer, nullable=False, default=300),
    sa.Column("quota_reset_ms", sa.Integer, nullable=False, default=1000),
    # {function path: {"limit": n, "reset_ms": m}}
    sa.Column("function_quotas", sa.JSON, nullable=False, default=lambda: {}),
    # CIDR strings; empty = calls accepted from anywhere
    sa.Column("permitted_ip_ranges", sa.JSON, nullable=False, default=lambda: []),
)

domains = sa.Table(
    "domains",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("domain", sa.String(253), nullable=False, unique=True),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("inbound_type", sa.String(16), nullable=False, default="known"),
    sa.Column("created", sa.Float, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False, default=""),
    # NULL = no cloud password set: every password login fails
    sa.Column("password_hash", sa.String(255), nullable=True),
    sa.Column("auth_types", sa.JSON, nullable=False, default=lambda: ["cloud"]),
    sa.Column("status", sa.String(16), nullable=False, default="active"),
    sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float, nullable=True),
    sa.Column("password_expires_at", sa.Float, nullable=True),
    sa.Column("permissions", sa.JSON, nullable=False, default=lambda: []),
    # NULL = inherit the account's permitted_ip_ranges
    sa.Column("ip_ranges", sa.JSON(none_as_null=True), nullable=True),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("app_id", sa.String(64), primary_key=True),
    sa.Column("app_key", sa.String(128), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)

bindings = sa.Table(
    "bindings",
    metadata,
    sa.Column("access_key", sa.String(128), primary_key=True),
    sa.Column("secret_key", sa.String(128), nullable=False),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column(
        "app_id",
        sa.String(64),
        sa.ForeignKey("applications.app_id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("created_at", sa.Float, nullable=False),
    # NULL = never expires
    sa.Column("expires_at", sa.Float, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("revoked_reason", sa.String(64), nullable=True),
)

# Small emulator-wide facts that must survive a restart, e.g. the demo tenant's admin password
# so that `mcapi emulator serve --demo` can print it again (see _seed.ensure_demo).
emulator_settings = sa.Table(
    "emulator_settings",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

# Failed logins of addresses that are not users (lower-case), counted like users' so that an
# unknown address locks after the same number of failures: login answers never tell the two apart,
# whichever emulator process of a shared deployment answers them.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("address", sa.String(320), primary_key=True),
    sa.Column("failed_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.Float, nullable=True),
)
