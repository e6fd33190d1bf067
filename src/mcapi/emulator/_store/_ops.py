"""Inserts that take a connection, so a caller can group several in one transaction.

:class:`Store` wraps each in its own transaction; the seed loader runs a whole seed document
through them inside one, so a bad seed leaves the database untouched. Each insert is a single
``INSERT ... RETURNING`` (SQLite 3.35+ and PostgreSQL both support it).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import uuid
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._store import _validate as check
from mcapi.emulator._store._errors import AlreadyExists, BindingLimitReached, RowNotFound
from mcapi.emulator._store._models import (
    Account,
    Application,
    Binding,
    Domain,
    User,
    account_from_row,
    application_from_row,
    binding_from_row,
    domain_from_row,
    user_from_row,
)
from mcapi.emulator._store._schema import accounts, applications, bindings, domains, users

__all__ = [
    "access_key",
    "insert_account",
    "insert_application",
    "insert_binding",
    "insert_domain",
    "insert_user",
    "new_access_key",
    "new_secret_key",
    "secret_key",
]

# Characters that survive the "MC {accessKey}:{signature}" header and URL-safe base64.
_KEY_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{8,128}$")


def new_access_key() -> str:
    """A random access key: URL-safe base64 of 64 random bytes (86 characters), never starting
    with ``-``, so that it can be given to a command (``mcapi emulator expire-binding KEY``)
    without being read as an option."""
    while True:
        key = secrets.token_urlsafe(64)
        if not key.startswith("-"):
            return key


def new_secret_key() -> str:
    """A random secret key: standard base64 of 64 random bytes, the shape Mimecast issues."""
    return base64.b64encode(secrets.token_bytes(64)).decode("ascii")


def access_key(value: Any) -> str:
    """A caller-chosen access key (8-128 characters, no spaces or colons)."""
    if not isinstance(value, str) or not _KEY_RE.match(value):
        raise ValueError("must be 8-128 characters from A-Z a-z 0-9 . _ ~ + / = -")
    return value


def secret_key(value: Any) -> str:
    """A caller-chosen secret key: it must be base64, because signing decodes it."""
    try:
        if isinstance(value, str) and len(base64.b64decode(value, validate=True)) >= 16:
            return value
    except (binascii.Error, ValueError):
        pass
    raise ValueError("must be base64 of at least 16 bytes (signing base64-decodes it)")


def integrity_error(exc: sa.exc.IntegrityError, what: str) -> Exception:
    """Turn a constraint violation into the store's exception: a missing parent or a duplicate."""
    if "foreign key" in str(exc.orig).lower():
        return RowNotFound(f"{what}: the account, user or application it refers to does not exist")
    return AlreadyExists(f"{what} already exists")


def insert_account(
    conn: Connection, *, account_code: str, name: str, region: str, **policy: Any
) -> Account:
    values = {key: check.policy_value(key, value) for key, value in policy.items()}
    stmt = accounts.insert().returning(*accounts.c)
    try:
        row = conn.execute(
            stmt, {"account_code": account_code, "name": name, "region": region, **values}
        ).one()
    except sa.exc.IntegrityError as exc:
        raise integrity_error(exc, f"account {account_code}") from None
    return account_from_row(row._mapping)


def insert_domain(
    conn: Connection, account_id: int, domain: str, inbound_type: str, now: float
) -> Domain:
    name = check.domain_name(domain)
    values = {
        "domain": name,
        "account_id": account_id,
        "inbound_type": check.inbound_type(inbound_type),
        "created": float(now),
    }
    try:
        row = conn.execute(domains.insert().returning(*domains.c), values).one()
    except sa.exc.IntegrityError as exc:
        raise integrity_error(exc, f"domain {name}") from None
    return domain_from_row(row._mapping)


def insert_user(
    conn: Connection,
    account_id: int,
    email: str,
    password_hash: str | None,
    *,
    name: str,
    auth_types: Iterable[str],
    permissions: Iterable[str],
    status: str,
    password_expires_at: float | None,
    ip_ranges: Iterable[str] | None,
) -> User:
    address = check.email_address(email)
    values = {
        "account_id": account_id,
        "email": address,
        "name": name,
        "password_hash": password_hash,
        "auth_types": check.auth_types(list(auth_types)),
        "status": check.status(status),
        "failed_attempts": 0,
        "password_expires_at": password_expires_at,
        "permissions": check.permissions(list(permissions)),
        "ip_ranges": None if ip_ranges is None else check.cidr_list(list(ip_ranges)),
    }
    try:
        row = conn.execute(users.insert().returning(*users.c), values).one()
    except sa.exc.IntegrityError as exc:
        raise integrity_error(exc, f"user {address}") from None
    return user_from_row(row._mapping)


def insert_application(
    conn: Connection, account_id: int, name: str, app_id: str | None, app_key: str | None
) -> Application:
    values = {
        "app_id": app_id or str(uuid.uuid4()),
        "app_key": app_key or str(uuid.uuid4()),
        "name": name,
        "account_id": account_id,
    }
    try:
        row = conn.execute(applications.insert().returning(*applications.c), values).one()
    except sa.exc.IntegrityError as exc:
        raise integrity_error(exc, f"application {values['app_id']}") from None
    return application_from_row(row._mapping)


# Lock the user's row first (FOR UPDATE OF users; SQLAlchemy leaves it out on SQLite, where BEGIN
# IMMEDIATE already serialises writers), THEN count: under PostgreSQL's READ COMMITTED each
# statement reads a fresh snapshot, so the count sees every binding committed by a concurrent
# login of the same user that held the lock before us. (A count in the locking statement itself
# would read the snapshot taken before the wait, and let concurrent logins exceed the limit.)
_LOCK_USER_LIMIT = (
    sa.select(accounts.c.max_bindings_per_user)
    .select_from(users.join(accounts, users.c.account_id == accounts.c.id))
    .where(users.c.id == sa.bindparam("user_id"))
    .with_for_update(of=users)
)
_LIVE_BINDINGS = (
    sa.select(sa.func.count())
    .select_from(bindings)
    .where(bindings.c.user_id == sa.bindparam("user_id"), bindings.c.revoked == sa.false())
)
_INSERT_BINDING = bindings.insert().returning(*bindings.c)


def insert_binding(
    conn: Connection,
    user_id: int,
    app_id: str,
    *,
    now: float,
    ttl_seconds: float | None,
    access_key: str | None = None,
    secret_key: str | None = None,
) -> Binding:
    """Count the user's live bindings and insert a new one; call inside a write transaction."""
    limit = conn.execute(_LOCK_USER_LIMIT, {"user_id": user_id}).scalar()
    if limit is None:
        raise RowNotFound(f"user {user_id} does not exist")
    if conn.execute(_LIVE_BINDINGS, {"user_id": user_id}).scalar_one() >= limit:
        raise BindingLimitReached(user_id, limit)
    values = {
        "access_key": access_key or new_access_key(),
        "secret_key": secret_key or new_secret_key(),
        "user_id": user_id,
        "app_id": app_id,
        "created_at": float(now),
        "expires_at": None if ttl_seconds is None else float(now + ttl_seconds),
        "revoked": False,
        "revoked_reason": None,
    }
    try:
        return binding_from_row(conn.execute(_INSERT_BINDING, values).one()._mapping)
    except sa.exc.IntegrityError as exc:
        raise integrity_error(exc, "binding with this access key") from None
