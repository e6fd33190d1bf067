"""The demo tenant: what ``mcapi emulator serve --demo`` puts in front of a new user.

One account (``CUSA12345``, "Demo Corp", region us) with the managed domain ``demo.example``, one
API application and three users: an administrator with every permission, a read-only user and a
disabled former employee, plus an API 2.0 application with the administrator's permissions
(:mod:`._demo_api2`). The administrator also gets a binding that never expires, so the
printed access/secret keys can be pasted into any Mimecast client straight away.

The database file outlives the process, so :func:`ensure_demo` creates the tenant only once and
on later starts finds the same application and binding again. ``serve --demo`` also fills the
tenant with a small generated dataset (:data:`DEMO_DATA`) the first time it creates it, so that
get-siem-logs, archive search and the hold lists answer with data at once (``Emulator.load_demo``
runs it through the generate operation; this module only names it).

Passwords are random; because a hash cannot give the password back, the demo users' passwords are
kept in the ``emulator_settings`` table (the demo's binding secret key sits in plaintext next to
them anyway, as HMAC verification needs it: the emulator's database is test data, not a vault).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mcapi.emulator._store._demo_api2 import ensure_demo_api2
from mcapi.emulator._store._errors import SeedError, StoreError
from mcapi.emulator._store._seed import apply_seed
from mcapi.emulator._store._seed_plan import GeneratePlan
from mcapi.emulator._store._store import Store
from mcapi.emulator._store._validate import READ_ONLY_PERMISSIONS

__all__ = [
    "DEMO_ACCOUNT_CODE",
    "DEMO_DATA",
    "READ_ONLY_PERMISSIONS",
    "DemoCredentials",
    "demo_seed",
    "ensure_demo",
]

DEMO_ACCOUNT_CODE = "CUSA12345"
DEMO_DOMAIN = "demo.example"
DEMO_APPLICATION = "mcapi demo application"
DEMO_ADMIN = f"admin@{DEMO_DOMAIN}"
DEMO_READER = f"reader@{DEMO_DOMAIN}"
DEMO_FORMER = f"former@{DEMO_DOMAIN}"
_PASSWORDS_SETTING = "demo.passwords"
#: The data ``serve --demo`` generates when it creates the tenant (about 1,400 messages, 40 ms).
DEMO_DATA = GeneratePlan(seed=1, users=25, days=3, messages_per_user_day=20)


def _random_password() -> str:
    return secrets.token_urlsafe(12)


@dataclass(frozen=True, slots=True)
class DemoCredentials:
    """What to print so a user can call the demo tenant at once."""

    account_code: str
    app_id: str
    app_key: str = field(repr=False)
    admin_email: str
    #: None when the administrator's password was changed since the tenant was created
    admin_password: str | None = field(repr=False)
    access_key: str
    secret_key: str = field(repr=False)
    #: every demo user's password that still works, by e-mail address
    passwords: Mapping[str, str] = field(repr=False)
    #: True when this call created the tenant, False when it was already there
    created: bool
    #: the demo's API 2.0 application (administrator's permissions); the secret is None once
    #: rotated
    client_id: str = ""
    client_secret: str | None = field(default=None, repr=False)


def demo_seed(password: Callable[[], str] = _random_password) -> dict[str, Any]:
    """The demo tenant as a seed document; ``password()`` makes each user's password."""
    return {
        "version": 1,
        "accounts": [
            {
                "code": DEMO_ACCOUNT_CODE,
                "name": "Demo Corp",
                "region": "us",
                "domains": [{"domain": DEMO_DOMAIN, "inbound_type": "known"}],
                "applications": [{"name": DEMO_APPLICATION}],
                "users": [
                    {
                        "email": DEMO_ADMIN,
                        "name": "Demo Administrator",
                        "password": password(),
                        "auth_types": ["cloud", "domain"],
                        "permissions": ["*"],
                    },
                    {
                        "email": DEMO_READER,
                        "name": "Demo Reader",
                        "password": password(),
                        "auth_types": ["cloud", "domain"],
                        "permissions": list(READ_ONLY_PERMISSIONS),
                    },
                    {
                        "email": DEMO_FORMER,
                        "name": "Former Employee",
                        "password": password(),
                        "permissions": list(READ_ONLY_PERMISSIONS),
                        "status": "disabled",
                    },
                ],
                "bindings": [
                    {"user": DEMO_ADMIN, "application": DEMO_APPLICATION, "ttl_seconds": "never"}
                ],
            }
        ],
    }


def ensure_demo(
    store: Store, *, now: float, password: Callable[[], str] = _random_password
) -> DemoCredentials:
    """Create the demo tenant unless it exists; either way return its credentials.

    On a database that already holds it, the same application and never-expiring admin binding
    are returned (a new one is issued if the old one was revoked or deleted)."""
    with store.exclusive("demo"):  # processes starting at once on one database make one demo
        return _ensure_demo(store, now=now, password=password)


def _ensure_demo(store: Store, *, now: float, password: Callable[[], str]) -> DemoCredentials:
    created = False
    if store.find_account(DEMO_ACCOUNT_CODE) is None:
        doc = demo_seed(password)
        try:
            apply_seed(store, doc, now=now)
        except SeedError:
            if store.find_account(DEMO_ACCOUNT_CODE) is None:
                raise
            # another emulator process sharing the database created it first
        else:
            created = True
            users = doc["accounts"][0]["users"]
            store.set_setting(_PASSWORDS_SETTING, {u["email"]: u["password"] for u in users})
    return _credentials(store, now=now, created=created)


def _credentials(store: Store, *, now: float, created: bool) -> DemoCredentials:
    account = store.find_account(DEMO_ACCOUNT_CODE)
    admin = store.find_user(DEMO_ADMIN)
    apps = [] if account is None else store.list_applications(account.id)
    app = next((a for a in apps if a.name == DEMO_APPLICATION), None)
    if account is None or admin is None or app is None or admin.account_id != account.id:
        raise StoreError(
            f"the database holds an account {DEMO_ACCOUNT_CODE} that is not the demo tenant "
            "(its administrator or application is missing); reset the emulator's database"
        )
    binding = next(
        (
            b
            for b in store.list_bindings(admin.id)
            if b.app_id == app.app_id and not b.revoked and b.expires_at is None
        ),
        None,
    ) or store.create_binding(admin.id, app.app_id, now=now, ttl_seconds=None)
    api2 = ensure_demo_api2(store, account.id, now=now)
    saved = store.get_setting(_PASSWORDS_SETTING) or {}
    passwords = {}
    for email, candidate in saved.items():
        if store.check_password(store.find_user(email), candidate):
            passwords[email] = candidate
    return DemoCredentials(
        account_code=account.account_code,
        app_id=app.app_id,
        app_key=app.app_key,
        admin_email=admin.email,
        admin_password=passwords.get(admin.email),
        access_key=binding.access_key,
        secret_key=binding.secret_key,
        passwords=passwords,
        created=created,
        client_id=api2.client_id,
        client_secret=api2.client_secret,
    )
