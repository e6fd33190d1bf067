"""The paged functions of blocked-sender policies and group members keep their pages while
policies and members come and go (the pattern of ``test_paging_appends``)."""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from tests.functions.conftest import Api
from tests.functions.test_paging_appends import assert_stable, walk

pytestmark = pytest.mark.anyio
Record = dict[str, Any]
_serial = itertools.count(1)

#: The paged functions this file covers (test_paging_appends checks that every one is covered).
COVERED = {"/api/policy/blockedsenders/get-policy", "/api/directory/get-group-members"}


def _policy(value: str) -> Record:
    return {"option": "block_sender",
            "policy": {"description": f"block {value}", "fromType": "email_domain",
                       "fromValue": value}}  # fmt: skip


async def test_policy_pages_stay_put_while_policies_are_created_and_deleted(api: Api) -> None:
    create, path = (
        "/api/policy/blockedsenders/create-policy",
        "/api/policy/blockedsenders/get-policy",
    )
    await api.ok(create, [_policy(f"spam{n}.example") for n in range(12)])
    before = [r["id"] for r in await api.pages(path, {}, page_size=500)]
    listed: list[str] = []

    def ident(record: Record) -> Hashable:
        identifier = str(record["id"])
        listed.append(identifier)
        return identifier

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        api.emu.clock.advance(60)
        n = next(_serial)
        await api.ok(create, [_policy(f"new{n}.example"), _policy(f"late{n}.example")])
        await api.ok("/api/policy/blockedsenders/delete-policy",
                     [{"id": listed[-1]}, {"id": listed[0]}])  # fmt: skip

    walked = await walk(api, path, {}, size=5, records=None, ident=ident, between=between)
    assert_stable(before, walked)


async def test_member_pages_stay_put_while_members_are_added_and_removed(
    api: Api, tenant: GenerateSummary
) -> None:
    body = await api.ok("/api/directory/find-groups", [{"query": "All Staff"}])
    group = body["data"][0]["folders"][0]["id"]
    path, item = "/api/directory/get-group-members", {"id": group}
    before = [
        m["emailAddress"]
        for m in await api.pages(path, item, page_size=500, records="groupMembers")
    ]
    assert len(before) == 20
    listed: list[str] = []

    def ident(member: Record) -> Hashable:
        address = str(member["emailAddress"])
        listed.append(address)
        return address

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        n = next(_serial)
        seen = [a for a in listed if a]
        # members that sort before the first page, among the listed ones, at the boundary and
        # after the last; and two seen ones leave
        boundary = seen[-1].replace("@", f".{n}@")
        await api.ok("/api/directory/add-group-member", [
            {"id": group, "emailAddress": f"aaa{n}@demo.example"},
            {"id": group, "emailAddress": boundary},
            {"id": group, "emailAddress": f"zzz{n}@demo.example"},
            {"id": group, "domain": f"partner{n}.example"},
        ])  # fmt: skip
        await api.ok("/api/directory/remove-group-member", [
            {"id": group, "emailAddress": seen[-1]}, {"id": group, "emailAddress": seen[0]},
        ])  # fmt: skip

    walked = await walk(api, path, item, size=4, records="groupMembers", ident=ident,
                        between=between)  # fmt: skip
    # domain members have no address: leave them out of the comparison
    assert_stable(before, [a for a in walked if a])
