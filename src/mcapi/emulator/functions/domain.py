"""Internal domains: ``/api/domain/create-domain`` and ``/api/domain/get-internal-domain``.

A domain belongs to one account on the whole platform: registering one that any account already
has is a conflict (``err_domain_exists``: 409 when it is the call's only item). The verification
token and expiry the platform returns are derived from the domain, so they are stable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import record_audit
from mcapi.emulator._data._vocab import opaque_id
from mcapi.emulator._store import AlreadyExists, Domain
from mcapi.emulator._store._models import domain_from_row
from mcapi.emulator._store._ops import insert_domain
from mcapi.emulator._store._schema import domains
from mcapi.emulator._store._validate import INBOUND_TYPES
from mcapi.emulator.functions._common import (
    INVALID,
    NOT_FOUND,
    Item,
    ItemConflict,
    ItemRefused,
    choice,
    format_time,
    required_text,
    run_items,
)
from mcapi.emulator.functions._registry import FunctionContext, FunctionResult, FunctionSpec
from mcapi.emulator.functions._schemas import BOOL, STR, enum, obj

__all__ = ["SPECS"]

_MAX_ITEMS = 100
VERIFY_DAYS = 14

DOMAIN = obj(
    {
        "id": STR,
        "domain": STR,
        "inboundType": enum(*INBOUND_TYPES),
        "local": BOOL,
        "sendOnly": BOOL,
    },
    "id",
    "domain",
    "inboundType",
)
CREATED = obj(
    {
        "id": STR,
        "domain": STR,
        "inboundType": enum(*INBOUND_TYPES),
        "token": STR,
        "created": STR,
        "expiry": STR,
    },
    "id",
    "domain",
    "token",
    "created",
    "expiry",
)


def _record(row: Domain) -> dict[str, Any]:
    return {
        "id": opaque_id("domain", row.id),
        "domain": row.domain,
        "inboundType": row.inbound_type,
        "local": True,
        "sendOnly": False,
    }


def create_domain(ctx: FunctionContext) -> FunctionResult:
    """Register domains; returns the TXT verification token and when it expires."""

    def handle(item: Item) -> Iterable[Any]:
        name = required_text(item, "domain", max_length=253).lower()
        inbound = choice(item, "inboundType", INBOUND_TYPES, default="known")
        try:
            with ctx.store.begin() as conn:
                row = insert_domain(conn, ctx.account.id, name, inbound, ctx.now)
                record_audit(
                    conn, ctx.account.id, user=ctx.user.email, audit_type="Domain Created",
                    category="account_logs", info=f"Domain {row.domain} registered",
                    now=ctx.now, app_id=ctx.app_id,
                )  # fmt: skip
        except AlreadyExists:
            raise ItemConflict(
                "err_domain_exists", f"the domain {name} is already registered"
            ) from None
        except ValueError:
            raise ItemRefused(INVALID, "domain is not a valid domain name", "domain") from None
        token = hashlib.sha256(f"verify:{row.domain}".encode()).hexdigest()[:32]
        return [
            {
                "id": opaque_id("domain", row.id),
                "domain": row.domain,
                "inboundType": row.inbound_type,
                "token": f"mimecast-verification={token}",
                "created": format_time(row.created),
                "expiry": format_time(row.created + VERIFY_DAYS * 86400),
            }
        ]

    return run_items(ctx, handle)


def get_internal_domain(ctx: FunctionContext) -> FunctionResult:
    """The account's internal domains: all of them (``data: []``) or the ones named."""
    if not ctx.request.data:
        return FunctionResult(data=[_record(d) for d in ctx.store.list_domains(ctx.account.id)])

    def handle(item: Item) -> Iterable[Any]:
        name = required_text(item, "domain", max_length=253).lower()
        with ctx.store.connect() as conn:
            row = conn.execute(
                sa.select(domains).where(
                    domains.c.account_id == ctx.account.id, domains.c.domain == name
                )
            ).first()
        if row is None:
            raise ItemRefused(
                NOT_FOUND, f"{name} is not an internal domain of the account", "domain"
            )
        return [_record(domain_from_row(row._mapping))]

    return run_items(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/domain/create-domain",
        handler=create_domain,
        summary="Register internal domains (409 when the one domain named exists)",
        permission="Directories | Internal | Register New Domain",
        read_only=False,
        request_schema=obj({"domain": STR, "inboundType": enum(*INBOUND_TYPES)}, "domain"),
        response_schema=CREATED,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/domain/get-internal-domain",
        handler=get_internal_domain,
        summary="The account's internal domains (all, or the ones named)",
        permission="Directories | Internal | Read",
        read_only=True,
        request_schema=obj({"domain": STR}, "domain"),
        response_schema=DOMAIN,
        max_items=_MAX_ITEMS,
    ),
)
