"""The administrator's API 2.0 operations: register applications, rotate secrets, revoke, roles.

A mixin of :class:`mcapi.emulator._operations.Admin` (``Emulator.admin``, the ``mcapi_admin``
fixture, the admin API's ``/_emulator/api2/...`` routes and ``mcapi emulator app ...``). The
client secret is returned when an application is created or its secret rotated, and never again:
the store keeps only its hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcapi.emulator._store import RowNotFound
from mcapi.emulator._store._api2 import Api2Application

if TYPE_CHECKING:
    from mcapi.emulator._state import EmulatorState
    from mcapi.emulator._store import Account, Store

__all__ = ["Api2AdminOps", "Api2Keys"]


@dataclass(frozen=True, slots=True)
class Api2Keys:
    """An application's client id and secret, as shown once at creation or rotation."""

    client_id: str
    client_secret: str = field(repr=False)
    application: Api2Application

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "application": self.application.to_dict(),
        }


def _refused(exc: Exception, field: str = "") -> Exception:
    """The store's complaint as the admin's error (its message names the field when ``field``
    is not given)."""
    from mcapi.emulator._operations import AdminError, UnknownTarget

    if isinstance(exc, LookupError):
        return UnknownTarget(field or "client_id", str(exc))
    return AdminError(field, str(exc))


def _strings(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise _refused(ValueError("expected a list of strings"), name)
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise _refused(ValueError("expected a list of strings"), name)
    return items


class Api2AdminOps:
    """API 2.0 applications, for :class:`~mcapi.emulator._operations.Admin`."""

    state: EmulatorState

    if TYPE_CHECKING:  # Admin's own

        @property
        def store(self) -> Store: ...

        def account(self, account_code: str) -> Account: ...

    def apps(self, account_code: str | None = None) -> list[Api2Application]:
        """Every API 2.0 application (of one account when given), by name."""
        account_id = None if account_code is None else self.account(account_code).id
        return self.store.list_api2_applications(account_id)

    def app(self, client_id: str) -> Api2Application:
        """The application with this client id; UnknownTarget if there is none."""
        found = self.store.get_api2_application(client_id) if isinstance(client_id, str) else None
        if found is None:
            raise _refused(RowNotFound(f"no API 2.0 application {client_id}"), "client_id")
        return found

    def create_app(
        self,
        account_code: str,
        name: str,
        *,
        role: str = "Full Administrator",
        permissions: Iterable[str] | None = None,
        products: Iterable[str] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> Api2Keys:
        """Register an API 2.0 application in the account; returns its id and secret (the
        secret is random unless given, and is not shown again)."""
        account = self.account(account_code)
        try:
            app, secret = self.store.create_api2_application(
                account.id, name, now=self.state.clock.now(), role=role,
                permissions=_strings(permissions, "permissions"),
                products=_strings(products, "products"), client_id=client_id,
                client_secret=client_secret,
            )  # fmt: skip
        except (ValueError, LookupError) as exc:
            raise _refused(exc) from None
        return Api2Keys(app.client_id, secret, app)

    def rotate_app_secret(self, client_id: str, client_secret: str | None = None) -> Api2Keys:
        """A new secret for the application; the old one is refused from now on (tokens already
        issued last until they expire)."""
        self.app(client_id)
        try:
            app, secret = self.store.rotate_api2_secret(client_id, client_secret)
        except (ValueError, LookupError) as exc:
            raise _refused(exc) from None
        return Api2Keys(app.client_id, secret, app)

    def revoke_app(self, client_id: str) -> Api2Application:
        """Revoke the application: its tokens are refused at once, no new token is issued."""
        self.app(client_id)
        return self.store.revoke_api2_application(client_id)

    def set_app_role(
        self, client_id: str, role: str, permissions: Iterable[str] | None = None
    ) -> Api2Application:
        """Give the application another role ("Custom" takes ``permissions``)."""
        self.app(client_id)
        try:
            return self.store.set_api2_role(client_id, role, _strings(permissions, "permissions"))
        except (ValueError, LookupError) as exc:
            raise _refused(exc) from None
