"""Blocked-sender policies: ``/api/policy/blockedsenders/create-policy``, ``get-policy``,
``delete-policy``.

A policy is ``{"option": ..., "policy": {...}}``; create-policy with an ``id`` replaces that
policy's settings (integrations update a policy that way). Policies act on mail received while
they are in force (see ``mcapi.emulator._data._policies``): the generator rejects the messages
they block, which message-finder and get-message-info then show. A deleted policy disappears from
these functions but keeps explaining the messages it rejected.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import groups, new_id, record_audit
from mcapi.emulator._data._policies import (
    FROM_PARTS,
    OPTIONS,
    TARGET_TYPES,
    blocked_sender_policies,
)
from mcapi.emulator.functions._common import (
    BLANK,
    INVALID,
    NOT_FOUND,
    OUT_OF_RANGE,
    Item,
    ItemRefused,
    boolean,
    choice,
    email,
    format_time,
    nested,
    optional_text,
    parse_time,
    required_text,
    run_items,
    run_single,
    string_list,
)
from mcapi.emulator.functions._paging import MAX_PAGE_SIZE, page
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionResult,
    FunctionSpec,
    StreamResult,
)
from mcapi.emulator.functions._schemas import BOOL, DATE, STR, array, enum, obj

__all__ = ["SPECS"]

_EDIT = "Gateway | Policies | Edit"
_READ = "Gateway | Policies | Read"
_MAX_ITEMS = 100
_SCOPE = "blocked-senders"
#: How the platform writes the dates of an eternal policy.
ETERNAL_FROM, ETERNAL_TO = "1900-01-01T00:00:00+0000", "2100-01-01T23:59:59+0000"
_DOMAIN = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63})+$")
_VALUE_KEY = {
    "email_domain": "emailDomain",
    "individual_email_address": "emailAddress",
    "profile_group": "groupId",
}

_TARGET = obj(
    {"type": enum(*TARGET_TYPES), "emailAddress": STR, "emailDomain": STR, "groupId": STR},
    "type",
)
_CONDITIONS = obj({"sourceIPs": array(STR)})
POLICY_IN = obj(
    {
        "description": STR,
        "fromPart": enum(*FROM_PARTS),
        "fromType": enum(*TARGET_TYPES),
        "fromValue": STR,
        "toType": enum(*TARGET_TYPES),
        "toValue": STR,
        "fromDate": DATE,
        "toDate": DATE,
        "fromEternal": BOOL,
        "toEternal": BOOL,
        "override": BOOL,
        "bidirectional": BOOL,
        "enabled": BOOL,
        "enforced": BOOL,
        "comment": STR,
        "conditions": _CONDITIONS,
    },
    "description",
)
POLICY_OUT = obj(
    {
        **POLICY_IN["properties"],
        "from": _TARGET,
        "to": _TARGET,
        "createTime": DATE,
        "lastUpdated": DATE,
    },
    "description", "fromPart", "from", "to", "fromType", "toType", "fromEternal", "toEternal",
    "fromDate", "toDate", "override", "bidirectional", "conditions", "enabled", "enforced",
    "createTime", "lastUpdated",
)  # fmt: skip
RECORD = obj({"id": STR, "option": enum(*OPTIONS), "policy": POLICY_OUT}, "id", "option", "policy")


def _target(kind: str, value: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind}
    if kind in _VALUE_KEY:
        out[_VALUE_KEY[kind]] = value
    return out


def render(row: Any) -> dict[str, Any]:
    """A policy as create-policy and get-policy answer it."""
    policy: dict[str, Any] = {
        "description": row.description,
        "fromPart": row.from_part,
        "from": _target(row.from_type, row.from_value),
        "to": _target(row.to_type, row.to_value),
        "fromType": row.from_type,
        "toType": row.to_type,
        "fromEternal": row.from_date is None,
        "toEternal": row.to_date is None,
        "fromDate": ETERNAL_FROM if row.from_date is None else format_time(row.from_date),
        "toDate": ETERNAL_TO if row.to_date is None else format_time(row.to_date),
        "override": row.override,
        "bidirectional": row.bidirectional,
        "conditions": {"sourceIPs": list(row.source_ips)} if row.source_ips else {},
        "enabled": row.enabled,
        "enforced": row.enforced,
        "createTime": format_time(row.created),
        "lastUpdated": format_time(row.updated),
    }
    if row.from_value is not None:
        policy["fromValue"] = row.from_value
    if row.to_value is not None:
        policy["toValue"] = row.to_value
    if row.comment:
        policy["comment"] = row.comment
    return {"id": row.id, "option": row.option, "policy": policy}


# -- create / update ------------------------------------------------------------------------------


def _value(ctx: FunctionContext, policy: Item, field: str, kind: str) -> str | None:
    """The ``fromValue``/``toValue`` a target type needs (None for the types that take none)."""
    if kind == "individual_email_address":
        return email(policy, field)
    if kind == "email_domain":
        domain = required_text(policy, field, max_length=253).lower()
        if not _DOMAIN.match(domain):
            raise ItemRefused(INVALID, f"{field} must be a domain name without @", field)
        return domain
    if kind == "profile_group":
        group_id = required_text(policy, field, max_length=64)
        with ctx.store.connect() as conn:
            found = conn.execute(
                sa.select(groups.c.id).where(
                    groups.c.account_id == ctx.account.id, groups.c.id == group_id
                )
            ).first()
        if found is None:
            raise ItemRefused(NOT_FOUND, f"no group has the id {group_id}", field)
        return group_id
    return None


def _window(policy: Item, side: str) -> float | None:
    """A policy date: None when eternal (``fromEternal`` true, or no date given)."""
    date_field, eternal_field = f"{side}Date", f"{side}Eternal"
    if boolean(policy, eternal_field, default=policy.get(date_field) in (None, "")):
        return None
    return parse_time(policy, date_field)


def _source_ips(policy: Item) -> list[str]:
    conditions = policy.get("conditions")
    if conditions is None:
        return []
    if not isinstance(conditions, Mapping):
        raise ItemRefused(INVALID, "conditions must be an object", "conditions")
    with nested("conditions"):
        ips = string_list(conditions, "sourceIPs", limit=100)
        for ip in ips:
            try:
                ipaddress.ip_network(ip, strict=False)
            except ValueError:
                raise ItemRefused(
                    INVALID, f"{ip} is not an address range like 192.0.2.0/24", "sourceIPs"
                ) from None
    return ips


def _settings(ctx: FunctionContext, item: Item) -> dict[str, Any]:
    """The columns of a create-policy item, validated."""
    option = choice(item, "option", OPTIONS)
    policy = item.get("policy")
    if policy is None:
        raise ItemRefused(BLANK, "policy is required", "policy")
    if not isinstance(policy, Mapping):
        raise ItemRefused(INVALID, "policy must be an object", "policy")
    with nested("policy"):
        from_type = choice(policy, "fromType", TARGET_TYPES, default="everyone")
        to_type = choice(policy, "toType", TARGET_TYPES, default="everyone")
        start, end = _window(policy, "from"), _window(policy, "to")
        if start is not None and end is not None and end < start:
            raise ItemRefused(OUT_OF_RANGE, "toDate is before fromDate", "toDate")
        values: dict[str, Any] = {
            "option": option,
            "description": required_text(policy, "description", max_length=200),
            "comment": optional_text(policy, "comment", max_length=500),
            "from_part": choice(policy, "fromPart", FROM_PARTS, default="envelope_from"),
            "from_type": from_type,
            "from_value": _value(ctx, policy, "fromValue", from_type),
            "to_type": to_type,
            "to_value": _value(ctx, policy, "toValue", to_type),
            "from_date": start,
            "to_date": end,
            "override": boolean(policy, "override"),
            "bidirectional": boolean(policy, "bidirectional"),
            "enabled": boolean(policy, "enabled", default=True),
            "enforced": boolean(policy, "enforced"),
            "source_ips": _source_ips(policy),
        }
    return values


def create_policy(ctx: FunctionContext) -> FunctionResult:
    """Create a policy, or replace the settings of the policy ``id`` names."""

    def handle(item: Item) -> Iterable[Any]:
        policy_id = optional_text(item, "id", max_length=64) or None
        values = _settings(ctx, item)
        t = blocked_sender_policies.c
        with ctx.store.begin() as conn:
            if policy_id is None:
                policy_id = new_id()
                conn.execute(
                    blocked_sender_policies.insert().values(
                        id=policy_id, account_id=ctx.account.id, created=ctx.now,
                        updated=ctx.now, generated=False, **values,
                    )
                )  # fmt: skip
                verb = "Created"
            else:
                changed = conn.execute(
                    blocked_sender_policies.update()
                    .where(t.account_id == ctx.account.id, t.id == policy_id, t.deleted.is_(None))
                    .values(updated=ctx.now, **values)
                ).rowcount
                if not changed:
                    raise ItemRefused(NOT_FOUND, f"no blocked-sender policy has the id {policy_id}",
                                    "id")  # fmt: skip
                verb = "Updated"
            record_audit(
                conn, ctx.account.id, user=ctx.user.email,
                audit_type=f"Blocked Sender Policy {verb}", category="policy_logs",
                info=f"'{values['description']}' ({values['option']})", now=ctx.now,
            )  # fmt: skip
            row = conn.execute(sa.select(blocked_sender_policies).where(t.id == policy_id)).one()
        return [render(row)]

    return run_items(ctx, handle)


# -- get / delete ---------------------------------------------------------------------------------


def get_policy(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The policy ``id`` names, or every policy in creation order, paged."""

    def handle(item: Item) -> FunctionResult:
        policy_id = optional_text(item, "id", max_length=64)
        t = blocked_sender_policies.c
        stmt = sa.select(blocked_sender_policies).where(
            t.account_id == ctx.account.id, t.deleted.is_(None)
        )
        if policy_id:
            stmt = stmt.where(t.id == policy_id)
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [t.seq], request=ctx.request.pagination, scope=_SCOPE,
                descending=False,
            )  # fmt: skip
        if policy_id and not found.rows:
            raise ItemRefused(NOT_FOUND, f"no blocked-sender policy has the id {policy_id}", "id")
        return FunctionResult(data=[render(r) for r in found.rows], pagination=found.pagination)

    return run_single(ctx, handle)


def delete_policy(ctx: FunctionContext) -> FunctionResult:
    """Delete policies by id (they stop acting on mail received from now on)."""

    def handle(item: Item) -> Iterable[Any]:
        policy_id = required_text(item, "id", max_length=64)
        t = blocked_sender_policies.c
        with ctx.store.begin() as conn:
            # one conditional statement: of two deletions of one policy, exactly one finds it
            row = conn.execute(
                blocked_sender_policies.update()
                .where(t.account_id == ctx.account.id, t.id == policy_id, t.deleted.is_(None))
                .values(deleted=ctx.now)
                .returning(t.description)
            ).first()
            if row is None:
                raise ItemRefused(
                    NOT_FOUND, f"no blocked-sender policy has the id {policy_id}", "id"
                )
            record_audit(
                conn, ctx.account.id, user=ctx.user.email,
                audit_type="Blocked Sender Policy Deleted", category="policy_logs",
                info=f"'{row.description}' deleted", now=ctx.now,
            )  # fmt: skip
        return [{"id": policy_id}]

    return run_items(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/policy/blockedsenders/create-policy",
        handler=create_policy,
        summary="Create a blocked-sender policy (or, with an id, replace its settings)",
        permission=_EDIT,
        read_only=False,
        request_schema=obj(
            {"id": STR, "option": enum(*OPTIONS), "policy": POLICY_IN}, "option", "policy"
        ),
        response_schema=RECORD,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/policy/blockedsenders/get-policy",
        handler=get_policy,
        summary="One blocked-sender policy by id, or all of them in creation order, paged",
        permission=_READ,
        read_only=True,
        request_schema=obj({"id": STR}),
        response_schema=RECORD,
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/policy/blockedsenders/delete-policy",
        handler=delete_policy,
        summary="Delete blocked-sender policies by id",
        permission=_EDIT,
        read_only=False,
        request_schema=obj({"id": STR}, "id"),
        response_schema=obj({"id": STR}, "id"),
        max_items=_MAX_ITEMS,
    ),
)
