"""What the store returns: frozen dataclasses, one per table, plus the joined :class:`AuthContext`.

Lists from JSON columns become tuples so that the values are immutable. Secrets (password hashes,
application keys, binding secret keys) are left out of ``repr`` so they never reach a log line.
The ``*_from_row`` functions take a row's values in the table's column order; :class:`AuthContext`
is built from one joined row by slicing it per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def account_from_row(row: Sequence[Any]) -> Account:
    quotas = row[10] or {}
    return Account(
        id=row[0],
        account_code=row[1],
        name=row[2],
        region=row[3],
        lockout_threshold=row[4],
        lockout_seconds=row[5],
        binding_ttl_seconds=row[6],
        max_bindings_per_user=row[7],
        quota_limit=row[8],
        quota_reset_ms=row[9],
        function_quotas=MappingProxyType(
            {path: FunctionQuota(int(q["limit"]), int(q["reset_ms"])) for path, q in quotas.items()}
        ),
        permitted_ip_ranges=_tuple(row[11]),
    )


def domain_from_row(row: Sequence[Any]) -> Domain:
    return Domain(*row)


def user_from_row(row: Sequence[Any]) -> User:
    return User(
        id=row[0],
        account_id=row[1],
        email=row[2],
        name=row[3],
        password_hash=row[4],
        auth_types=_tuple(row[5]),
        status=row[6],
        failed_attempts=row[7],
        locked_until=row[8],
        password_expires_at=row[9],
        permissions=_tuple(row[10]),
        ip_ranges=None if row[11] is None else _tuple(row[11]),
    )


def application_from_row(row: Sequence[Any]) -> Application:
    return Application(*row)


def binding_from_row(row: Sequence[Any]) -> Binding:
    return Binding(
        access_key=row[0],
        secret_key=row[1],
        user_id=row[2],
        app_id=row[3],
        created_at=row[4],
        expires_at=row[5],
        revoked=bool(row[6]),
        revoked_reason=row[7],
    )
