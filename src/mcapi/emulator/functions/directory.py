"""Directory groups: ``/api/directory/find-groups``, ``add-group-member``, ``remove-group-member``.

A member is an e-mail address or a whole domain; ``internal`` says whether its domain is one of
the account's. ``userCount`` and ``folderCount`` of a group are counted live.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from mcapi.emulator._data import group_members, groups, new_id, record_audit
from mcapi.emulator._store._schema import domains
from mcapi.emulator.functions._common import (
    BLANK,
    INVALID,
    NOT_FOUND,
    Item,
    ItemRefused,
    choice,
    optional_email,
    optional_text,
    required_text,
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
from mcapi.emulator.functions._schemas import BOOL, EMAIL, INT, STR, array, enum, obj

__all__ = ["SPECS"]

_EDIT = "Directories | Groups | Edit"
_MAX_ITEMS = 100
MEMBER_EXISTS = "err_folder_group_member_already_exists"
MEMBER_NOT_FOUND = "err_folder_email_address_not_found"

FOLDER = obj(
    {
        "id": STR,
        "description": STR,
        "source": STR,
        "parentId": STR,
        "userCount": INT,
        "folderCount": INT,
    },
    "id",
    "description",
    "source",
    "userCount",
    "folderCount",
)
MEMBER = obj(
    {"id": STR, "folderId": STR, "emailAddress": STR, "domain": STR, "internal": BOOL},
    "id",
    "folderId",
    "internal",
)
_MEMBER_ITEM = obj({"id": STR, "emailAddress": EMAIL, "domain": STR}, "id")


def find_groups(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """Groups whose description contains ``query``, from ``source`` (cloud or ldap), paged."""

    def handle(item: Item) -> FunctionResult:
        query = optional_text(item, "query", max_length=200).lower()
        source = choice(item, "source", ("cloud", "ldap"), default="cloud")
        g, m = groups.c, group_members.c
        child = groups.alias("child")
        user_count = (
            sa.select(sa.func.count())
            .where(m.group_id == g.id, m.kind == "email")
            .scalar_subquery()
            .label("user_count")
        )
        folder_count = (
            sa.select(sa.func.count())
            .where(child.c.parent_id == g.id)
            .scalar_subquery()
            .label("folder_count")
        )
        stmt = sa.select(groups, user_count, folder_count).where(
            g.account_id == ctx.account.id, g.source == source
        )
        if query:
            stmt = stmt.where(sa.func.lower(g.description).contains(query, autoescape=True))
        with ctx.store.connect() as conn:
            found = page(
                conn, stmt, [g.seq], request=ctx.request.pagination, scope="find-groups",
                descending=False, total=True,
            )  # fmt: skip
        folders = [
            {
                "id": r.id,
                "description": r.description,
                "source": r.source,
                "parentId": r.parent_id or "",
                "userCount": r.user_count,
                "folderCount": r.folder_count,
            }
            for r in found.rows
        ]
        return FunctionResult(
            data=[{"source": source, "folders": folders}], pagination=found.pagination
        )

    return run_single(ctx, handle)


def _member(item: Item) -> tuple[str, str, str]:
    """``(group id, kind, member)`` of an add/remove item."""
    group_id = required_text(item, "id", max_length=64)
    address = optional_email(item, "emailAddress")
    domain = optional_text(item, "domain", max_length=253).lower()
    if address and domain:
        raise ItemRefused(INVALID, "give emailAddress or domain, not both", "domain")
    if address:
        return group_id, "email", address
    if domain:
        if "." not in domain or "@" in domain:
            raise ItemRefused(INVALID, "domain is not a domain name", "domain")
        return group_id, "domain", domain
    raise ItemRefused(BLANK, "emailAddress or domain is required", "emailAddress")


def _record(member_id: str, group_id: str, kind: str, member: str, internal: bool) -> Any:
    field = "emailAddress" if kind == "email" else "domain"
    return {"id": member_id, "folderId": group_id, field: member, "internal": internal}


def _check_group(conn: Any, ctx: FunctionContext, group_id: str) -> None:
    found = conn.execute(
        sa.select(groups.c.id).where(groups.c.account_id == ctx.account.id, groups.c.id == group_id)
    ).first()
    if found is None:
        raise ItemRefused(NOT_FOUND, f"no group has the id {group_id}", "id")


def add_group_member(ctx: FunctionContext) -> FunctionResult:
    """Add an address or a domain to a group.

    The (group, member) unique constraint decides between two calls adding the same member at
    the same time: the one whose insert loses fails with ``err_folder_group_member_already_exists``
    like any second add."""

    def handle(item: Item) -> Iterable[Any]:
        group_id, kind, member = _member(item)
        m = group_members.c
        try:
            with ctx.store.begin() as conn:
                _check_group(conn, ctx, group_id)
                exists = conn.execute(
                    sa.select(m.id).where(m.group_id == group_id, m.member == member)
                ).first()
                if exists is not None:
                    raise ItemRefused(MEMBER_EXISTS, "Group member already exists")
                domain = member.rpartition("@")[2]
                internal = (
                    conn.execute(
                        sa.select(domains.c.id).where(
                            domains.c.account_id == ctx.account.id, domains.c.domain == domain
                        )
                    ).first()
                    is not None
                )
                member_id = new_id()
                conn.execute(
                    group_members.insert().values(
                        id=member_id, group_id=group_id, kind=kind, member=member,
                        internal=internal, added=ctx.now,
                    )
                )  # fmt: skip
                record_audit(
                    conn, ctx.account.id, user=ctx.user.email, audit_type="Group Member Added",
                    category="directory_logs", info=f"{member} added to group {group_id}",
                    now=ctx.now, app_id=ctx.app_id,
                )  # fmt: skip
        except sa.exc.IntegrityError:
            # Another call added the member first (unique constraint), or the group was removed
            # meanwhile (foreign key): answer as if this call had come second.
            with ctx.store.connect() as conn:
                _check_group(conn, ctx, group_id)
            raise ItemRefused(MEMBER_EXISTS, "Group member already exists") from None
        return [_record(member_id, group_id, kind, member, internal)]

    return run_items(ctx, handle)


def remove_group_member(ctx: FunctionContext) -> FunctionResult:
    """Remove an address or a domain from a group."""

    def handle(item: Item) -> Iterable[Any]:
        group_id, kind, member = _member(item)
        m = group_members.c
        with ctx.store.begin() as conn:
            _check_group(conn, ctx, group_id)
            row = conn.execute(
                group_members.delete()
                .where(m.group_id == group_id, m.member == member)
                .returning(m.id, m.internal)
            ).first()
            if row is None:
                raise ItemRefused(MEMBER_NOT_FOUND, "Error email address not found")
            record_audit(
                conn, ctx.account.id, user=ctx.user.email, audit_type="Group Member Removed",
                category="directory_logs", info=f"{member} removed from group {group_id}",
                now=ctx.now, app_id=ctx.app_id,
            )  # fmt: skip
        return [_record(row.id, group_id, kind, member, row.internal)]

    return run_items(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/directory/find-groups",
        handler=find_groups,
        summary="Directory groups whose description contains the query, paged",
        permission=_EDIT,
        read_only=True,
        request_schema=obj({"query": STR, "source": enum("cloud", "ldap")}),
        response_schema=obj({"source": STR, "folders": array(FOLDER)}, "folders"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/directory/add-group-member",
        handler=add_group_member,
        summary="Add an address or a domain to a group",
        permission=_EDIT,
        read_only=False,
        request_schema=_MEMBER_ITEM,
        response_schema=MEMBER,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/directory/remove-group-member",
        handler=remove_group_member,
        summary="Remove an address or a domain from a group",
        permission=_EDIT,
        read_only=False,
        request_schema=_MEMBER_ITEM,
        response_schema=MEMBER,
        max_items=_MAX_ITEMS,
    ),
)
