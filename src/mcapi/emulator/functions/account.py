"""``/api/account/get-account``: the caller's account, as the dashboard shows it."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data._records import TenantProfile
from mcapi.emulator._data._tables import tenant_profiles
from mcapi.emulator._store import Account, Store
from mcapi.emulator._store._schema import domains, users
from mcapi.emulator.functions._common import Item, run_single
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, INT, STR, array, obj

__all__ = ["SPECS"]

_PERMISSION = "Account | Dashboard | Read"

ACCOUNT = obj(
    {
        "accountCode": STR,
        "accountName": STR,
        "region": STR,
        "mimecastId": STR,
        "adminEmail": STR,
        "userCount": INT,
        "domain": STR,
        "maxRetention": INT,
        "maxRetentionConfirmed": BOOL,
        "minRetentionEnabled": BOOL,
        "automatedSegmentPurge": BOOL,
        "type": STR,
        "gateway": BOOL,
        "archive": BOOL,
        "packages": array(STR),
        "supportCode": STR,
    },
    "accountCode",
    "accountName",
    "region",
    "userCount",
    "maxRetention",
    "packages",
)


_AID: sa.BindParameter[int] = sa.bindparam("aid", type_=sa.Integer)
#: Everything get-account reads, in one statement (it is the emulator's most called function).
_ACCOUNT_FACTS = sa.select(
    sa.select(sa.func.count())
    .where(users.c.account_id == _AID)
    .scalar_subquery()
    .label("user_count"),
    sa.select(domains.c.domain)
    .where(domains.c.account_id == _AID)
    .order_by(domains.c.id)
    .limit(1)
    .scalar_subquery()
    .label("first_domain"),
    sa.select(users.c.email)
    .where(users.c.account_id == _AID)
    .order_by(users.c.id)
    .limit(1)
    .scalar_subquery()
    .label("first_admin"),
    tenant_profiles.c.max_retention_days,
    tenant_profiles.c.packages,
    tenant_profiles.c.admin_email,
    tenant_profiles.c.gateway,
    tenant_profiles.c.archive,
).select_from(
    sa.select(sa.literal(1).label("one"))
    .subquery()
    .outerjoin(tenant_profiles, tenant_profiles.c.account_id == _AID)
)


def _record(store: Store, account: Account) -> dict[str, Any]:
    """The account's get-account record, built from one statement."""
    with store.connect() as conn:
        row = conn.execute(_ACCOUNT_FACTS, {"aid": account.id}).one()
    profile = TenantProfile()
    if row.max_retention_days is not None:
        profile = TenantProfile(
            max_retention_days=row.max_retention_days, packages=tuple(row.packages),
            admin_email=row.admin_email, gateway=row.gateway, archive=row.archive,
        )  # fmt: skip
    user_count, first_domain, first_admin = int(row.user_count), row.first_domain, row.first_admin
    digest = hashlib.sha256(account.account_code.encode()).hexdigest()
    return {
        "accountCode": account.account_code,
        "accountName": account.name,
        "region": account.region,
        "mimecastId": f"01-{int(digest[:8], 16) % 10**8:08d}-{account.id:05d}",
        "adminEmail": profile.admin_email or first_admin or "",
        "userCount": user_count,
        "domain": first_domain or "",
        "maxRetention": profile.max_retention_days,
        "maxRetentionConfirmed": True,
        "minRetentionEnabled": False,
        "automatedSegmentPurge": True,
        "type": "full",
        "gateway": profile.gateway,
        "archive": profile.archive,
        "packages": list(profile.packages),
        "supportCode": digest[:6].upper(),
    }


def get_account(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The account of the caller: code, name, region, user count, retention, packages.

    It is the most called function (health checks, benchmarks), so its record comes from the
    store's read cache, which any change to the database invalidates."""

    def handle(_item: Item) -> FunctionResult:
        store, account = ctx.store, ctx.account
        record = store.cached(("get-account", account.id), lambda: _record(store, account))
        return FunctionResult(data=[record])

    return run_single(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/account/get-account",
        handler=get_account,
        summary="The caller's account: code, name, region, users, retention, packages",
        permission=_PERMISSION,
        read_only=True,
        request_schema=obj({}),
        response_schema=ACCOUNT,
        max_items=1,
    ),
)
