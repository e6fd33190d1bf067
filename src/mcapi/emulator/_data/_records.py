"""Small reads and writes several functions share: the tenant profile and audit events.

Every function that changes state writes an audit event, as the platform's audit log shows
administrators' changes; get-audit-events then lists them next to the generated ones.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data._tables import audit_events, tenant_profiles
from mcapi.emulator._store._schema import applications

if TYPE_CHECKING:
    from mcapi.emulator._store import Store

__all__ = [
    "AUDIT_CATEGORIES",
    "DEFAULT_MAX_RETENTION_DAYS",
    "TenantProfile",
    "audit_info",
    "get_profile",
    "new_id",
    "record_audit",
    "set_profile",
]

DEFAULT_MAX_RETENTION_DAYS = 2555  # seven years, a common archive retention
MAX_RETENTION_DAYS = 36500
DEFAULT_PACKAGES = (
    "Mimecast Email Security Cloud Gateway [1080]",
    "Mimecast Targeted Threat Protection - URL Protect [1056]",
    "Mimecast Cloud Archive [1071]",
    "Enhanced Logging [1076]",
)
#: The categories get-audit-events knows (the ``categories`` filter accepts these).
AUDIT_CATEGORIES = (
    "account_logs",
    "authentication_logs",
    "directory_logs",
    "email_logs",
    "policy_logs",
    "ttp_logs",
)


def new_id() -> str:
    """A random opaque id for a row an API call creates."""
    return "eNo" + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class TenantProfile:
    """The account facts get-account reports that the store's account row does not hold."""

    max_retention_days: int = DEFAULT_MAX_RETENTION_DAYS
    packages: tuple[str, ...] = DEFAULT_PACKAGES
    admin_email: str | None = None
    gateway: bool = True
    archive: bool = True


def get_profile(conn: Connection, account_id: int) -> TenantProfile:
    """The account's profile, or the defaults when none was set."""
    row = conn.execute(
        sa.select(tenant_profiles).where(tenant_profiles.c.account_id == account_id)
    ).first()
    if row is None:
        return TenantProfile()
    return TenantProfile(
        max_retention_days=row.max_retention_days,
        packages=tuple(row.packages),
        admin_email=row.admin_email,
        gateway=row.gateway,
        archive=row.archive,
    )


_PROFILE_FIELDS = frozenset(TenantProfile.__dataclass_fields__)


def set_profile(store: Store, account_id: int, **values: Any) -> TenantProfile:
    """Change profile fields (``max_retention_days``, ``packages``, ``admin_email``, ``gateway``,
    ``archive``); the others keep their current value. Raises ValueError for an unknown field."""
    unknown = set(values) - _PROFILE_FIELDS
    if unknown:
        raise ValueError(f"unknown profile field(s): {', '.join(sorted(unknown))}")
    if "packages" in values:
        packages = values["packages"]
        if isinstance(packages, str) or not all(isinstance(p, str) for p in packages):
            raise ValueError("packages must be a list of strings")
        values["packages"] = list(packages)
    days = values.get("max_retention_days", DEFAULT_MAX_RETENTION_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"max_retention_days must be a whole number from 1 to {MAX_RETENTION_DAYS}"
        )
    with store.begin() as conn:
        current = get_profile(conn, account_id)
        merged = {
            name: list(getattr(current, name)) if name == "packages" else getattr(current, name)
            for name in _PROFILE_FIELDS
        }
        merged.update(values)
        conn.execute(tenant_profiles.delete().where(tenant_profiles.c.account_id == account_id))
        conn.execute(tenant_profiles.insert().values(account_id=account_id, **merged))
        return get_profile(conn, account_id)


#: The client address an audit event names when the caller's is not known to the function.
UNKNOWN_IP = "0.0.0.0"
#: The application an audit event names when the call's application is not known.
DEFAULT_APPLICATION = "Mimecast API"


def audit_info(
    text: str,
    *,
    when: float,
    ip: str = UNKNOWN_IP,
    application: str = DEFAULT_APPLICATION,
    **extra: str,
) -> str:
    """``eventInfo`` in the shape real events have: the action, then ``, ``-separated
    ``Key: value`` pairs (``Date``, ``Time``, ``IP``, ``Application``, then ``extra`` such as
    ``Method`` or ``Reason``), which integrations split on ``, `` and ``: ``."""
    moment = datetime.fromtimestamp(when, tz=UTC)
    pairs = {
        "Date": f"{moment:%Y-%m-%d}", "Time": f"{moment:%H:%M:%S}+0000", "IP": ip,
        "Application": application, **extra,
    }  # fmt: skip
    return ", ".join([text, *(f"{key}: {value}" for key, value in pairs.items())])


def record_audit(
    conn: Connection,
    account_id: int,
    *,
    user: str,
    audit_type: str,
    category: str,
    info: str,
    now: float,
    app_id: str | None = None,
    ip: str = UNKNOWN_IP,
) -> None:
    """Append one audit event (``category`` is one of :data:`AUDIT_CATEGORIES`). ``info`` is the
    action; the date, time, IP and application (the name of ``app_id``'s registered application)
    are appended as real events carry them."""
    application = DEFAULT_APPLICATION
    if app_id is not None:
        name = conn.execute(
            sa.select(applications.c.name).where(applications.c.app_id == app_id)
        ).scalar()
        application = name or DEFAULT_APPLICATION
    info = audit_info(info, when=now, ip=ip, application=application)
    conn.execute(
        audit_events.insert().values(
            id=new_id(),
            account_id=account_id,
            event_time=now,
            audit_type=audit_type,
            category=category,
            user=user,
            event_info=info,
            generated=False,
        )
    )
