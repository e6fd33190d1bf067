"""User look-ups, the login counters and the administrator's user operations.

Lockout theory: :meth:`UserOps.record_failed_login` is one ``UPDATE ... RETURNING`` whose SET
expressions read the row's old values, so concurrent failures (threads, processes, PostgreSQL
clients) serialise on the row and each sees a distinct count: the failure that makes the count
reach the threshold is the one that sets ``locked_until``, exactly once. While a lock is in force
failures still count but do not extend it. Once a lock has lapsed the next failure starts a new
count from 1, so a user who keeps failing is locked again after another ``threshold`` failures.

Changing a user's password or permissions, or disabling the user, revokes the user's bindings in
the same transaction (calls made with them then get 401 0012, as on the platform).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._store import _validate as check
from mcapi.emulator._store._engine import StoreBase
from mcapi.emulator._store._errors import RowNotFound
from mcapi.emulator._store._models import User, user_from_row
from mcapi.emulator._store._ops import insert_user
from mcapi.emulator._store._passwords import hash_password, verify_password
from mcapi.emulator._store._schema import bindings, users

__all__ = ["UserOps"]

_SELECT_USER = sa.select(users)


def revoke_user_bindings(conn: Connection, user_id: int, reason: str) -> int:
    """Mark every live binding of ``user_id`` revoked; returns how many were."""
    stmt = (
        bindings.update()
        .where(bindings.c.user_id == user_id, bindings.c.revoked == sa.false())
        .values(revoked=True, revoked_reason=reason)
    )
    return conn.execute(stmt).rowcount


def _update(conn: Connection, user_id: int, values: Mapping[str, Any]) -> User:
    stmt = users.update().where(users.c.id == user_id).values(**values).returning(*users.c)
    row = conn.execute(stmt).first()
    if row is None:
        raise RowNotFound(f"user {user_id} does not exist")
    return user_from_row(row._mapping)


def failure_counted(
    table: sa.Table, *, now: float, threshold: int, lock_seconds: float
) -> dict[str, Any]:
    """The column values of one more failed login, as SQL evaluated in the UPDATE itself (so that
    concurrent failures count exactly): the failure that reaches ``threshold`` locks for
    ``lock_seconds``; a lock in force stays as it is; after a lapsed lock the count starts afresh;
    ``threshold`` 0 never locks. ``table`` has ``failed_attempts`` and ``locked_until``."""
    locked_until = table.c.locked_until
    lapsed = sa.and_(locked_until.is_not(None), locked_until <= now)
    base = sa.case((lapsed, 0), else_=table.c.failed_attempts)
    reaches = (base + 1 >= threshold) if threshold > 0 else sa.false()
    new_lock = sa.case(
        (locked_until > now, locked_until),
        (reaches, sa.literal(now + lock_seconds, sa.Float)),
        else_=sa.null(),
    )
    return {"failed_attempts": base + 1, "locked_until": new_lock}


class UserOps(StoreBase):
    """User operations of :class:`~mcapi.emulator._store.Store`."""

    def create_user(
        self,
        account_id: int,
        email: str,
        password: str | None,
        *,
        name: str = "",
        auth_types: Iterable[str] = ("cloud",),
        permissions: Iterable[str] = (),
        status: str = "active",
        password_expires_at: float | None = None,
        ip_ranges: Iterable[str] | None = None,
    ) -> User:
        """Create a user; ``password`` None = no cloud password (password logins fail)."""
        hashed = None if password is None else hash_password(password, n=self.kdf_n)
        with self.connect() as conn:
            return insert_user(
                conn,
                account_id,
                email,
                hashed,
                name=name,
                auth_types=auth_types,
                permissions=permissions,
                status=status,
                password_expires_at=password_expires_at,
                ip_ranges=ip_ranges,
            )

    def find_user(self, email: str) -> User | None:
        """The user with this e-mail address, compared case-insensitively."""
        with self.connect() as conn:
            row = conn.execute(_SELECT_USER.where(users.c.email == email.strip().lower())).first()
        return None if row is None else user_from_row(row._mapping)

    def get_user(self, user_id: int) -> User | None:
        with self.connect() as conn:
            row = conn.execute(_SELECT_USER.where(users.c.id == user_id)).first()
        return None if row is None else user_from_row(row._mapping)

    def list_users(self, account_id: int) -> list[User]:
        """The account's users, in creation order."""
        stmt = _SELECT_USER.where(users.c.account_id == account_id).order_by(users.c.id)
        with self.connect() as conn:
            return [user_from_row(row._mapping) for row in conn.execute(stmt)]

    @functools.cached_property
    def _decoy_hash(self) -> str:
        return hash_password("decoy password for unknown users", n=self.kdf_n)

    def check_password(self, user: User | None, password: str) -> bool:
        """Verify a login password. An unknown user (None) or a user without a password costs the
        same KDF work as a real check, so response times do not reveal which addresses exist."""
        if user is None or user.password_hash is None:
            verify_password(self._decoy_hash, password)
            return False
        return verify_password(user.password_hash, password)

    def record_failed_login(
        self, user_id: int, *, now: float, threshold: int, lock_seconds: float
    ) -> tuple[int, float | None]:
        """Count one failed login atomically; returns (failed_attempts, locked_until).

        ``threshold`` 0 never locks. See the module docstring for the rule.
        """
        stmt = (
            users.update()
            .where(users.c.id == user_id)
            .values(failure_counted(users, now=now, threshold=threshold, lock_seconds=lock_seconds))
            .returning(users.c.failed_attempts, users.c.locked_until)
        )
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise RowNotFound(f"user {user_id} does not exist")
        locked = row.locked_until
        return int(row.failed_attempts), None if locked is None else float(locked)

    def clear_failed_logins(self, user_id: int) -> None:
        """Reset the failure counter after a successful login (a lapsed lock needs no clearing)."""
        with self.connect() as conn:
            _update(conn, user_id, {"failed_attempts": 0})

    def lock_user(self, user_id: int, until: float) -> User:
        """Lock the user until ``until`` (emulator epoch seconds), as an administrator would."""
        with self.connect() as conn:
            return _update(conn, user_id, {"locked_until": until})

    def unlock_user(self, user_id: int) -> User:
        """Lift a lock and clear the failure counter."""
        with self.connect() as conn:
            return _update(conn, user_id, {"locked_until": None, "failed_attempts": 0})

    def set_user_status(self, user_id: int, status: str) -> User:
        """``active`` or ``disabled``; disabling revokes the user's bindings."""
        value = check.status(status)
        with self.begin() as conn:
            user = _update(conn, user_id, {"status": value})
            if value == "disabled":
                revoke_user_bindings(conn, user_id, "account disabled")
        return user

    def expire_password(self, user_id: int, now: float) -> User:
        """Make the password expired from ``now`` on (logins then get 403 0009)."""
        with self.connect() as conn:
            return _update(conn, user_id, {"password_expires_at": now})

    def set_password(
        self, user_id: int, password: str | None, *, expires_at: float | None = None
    ) -> User:
        """Replace the password (clearing its expiry unless ``expires_at`` is given) and revoke
        the user's bindings with reason "password change"."""
        hashed = None if password is None else hash_password(password, n=self.kdf_n)
        with self.begin() as conn:
            user = _update(
                conn, user_id, {"password_hash": hashed, "password_expires_at": expires_at}
            )
            revoke_user_bindings(conn, user_id, "password change")
        return user

    def set_permissions(self, user_id: int, permissions: Iterable[str]) -> User:
        """Replace the permissions and revoke the bindings with reason "permission change"."""
        value = check.permissions(permissions)
        with self.begin() as conn:
            user = _update(conn, user_id, {"permissions": value})
            revoke_user_bindings(conn, user_id, "permission change")
        return user

    def set_ip_ranges(self, user_id: int, ranges: Iterable[str] | None) -> User:
        """The user's own permitted CIDR ranges; None = inherit the account's."""
        value = None if ranges is None else check.cidr_list(ranges)
        with self.connect() as conn:
            return _update(conn, user_id, {"ip_ranges": value})
