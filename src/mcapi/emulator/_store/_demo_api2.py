"""The demo tenant's API 2.0 application: what ``serve --demo`` prints as ``MCAPI_CLIENT_ID`` and
``MCAPI_CLIENT_SECRET``.

It has the administrator's permissions (role "Full Administrator"). Like the demo users'
passwords, its secret is kept in ``emulator_settings`` so that a restart on the same database
prints it again; once it is rotated, the saved one no longer verifies and is not printed. A
database made before API 2.0 existed gets the application on its next start.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mcapi.emulator._store._store import Store

__all__ = ["DEMO_API2_APPLICATION", "DemoApi2", "ensure_demo_api2"]

DEMO_API2_APPLICATION = "mcapi demo API 2.0 application"
_SECRET_SETTING = "demo.api2_secret"


@dataclass(frozen=True, slots=True)
class DemoApi2:
    client_id: str
    #: None when the secret was rotated since it was saved
    client_secret: str | None = field(repr=False)


def ensure_demo_api2(store: Store, account_id: int, *, now: float) -> DemoApi2:
    """The demo's live API 2.0 application, created (with a new secret) when there is none."""
    live = [
        a
        for a in store.list_api2_applications(account_id)
        if a.name == DEMO_API2_APPLICATION and not a.revoked
    ]
    saved = store.get_setting(_SECRET_SETTING) or {}
    if live:
        app = live[0]
        secret = saved.get(app.client_id)
        usable = secret if secret and store.check_api2_secret(app, secret) else None
        return DemoApi2(app.client_id, usable)
    app, secret = store.create_api2_application(
        account_id, DEMO_API2_APPLICATION, now=now, role="Full Administrator"
    )
    store.set_setting(_SECRET_SETTING, {app.client_id: secret})
    return DemoApi2(app.client_id, secret)
