"""What the store returns: frozen dataclasses, one per table, plus the joined :class:`AuthContext`.

Lists from JSON columns become tuples so that the values are immutable. Secrets (password hashes,
application keys, binding secret keys) are left out of ``repr`` so they never reach a log line.
The ``*_from_row`` functions read a row by column name (``row._mapping`` of a select of the
table); :class:`AuthContext` is built from one joined row whose columns are labelled per table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = [
    "Account",
    "Application",
    "AuthContext",
    "Binding",
    "Domain",
    "FunctionQuota",
    "User",
]

ALL_PERMISSIONS = "*"


@dataclass(frozen=True, slots=True)
class FunctionQuota:
    """A rate-limit bucket: ``limit`` calls, one added back every ``reset_ms`` milliseconds."""

    limit: int
    reset_ms: int


@dataclass(frozen=True, slots=True)
class Account:
    """A customer account and its policies."""

    id: int
    account_code: str
    name: str
    region: str
    lockout_threshold: int
    lockout_seconds: int
    #: None = bindings never expire ("Never Expire" authentication cache TTL)
    binding_ttl_seconds: int | None
    max_bindings_per_user: int
    quota_limit: int
    quota_reset_ms: int
    function_quotas: Mapping[str, FunctionQuota]
    #: CIDR strings; empty = any address
    permitted_ip_ranges: tuple[str, ...]

    def quota_for(self, path: str) -> FunctionQuota:
        """The rate-limit bucket of ``path``: its override, else the account's default."""
        override = self.function_quotas.get(path)
        if override is not None:
            return override
        return FunctionQuota(self.quota_limit, self.quota_reset_ms)


@dataclass(frozen=True, slots=True)
class Domain:
    """A managed domain; ``created`` is epoch seconds on the emulator clock."""

    id: int
    domain: str
    account_id: int
    inbound_type: str
    created: float


@dataclass(frozen=True, slots=True)
class User:
    """A user (e-mail address stored lower-case) with its login state and permissions."""

    id: int
    account_id: int
    email: str
    name: str
    password_hash: str | None = field(repr=False)
    auth_types: tuple[str, ...]
    status: str
    failed_attempts: int
    locked_until: float | None
    password_expires_at: float | None
    #: permission strings such as "Account | Dashboard | Read", or "*" for all
    permissions: tuple[str, ...]
    #: None = the account's permitted ranges apply
    ip_ranges: tuple[str, ...] | None

    @property
    def disabled(self) -> bool:
        return self.status == "disabled"

    def locked(self, now: float) -> bool:
        """True while a lock set by failed logins or an administrator is in force."""
        return self.locked_until is not None and now < self.locked_until

    def password_expired(self, now: float) -> bool:
        return self.password_expires_at is not None and now >= self.password_expires_at

    def has_permission(self, permission: str) -> bool:
        return ALL_PERMISSIONS in self.permissions or permission in self.permissions

    def effective_ip_ranges(self, account: Account) -> tuple[str, ...]:
        """The CIDR ranges calls are accepted from (empty = any)."""
        return account.permitted_ip_ranges if self.ip_ranges is None else self.ip_ranges


@dataclass(frozen=True, slots=True)
class Application:
    """A registered API application (Application ID + Application Key)."""

    app_id: str
    app_key: str = field(repr=False)
    name: str
    account_id: int


@dataclass(frozen=True, slots=True)
class Binding:
    """An access key / secret key pair issued to a user for an application."""

    access_key: str
    secret_key: str = field(repr=False)
    user_id: int
    app_id: str
    created_at: float
    #: None = never expires
    expires_at: float | None
    revoked: bool
    revoked_reason: str | None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def ttl_seconds(self, now: float) -> float | None:
        """Seconds left before expiry (never negative); None for a binding that never expires."""
        return None if self.expires_at is None else max(0.0, self.expires_at - now)


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Everything a signed call needs, read in one query from the access key."""

    binding: Binding
    user: User
    account: Account
    application: Application


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(value or ())


def account_from_row(row: Mapping[Any, Any]) -> Account:
    quotas = row["function_quotas"] or {}
    return Account(
        id=row["id"],
        account_code=row["account_code"],
        name=row["name"],
        region=row["region"],
        lockout_threshold=row["lockout_threshold"],
        lockout_seconds=row["lockout_seconds"],
        binding_ttl_seconds=row["binding_ttl_seconds"],
        max_bindings_per_user=row["max_bindings_per_user"],
        quota_limit=row["quota_limit"],
        quota_reset_ms=row["quota_reset_ms"],
        function_quotas=MappingProxyType(
            {path: FunctionQuota(int(q["limit"]), int(q["reset_ms"])) for path, q in quotas.items()}
        ),
        permitted_ip_ranges=_tuple(row["permitted_ip_ranges"]),
    )


def domain_from_row(row: Mapping[Any, Any]) -> Domain:
    return Domain(
        id=row["id"],
        domain=row["domain"],
        account_id=row["account_id"],
        inbound_type=row["inbound_type"],
        created=row["created"],
    )


def user_from_row(row: Mapping[Any, Any]) -> User:
    ip_ranges = row["ip_ranges"]
    return User(
        id=row["id"],
        account_id=row["account_id"],
        email=row["email"],
        name=row["name"],
        password_hash=row["password_hash"],
        auth_types=_tuple(row["auth_types"]),
        status=row["status"],
        failed_attempts=row["failed_attempts"],
        locked_until=row["locked_until"],
        password_expires_at=row["password_expires_at"],
        permissions=_tuple(row["permissions"]),
        ip_ranges=None if ip_ranges is None else _tuple(ip_ranges),
    )


def application_from_row(row: Mapping[Any, Any]) -> Application:
    return Application(
        app_id=row["app_id"],
        app_key=row["app_key"],
        name=row["name"],
        account_id=row["account_id"],
    )


def binding_from_row(row: Mapping[Any, Any]) -> Binding:
    return Binding(
        access_key=row["access_key"],
        secret_key=row["secret_key"],
        user_id=row["user_id"],
        app_id=row["app_id"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked=bool(row["revoked"]),
        revoked_reason=row["revoked_reason"],
    )
