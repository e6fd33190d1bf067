"""Directory groups, continued: ``/api/directory/get-group-members``, ``create-group``,
``update-group``.

They share the tables of ``find-groups`` and ``add/remove-group-member`` (``directory.py``): a group
created here is found by find-groups, a member added there is listed here, and the counts
find-groups reports move with both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mcapi.emulator._data import group_members, groups, new_id, record_audit
from mcapi.emulator._store._schema import users
from mcapi.emulator.functions._common import (
    INVALID,
    NOT_FOUND,
    Item,
    ItemRefused,
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
from mcapi.emulator.functions._schemas import BOOL, INT, STR, array, obj

__all__ = ["SPECS"]

_EDIT = "Directories | Groups | Edit"
_READ = "Directories | Groups | Read"
_MAX_ITEMS = 100
_SCOPE = "group-members"
#: How deep a group may be nested (a guard against cycles in the parent walk).
MAX_DEPTH = 100

GROUP = obj(
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
    "parentId",
    "userCount",
    "folderCount",
)
GROUP_MEMBER = obj(
    {
        "emailAddress": STR,
        "domain": STR,
        "name": STR,
        "type": STR,
        "internal": BOOL,
        "notes": STR,
    },
    "emailAddress",
    "domain",
    "name",
    "type",
    "internal",
)


def _group(conn: Connection, ctx: FunctionContext, group_id: str, field: str) -> Any:
    row = conn.execute(
        sa.select(groups).where(groups.c.account_id == ctx.account.id, groups.c.id == group_id)
    ).first()
    if row is None:
        raise ItemRefused(NOT_FOUND, f"no group has the id {group_id}", field)
    return row


def _record(conn: Connection, group_id: str) -> dict[str, Any]:
    """A group as create-group and update-group answer it, with live counts."""
    g, m = groups.c, group_members.c
    row = conn.execute(sa.select(groups).where(g.id == group_id)).one()
    user_count = conn.execute(
        sa.select(sa.func.count()).where(m.group_id == group_id, m.kind == "email")
    ).scalar_one()
    folder_count = conn.execute(
        sa.select(sa.func.count()).where(g.parent_id == group_id)
    ).scalar_one()
    return {
        "id": row.id,
        "description": row.description,
        "source": row.source,
        "parentId": row.parent_id or "",
        "userCount": int(user_count),
        "folderCount": int(folder_count),
    }


def get_group_members(ctx: FunctionContext) -> FunctionResult | StreamResult:
    """The members of the group ``id`` names, by address, paged."""

    def handle(item: Item) -> FunctionResult:
        group_id = required_text(item, "id", max_length=64)
        m, u = group_members.c, users.c
        # a member's name is the directory's name for that address, when it has one
        name = (
            sa.select(u.name)
            .where(u.email == m.member, u.account_id == ctx.account.id)
            .scalar_subquery()
            .label("name")
        )
        stmt = sa.select(group_members, name).where(m.group_id == group_id)
        with ctx.store.connect() as conn:
            _group(conn, ctx, group_id, "id")
            found = page(
                conn, stmt, [m.member, m.id], request=ctx.request.pagination, scope=_SCOPE,
                descending=False,
            )  # fmt: skip
        members = [
            {
                "emailAddress": r.member if r.kind == "email" else "",
                "domain": r.member.rpartition("@")[2],
                "name": r.name or "",
                "type": "created_manually" if r.kind == "email" else "domain",
                "internal": r.internal,
                "notes": "",
            }
            for r in found.rows
        ]
        return FunctionResult(data=[{"groupMembers": members}], pagination=found.pagination)

    return run_single(ctx, handle)


def _parent(conn: Connection, ctx: FunctionContext, item: Item, moving: str | None) -> str | None:
    """The ``parentId`` of an item: an existing group, and not ``moving`` or one of its
    descendants (a group cannot be nested inside itself)."""
    parent_id = optional_text(item, "parentId", max_length=64) or None
    if parent_id is None:
        return None
    current: str | None = _group(conn, ctx, parent_id, "parentId").id
    for _ in range(MAX_DEPTH):
        if current is None:
            return parent_id
        if current == moving:
            raise ItemRefused(INVALID, "a group cannot be moved inside itself", "parentId")
        current = conn.execute(sa.select(groups.c.parent_id).where(groups.c.id == current)).scalar()
    raise ItemRefused(INVALID, f"groups nest at most {MAX_DEPTH} deep", "parentId")


def create_group(ctx: FunctionContext) -> FunctionResult:
    """Create a cloud group, at the root or under ``parentId``."""

    def handle(item: Item) -> Iterable[Any]:
        description = required_text(item, "description", max_length=200)
        group_id = new_id()
        with ctx.store.begin() as conn:
            parent_id = _parent(conn, ctx, item, None)
            conn.execute(
                groups.insert().values(
                    id=group_id, account_id=ctx.account.id, description=description,
                    source="cloud", parent_id=parent_id, created=ctx.now, generated=False,
                )
            )  # fmt: skip
            record_audit(
                conn, ctx.account.id, user=ctx.user.email, audit_type="Group Created",
                category="directory_logs", info=f"group '{description}' created", now=ctx.now,
            )  # fmt: skip
            return [_record(conn, group_id)]

    return run_items(ctx, handle)


def update_group(ctx: FunctionContext) -> FunctionResult:
    """Rename a group (``description``) or move it under another (``parentId``)."""

    def handle(item: Item) -> Iterable[Any]:
        group_id = required_text(item, "id", max_length=64)
        with ctx.store.begin() as conn:
            current = _group(conn, ctx, group_id, "id")
            values: dict[str, Any] = {}
            description = optional_text(item, "description", max_length=200)
            if description:
                values["description"] = description
            parent_id = _parent(conn, ctx, item, group_id)
            if parent_id is not None:
                values["parent_id"] = parent_id
            if values:
                conn.execute(groups.update().where(groups.c.id == group_id).values(**values))
                record_audit(
                    conn, ctx.account.id, user=ctx.user.email, audit_type="Group Updated",
                    category="directory_logs",
                    info=f"group '{current.description}' updated", now=ctx.now,
                )  # fmt: skip
            return [_record(conn, group_id)]

    return run_items(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/directory/get-group-members",
        handler=get_group_members,
        summary="The members of a directory group, by address, paged",
        permission=_READ,
        read_only=True,
        request_schema=obj({"id": STR}, "id"),
        response_schema=obj({"groupMembers": array(GROUP_MEMBER)}, "groupMembers"),
        max_items=1,
        paginated=True,
        max_page_size=MAX_PAGE_SIZE,
    ),
    FunctionSpec(
        path="/api/directory/create-group",
        handler=create_group,
        summary="Create a directory group, at the root or under parentId",
        permission=_EDIT,
        read_only=False,
        request_schema=obj({"description": STR, "parentId": STR}, "description"),
        response_schema=GROUP,
        max_items=_MAX_ITEMS,
    ),
    FunctionSpec(
        path="/api/directory/update-group",
        handler=update_group,
        summary="Rename a directory group or move it under another group",
        permission=_EDIT,
        read_only=False,
        request_schema=obj({"id": STR, "description": STR, "parentId": STR}, "id"),
        response_schema=GROUP,
        max_items=_MAX_ITEMS,
    ),
)
