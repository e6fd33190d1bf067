"""Internal users: ``/api/user/create-user`` and ``/api/user/get-internal-users``.

A created user can log in at once when given a password (``forcePasswordChange`` makes that
password already expired, so the first login answers 403 0009). The address must be in one of
the account's internal domains; an address any account already has is a conflict
(``err_user_exists``: 409 when it is the call's only item).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import record_audit
from mcapi.emulator._data._vocab import opaque_id
from mcapi.emulator._store import AlreadyExists, hash_password
from mcapi.emulator._store._ops import insert_user
from mcapi.emulator._store._schema import domains, users
from mcapi.emulator.functions._common import (
    INVALID,
    Item,
    ItemConflict,
    ItemRefused,
    boolean,
    email,
    optional_text,
    run_items,
    run_single,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, page
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, EMAIL, STR, array, obj

__all__ = ["SPECS"]

_MAX_ITEMS = 100
USER_EXISTS = "err_user_exists"

USER = obj(
    {
        "id": STR,
        "emailAddress": STR,
        "name": STR,
        "domain": STR,
        "alias": BOOL,
        "addressType": STR,
    },
    "emailAddress",
    "domain",
)


def _record(user_id: int, address: str, name: str) -> dict[str, Any]:
    return {
        "id": opaque_id("user", user_id),
        "emailAddress": address,
        "name": name,
        "domain": address.rpartition("@")[2],
        "alias": False,
        "addressType": "internal_user",
    }


def create_user(ctx: FunctionContext) -> FunctionResult:
    """Create users in the account's internal domains."""

    def handle(item: Item) -> Iterable[Any]:
        address = email(item, "emailAddress")
        name = optional_text(item, "name", max_length=200)
        password = optional_text(item, "password", max_length=200) or None
        force_change = boolean(item, "forcePasswordChange")
        code = optional_text(item, "accountCode", max_length=32)
        if code and code != ctx.account.account_code:
            raise ItemRefused(INVALID, "accountCode is not the caller's account", "accountCode")
        hashed = None if password is None else hash_password(password, n=ctx.store.kdf_n)
        try:
            with ctx.store.begin() as conn:
                internal = conn.execute(
                    sa.select(domains.c.id).where(
                        domains.c.account_id == ctx.account.id,
                        domains.c.domain == address.rpartition("@")[2],
                    )
                ).first()
                if internal is None:
                    raise ItemRefused(
                        INVALID, "the address is not in an internal domain of the account",
                        "emailAddress",
                    )  # fmt: skip
                user = insert_user(
                    conn, ctx.account.id, address, hashed, name=name, auth_types=("cloud",),
                    permissions=(), status="active",
                    password_expires_at=ctx.now if force_change and hashed else None,
                    ip_ranges=None,
                )  # fmt: skip
                record_audit(
                    conn, ctx.account.id, user=ctx.user.email, audit_type="User Created",
                    category="directory_logs", info=f"User {address} created",
                    now=ctx.now, app_id=ctx.app_id,
                )  # fmt: skip
        except AlreadyExists:
            raise ItemConflict(USER_EXISTS, f"the user {address} already exists") from None
        except ValueError:
            raise ItemRefused(INVALID, "emailAddress is not accepted", "emailAddress") from None
        return [_record(user.id, user.email, user.name)]

    return run_items(ctx, handle)


def get_internal_users(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The account's users, optionally of one domain or matching ``query``; paged."""

    def handle(item: Item) -> FunctionResult:
        domain = optional_text(item, "domain", max_length=253).lower()
        query = optional_text(item, "query", max_length=200).lower()
        u = users.c
        stmt = sa.select(u.id, u.email, u.name).where(u.account_id == ctx.account.id)
        if domain:
            stmt = stmt.where(u.email.endswith(f"@{domain}", autoescape=True))
        if query:
            stmt = stmt.where(
                sa.or_(
                    u.email.contains(query, autoescape=True),
                    sa.func.lower(u.name).contains(query, autoescape=True),
                )
            )
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [u.id], request=ctx.request.pagination, scope="internal-users",
                descending=False, total=True,
            )  # fmt: skip
        listed = [_record(r.id, r.email, r.name) for r in found.rows]
        return FunctionResult(data=[{"users": listed}], pagination=found.pagination)

    return run_single(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/user/create-user",
        handler=create_user,
        summary="Create users in the account's internal domains (409 when the one user exists)",
        permission="Directories | Internal | Edit",
        read_only=False,
        request_schema=obj(
            {
                "emailAddress": EMAIL,
                "name": STR,
                "password": STR,
                "forcePasswordChange": BOOL,
                "accountCode": STR,
            },
            "emailAddress",
        ),
        response_schema=USER,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/user/get-internal-users",
        handler=get_internal_users,
        summary="The account's internal users, optionally of one domain, paged",
        permission="Directories | Internal | Read",
        read_only=True,
        request_schema=obj({"domain": STR, "query": STR}),
        response_schema=obj({"users": array(USER)}, "users"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
)
