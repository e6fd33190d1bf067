"""API 2.0 applications and their access tokens (OAuth 2.0 client credentials).

An API 2.0 application belongs to an account and has a client id, a client secret (stored as a
scrypt hash, like passwords: the secret is shown once, when it is made), a role that decides its
permissions, a set of products, and a revoked flag. ``POST /oauth/token`` exchanges the id and
secret for an opaque access token; the store keeps the SHA-256 of each token with its expiry on
the emulator's clock, so every emulator process sharing a database accepts it.

A call with ``Authorization: Bearer <token>`` is authenticated as the application itself: the
pipeline receives an :class:`Api2AuthContext`, an :class:`AuthContext` whose user is the
application's principal (named ``api2:<client id>``, holding the role's permissions, under the
account's permitted IP ranges) so that every later check and every function runs unchanged.

Emulator's own choices (the platform does not document them): rotating a secret leaves tokens
already issued valid until they expire; revoking an application refuses its tokens at once.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi._constants import TOKEN_TTL_SECONDS
from mcapi.emulator._store import _validate as check
from mcapi.emulator._store._engine import StoreBase
from mcapi.emulator._store._errors import AlreadyExists, RowNotFound
from mcapi.emulator._store._models import (
    Account,
    Application,
    AuthContext,
    Binding,
    User,
    account_from_row,
)
from mcapi.emulator._store._passwords import hash_password, verify_password
from mcapi.emulator._store._schema import accounts, metadata

__all__ = [
    "API2_ROLES",
    "PRODUCTS",
    "TOKEN_TTL_SECONDS",
    "Api2Application",
    "Api2AuthContext",
    "Api2Ops",
    "IssuedToken",
    "api2_applications",
    "api2_tokens",
    "insert_api2_application",
    "role_permissions",
]


#: The roles an application can be given, by name: what each lets it call. "Custom" takes an
#: explicit permission list. The role names are the emulator's own.
API2_ROLES: dict[str, tuple[str, ...]] = {
    "Full Administrator": ("*",),
    "Read Only": (
        "Account | Dashboard | Read",
        "Account | Logs | Read",
        "Gateway | Tracking | Read",
        "Monitoring | URL Protection | Read",
        "Monitoring | Attachment Protection | Read",
        "Monitoring | Impersonation Protection | Read",
        "Archive | Search Content View",
        "Archive | Search | Read",
        "Directories | Groups | Read",
        "Directories | Internal | Read",
        "Gateway | Policies | Read",
        "Services | Threat Remediation | Read",
    ),
}
CUSTOM_ROLE = "Custom"
#: Products an application may be registered for (recorded, not enforced: emulator's choice).
PRODUCTS = ("Cloud Gateway", "Cloud Integrated", "Awareness Training", "Threat Intel")

_ALPHANUMERIC = string.ascii_letters + string.digits

api2_applications = sa.Table(
    "api2_applications",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.String(255), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("role", sa.String(100), nullable=False),
    sa.Column("permissions", sa.JSON, nullable=False, default=lambda: []),
    sa.Column("products", sa.JSON, nullable=False, default=lambda: []),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

api2_tokens = sa.Table(
    "api2_tokens",
    metadata,
    # SHA-256 of the token, hex: the token itself is never stored
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "client_id",
        sa.String(64),
        sa.ForeignKey("api2_applications.client_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Api2Application:
    """An API 2.0 application (client id, hashed secret, role, products)."""

    client_id: str
    secret_hash: str = field(repr=False)
    name: str
    account_id: int
    role: str
    permissions: tuple[str, ...]
    products: tuple[str, ...]
    revoked: bool
    created_at: float

    @property
    def principal(self) -> str:
        """The name calls made with this application's tokens act under (journal, audit)."""
        return f"api2:{self.client_id}"

    def to_dict(self) -> dict[str, Any]:
        """The application as JSON, without its secret."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "account_id": self.account_id,
            "role": self.role,
            "permissions": list(self.permissions),
            "products": list(self.products),
            "revoked": self.revoked,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token as the token endpoint hands it out (the only time it is seen)."""

    access_token: str = field(repr=False)
    client_id: str
    expires_at: float
    expires_in: int


@dataclass(frozen=True, slots=True)
class Api2AuthContext(AuthContext):
    """A Bearer call's authentication: the application, acting through its principal user."""

    api2_app: Api2Application
    token_expires_at: float


def _app_from_row(row: Sequence[Any]) -> Api2Application:
    return Api2Application(
        client_id=row[0],
        secret_hash=row[1],
        name=row[2],
        account_id=row[3],
        role=row[4],
        permissions=tuple(row[5] or ()),
        products=tuple(row[6] or ()),
        revoked=bool(row[7]),
        created_at=row[8],
    )


def role_permissions(role: str, permissions: Iterable[str] | None) -> tuple[str, tuple[str, ...]]:
    """The role's name and permission list: a named role's own, or ``permissions`` for "Custom".
    Raises ValueError for an unknown role, or permissions given with a named role."""
    if role == CUSTOM_ROLE:
        if permissions is None:
            raise ValueError("role Custom needs a permissions list")
        return role, tuple(check.permissions(list(permissions)))
    if role not in API2_ROLES:
        known = ", ".join([*API2_ROLES, CUSTOM_ROLE])
        raise ValueError(f"unknown role {role!r}; one of {known}")
    if permissions is not None:
        raise ValueError("permissions are only given with role Custom")
    return role, API2_ROLES[role]


def checked_products(products: Iterable[str] | None) -> tuple[str, ...]:
    chosen = tuple(products) if products is not None else PRODUCTS[:1]
    unknown = [p for p in chosen if p not in PRODUCTS]
    if unknown:
        raise ValueError(f"unknown product(s) {unknown}; known: {', '.join(PRODUCTS)}")
    return tuple(dict.fromkeys(chosen))


def new_client_id() -> str:
    """A random client id: 32 letters and digits."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))


def new_client_secret() -> str:
    """A random client secret: 48 letters and digits (about 285 bits)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(48))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def checked_secret(secret: str) -> str:
    if not isinstance(secret, str) or not 16 <= len(secret) <= 256 or not secret.isprintable():
        raise ValueError("a client secret is 16-256 printable characters")
    return secret


def insert_api2_application(
    conn: Connection,
    account_id: int,
    name: str,
    *,
    secret_hash: str,
    role: str = "Full Administrator",
    permissions: Iterable[str] | None = None,
    products: Iterable[str] | None = None,
    client_id: str | None = None,
    now: float,
) -> Api2Application:
    """Insert an application (the secret already hashed); AlreadyExists if the client id is
    taken, RowNotFound if the account is not there."""
    role, granted = role_permissions(role, permissions)
    chosen = checked_products(products)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValueError("an application name is 1-200 characters")
    client_id = client_id if client_id is not None else new_client_id()
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise ValueError("a client id is 8-64 characters")
    if conn.execute(sa.select(accounts.c.id).where(accounts.c.id == account_id)).first() is None:
        raise RowNotFound(f"account {account_id} does not exist")
    taken = sa.select(api2_applications.c.client_id).where(
        api2_applications.c.client_id == client_id
    )
    if conn.execute(taken).first() is not None:
        raise AlreadyExists(f"client id {client_id} is taken")
    stmt = (
        api2_applications.insert()
        .values(
            client_id=client_id, secret_hash=secret_hash, name=name.strip(),
            account_id=account_id, role=role, permissions=list(granted), products=list(chosen),
            revoked=False, created_at=float(now),
        )
        .returning(*api2_applications.c)
    )  # fmt: skip
    row = conn.execute(stmt).one()
    return _app_from_row(row)


_A2 = len(api2_applications.c)
_ACCOUNT_COLUMNS = tuple(c.name for c in accounts.c)
_TOKEN_CONTEXT = (
    sa.select(api2_applications, accounts, api2_tokens.c.expires_at)
    .select_from(
        api2_tokens.join(
            api2_applications, api2_tokens.c.client_id == api2_applications.c.client_id
        ).join(accounts, api2_applications.c.account_id == accounts.c.id)
    )
    .where(api2_tokens.c.token_hash == sa.bindparam("token_hash"))
)


def _context(app: Api2Application, account: Account, expires_at: float) -> Api2AuthContext:
    """The principal a Bearer call acts as: a user-shaped view of the application."""
    principal = User(
        id=0, account_id=account.id, email=app.principal, name=app.name, password_hash=None,
        auth_types=(), status="active", failed_attempts=0, locked_until=None,
        password_expires_at=None, permissions=app.permissions, ip_ranges=None,
    )  # fmt: skip
    application = Application(
        app_id=app.client_id, app_key="", name=app.name, account_id=account.id
    )
    binding = Binding(
        access_key="", secret_key="", user_id=0, app_id=app.client_id,
        created_at=app.created_at, expires_at=expires_at, revoked=app.revoked,
        revoked_reason="application revoked" if app.revoked else None,
    )  # fmt: skip
    return Api2AuthContext(
        binding=binding, user=principal, account=account, application=application,
        api2_app=app, token_expires_at=expires_at,
    )  # fmt: skip


class Api2Ops(StoreBase):
    """API 2.0 applications and tokens (a mixin of :class:`~mcapi.emulator._store.Store`)."""

    def create_api2_application(
        self,
        account_id: int,
        name: str,
        *,
        now: float,
        role: str = "Full Administrator",
        permissions: Iterable[str] | None = None,
        products: Iterable[str] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> tuple[Api2Application, str]:
        """Register an application; returns it with its client secret (random unless given),
        the only time the secret is seen."""
        secret = checked_secret(client_secret) if client_secret else new_client_secret()
        hashed = hash_password(secret, n=self.kdf_n)
        with self.begin() as conn:
            app = insert_api2_application(
                conn, account_id, name, secret_hash=hashed, role=role, permissions=permissions,
                products=products, client_id=client_id, now=now,
            )  # fmt: skip
        return app, secret

    def get_api2_application(self, client_id: str) -> Api2Application | None:
        stmt = sa.select(api2_applications).where(api2_applications.c.client_id == client_id)
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else _app_from_row(row)

    def list_api2_applications(self, account_id: int | None = None) -> list[Api2Application]:
        """Every application (of one account when given), by name."""
        stmt = sa.select(api2_applications).order_by(
            api2_applications.c.name, api2_applications.c.client_id
        )
        if account_id is not None:
            stmt = stmt.where(api2_applications.c.account_id == account_id)
        with self.connect() as conn:
            return [_app_from_row(row) for row in conn.execute(stmt)]

    def _update_api2(self, client_id: str, **values: Any) -> Api2Application:
        stmt = (
            api2_applications.update()
            .where(api2_applications.c.client_id == client_id)
            .values(**values)
            .returning(*api2_applications.c)
        )
        with self.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            raise RowNotFound(f"no API 2.0 application {client_id}")
        return _app_from_row(row)

    def rotate_api2_secret(
        self, client_id: str, client_secret: str | None = None
    ) -> tuple[Api2Application, str]:
        """Give the application a new secret (random unless given); the old one stops working
        at once, tokens already issued keep working until they expire."""
        secret = checked_secret(client_secret) if client_secret else new_client_secret()
        app = self._update_api2(client_id, secret_hash=hash_password(secret, n=self.kdf_n))
        return app, secret

    def revoke_api2_application(self, client_id: str) -> Api2Application:
        """Revoke the application: its tokens are refused and no new one is issued."""
        app = self._update_api2(client_id, revoked=True)
        with self.connect() as conn:
            conn.execute(api2_tokens.delete().where(api2_tokens.c.client_id == client_id))
        return app

    def set_api2_role(
        self, client_id: str, role: str, permissions: Iterable[str] | None = None
    ) -> Api2Application:
        """Change the application's role (and so its permissions)."""
        role, granted = role_permissions(role, permissions)
        return self._update_api2(client_id, role=role, permissions=list(granted))

    def check_api2_secret(self, app: Api2Application, client_secret: str) -> bool:
        """Whether ``client_secret`` is the application's secret (constant time)."""
        return verify_password(app.secret_hash, client_secret)

    def issue_api2_token(
        self, client_id: str, *, now: float, ttl_seconds: int = TOKEN_TTL_SECONDS
    ) -> IssuedToken:
        """Store a new access token for the application (its expired ones are dropped)."""
        token = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(32))
        expires_at = float(now + ttl_seconds)
        with self.begin() as conn:
            conn.execute(
                api2_tokens.delete().where(
                    api2_tokens.c.client_id == client_id, api2_tokens.c.expires_at <= now
                )
            )
            conn.execute(
                api2_tokens.insert().values(
                    token_hash=_token_hash(token), client_id=client_id, issued_at=float(now),
                    expires_at=expires_at,
                )
            )  # fmt: skip
        return IssuedToken(token, client_id, expires_at, ttl_seconds)

    def api2_auth_context(self, token: str) -> Api2AuthContext | None:
        """The application and account of an access token (expired ones included: the caller
        compares the expiry with its clock); None for a token never issued or whose application
        was revoked. Served from the read cache while the database is unchanged."""
        digest = _token_hash(token)
        return self.cached(("api2", digest), lambda: self._load_api2_context(digest))

    def _load_api2_context(self, digest: str) -> Api2AuthContext | None:
        with self.connect() as conn:
            row = conn.execute(_TOKEN_CONTEXT, {"token_hash": digest}).first()
        if row is None:
            return None
        app = _app_from_row(row[:_A2])
        account = account_from_row(dict(zip(_ACCOUNT_COLUMNS, row[_A2:-1], strict=True)))
        return _context(app, account, float(row[-1]))
