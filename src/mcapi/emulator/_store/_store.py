"""The :class:`Store`: accounts, domains, applications, bindings and the signed-call look-up.

Every method is one statement where it can be (``INSERT/UPDATE ... RETURNING``, one joined
SELECT for :meth:`Store.auth_context`) because the request pipeline calls the store from async
code on every signed call. User operations live in :mod:`._users`; engine and transaction
discipline in :mod:`._engine`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from mcapi.emulator._store._addresses import AddressOps
from mcapi.emulator._store._api2 import Api2Ops
from mcapi.emulator._store._errors import RowNotFound
from mcapi.emulator._store._models import (
    Account,
    Application,
    AuthContext,
    Binding,
    Domain,
    account_from_row,
    application_from_row,
    binding_from_row,
    domain_from_row,
    user_from_row,
)
from mcapi.emulator._store._ops import (
    insert_account,
    insert_application,
    insert_binding,
    insert_domain,
)
from mcapi.emulator._store._schema import (
    accounts,
    applications,
    bindings,
    domains,
    emulator_settings,
    users,
)
from mcapi.emulator._store._users import UserOps, revoke_user_bindings
from mcapi.emulator._store._validate import policy_value

__all__ = ["Store"]

_JOINED = (bindings, users, accounts, applications)
# Each column labelled "<table>.<column>": the four tables share names (id, name, account_id).
_AUTH_CONTEXT = (
    sa.select(
        *(column.label(f"{table.name}.{column.name}") for table in _JOINED for column in table.c)
    )
    .select_from(
        bindings.join(users, bindings.c.user_id == users.c.id)
        .join(accounts, users.c.account_id == accounts.c.id)
        .join(applications, bindings.c.app_id == applications.c.app_id)
    )
    .where(bindings.c.access_key == sa.bindparam("access_key"))
)
_GET_BINDING = sa.select(bindings).where(bindings.c.access_key == sa.bindparam("access_key"))


class Store(UserOps, AddressOps, Api2Ops):
    """The emulator's persistent state (SQLite by default, PostgreSQL for shared deployments).

    ``Store("sqlite://")`` is an in-memory database usable from any thread; ``kdf_n`` is the
    scrypt cost of password hashes (tests lower it). Call :meth:`create_all` once before use.
    """

    # -- accounts ---------------------------------------------------------------------------

    def create_account(
        self, account_code: str, name: str, *, region: str = "us", **policy: Any
    ) -> Account:
        """Create an account; ``policy`` sets policy columns (see :meth:`update_account_policy`)."""
        with self.connect() as conn:
            return insert_account(
                conn, account_code=account_code, name=name, region=region, **policy
            )

    def update_account_policy(self, account_id: int, **fields: Any) -> Account:
        """Change policy columns: lockout_threshold, lockout_seconds, binding_ttl_seconds (None =
        never expire), max_bindings_per_user, quota_limit, quota_reset_ms, function_quotas
        ({path: {"limit": n, "reset_ms": m}}), permitted_ip_ranges (CIDR list, empty = any).
        Raises ValueError for an unknown field or an invalid value."""
        values = {key: policy_value(key, value) for key, value in fields.items()}
        if not values:
            raise ValueError("no policy field given")
        stmt = (
            accounts.update()
            .where(accounts.c.id == account_id)
            .values(**values)
            .returning(*accounts.c)
        )
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise RowNotFound(f"account {account_id} does not exist")
        return account_from_row(row._mapping)

    def get_account(self, account_id: int) -> Account | None:
        with self.connect() as conn:
            row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
        return None if row is None else account_from_row(row._mapping)

    def find_account(self, account_code: str) -> Account | None:
        """The account with this code (e.g. ``CUSA12345``)."""
        stmt = sa.select(accounts).where(accounts.c.account_code == account_code)
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else account_from_row(row._mapping)

    def list_accounts(self) -> list[Account]:
        with self.connect() as conn:
            rows = conn.execute(sa.select(accounts).order_by(accounts.c.id))
            return [account_from_row(row._mapping) for row in rows]

    # -- domains ----------------------------------------------------------------------------

    def add_domain(
        self, account_id: int, domain: str, inbound_type: str = "known", *, now: float = 0.0
    ) -> Domain:
        """Register a managed domain (stored lower-case); AlreadyExists if any account has it.

        ``now`` (the emulator clock) becomes the domain's ``created`` time."""
        with self.connect() as conn:
            return insert_domain(conn, account_id, domain, inbound_type, now)

    def find_domain(self, domain: str) -> Domain | None:
        """The managed domain, compared case-insensitively (pass the part after the @)."""
        stmt = sa.select(domains).where(domains.c.domain == domain.strip().lower())
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else domain_from_row(row._mapping)

    def list_domains(self, account_id: int) -> list[Domain]:
        stmt = sa.select(domains).where(domains.c.account_id == account_id).order_by(domains.c.id)
        with self.connect() as conn:
            return [domain_from_row(row._mapping) for row in conn.execute(stmt)]

    # -- applications -----------------------------------------------------------------------

    def create_application(
        self, account_id: int, name: str, app_id: str | None = None, app_key: str | None = None
    ) -> Application:
        """Register an API application; ids not given are random UUIDs."""
        with self.connect() as conn:
            return insert_application(conn, account_id, name, app_id, app_key)

    def get_application(self, app_id: str) -> Application | None:
        stmt = sa.select(applications).where(applications.c.app_id == app_id)
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else application_from_row(row._mapping)

    def list_applications(self, account_id: int) -> list[Application]:
        stmt = (
            sa.select(applications)
            .where(applications.c.account_id == account_id)
            .order_by(applications.c.name, applications.c.app_id)
        )
        with self.connect() as conn:
            return [application_from_row(row._mapping) for row in conn.execute(stmt)]

    # -- bindings ---------------------------------------------------------------------------

    def auth_context(self, access_key: str) -> AuthContext | None:
        """Binding, user, account and application of ``access_key`` in one query; None when the
        key is unknown. Revoked and expired bindings are returned: the caller tells them apart.
        Served from the read cache while the database is unchanged (see ``_engine``)."""
        return self.cached(("auth", access_key), lambda: self._load_auth_context(access_key))

    def _load_auth_context(self, access_key: str) -> AuthContext | None:
        with self.connect() as conn:
            row = conn.execute(_AUTH_CONTEXT, {"access_key": access_key}).first()
        if row is None:
            return None
        values = row._mapping
        binding, user, account, application = (
            {column.name: values[f"{table.name}.{column.name}"] for column in table.c}
            for table in _JOINED
        )
        return AuthContext(
            binding=binding_from_row(binding),
            user=user_from_row(user),
            account=account_from_row(account),
            application=application_from_row(application),
        )

    def create_binding(
        self,
        user_id: int,
        app_id: str,
        *,
        now: float,
        ttl_seconds: float | None,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> Binding:
        """Issue a binding (random keys unless given) expiring ``ttl_seconds`` from ``now`` (None =
        never). Raises BindingLimitReached when the user holds max_bindings_per_user live ones."""
        with self.begin() as conn:
            return insert_binding(
                conn,
                user_id,
                app_id,
                now=now,
                ttl_seconds=ttl_seconds,
                access_key=access_key,
                secret_key=secret_key,
            )

    def get_binding(self, access_key: str) -> Binding | None:
        with self.connect() as conn:
            row = conn.execute(_GET_BINDING, {"access_key": access_key}).first()
        return None if row is None else binding_from_row(row._mapping)

    def list_bindings(self, user_id: int) -> list[Binding]:
        """The user's bindings, revoked ones included, oldest first."""
        stmt = (
            sa.select(bindings)
            .where(bindings.c.user_id == user_id)
            .order_by(bindings.c.created_at, bindings.c.access_key)
        )
        with self.connect() as conn:
            return [binding_from_row(row._mapping) for row in conn.execute(stmt)]

    def refresh_binding(
        self,
        access_key: str,
        *,
        now: float,
        ttl_seconds: float | None,
        user_id: int | None = None,
    ) -> Binding:
        """Give the binding a new expiry (same keys). RowNotFound (-> 401 0008) when it does not
        exist, is revoked, or does not belong to ``user_id`` (when given)."""
        conditions = [bindings.c.access_key == access_key, bindings.c.revoked == sa.false()]
        if user_id is not None:
            conditions.append(bindings.c.user_id == user_id)
        expires_at = None if ttl_seconds is None else float(now + ttl_seconds)
        stmt = (
            bindings.update()
            .where(*conditions)
            .values(expires_at=expires_at)
            .returning(*bindings.c)
        )
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise RowNotFound("the binding does not exist, is revoked or belongs to another user")
        return binding_from_row(row._mapping)

    def delete_binding(self, access_key: str) -> bool:
        """Logout: the binding is gone (its key then gets 401 0013). False if there was none."""
        stmt = bindings.delete().where(bindings.c.access_key == access_key)
        with self.connect() as conn:
            return conn.execute(stmt).rowcount > 0

    def revoke_binding(self, access_key: str, reason: str) -> bool:
        """Revoke one binding (its key then gets 401 0012). False if it was unknown or revoked."""
        stmt = (
            bindings.update()
            .where(bindings.c.access_key == access_key, bindings.c.revoked == sa.false())
            .values(revoked=True, revoked_reason=reason)
        )
        with self.connect() as conn:
            return conn.execute(stmt).rowcount > 0

    def revoke_bindings(self, user_id: int, reason: str) -> int:
        """Revoke every live binding of the user; returns how many were revoked."""
        with self.connect() as conn:
            return revoke_user_bindings(conn, user_id, reason)

    # -- emulator settings ------------------------------------------------------------------

    def get_setting(self, name: str) -> Any:
        """A JSON value saved with :meth:`set_setting`, or None."""
        stmt = sa.select(emulator_settings.c.value).where(emulator_settings.c.name == name)
        with self.connect() as conn:
            return conn.execute(stmt).scalar()

    def set_setting(self, name: str, value: Any) -> None:
        """Save a JSON value that must survive restarts (replaces any previous value)."""
        with self.begin() as conn:
            conn.execute(emulator_settings.delete().where(emulator_settings.c.name == name))
            conn.execute(emulator_settings.insert().values(name=name, value=value))
