"""The paged functions of blocked-sender policies keep their pages while
policies come and go (the pattern of ``test_paging_appends``)."""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

import pytest

from tests.functions.conftest import Api
from tests.functions.test_paging_appends import assert_stable, walk

pytestmark = pytest.mark.anyio
Record = dict[str, Any]
_serial = itertools.count(1)

#: The paged functions this file covers (test_paging_appends checks that every one is covered).
COVERED = {"/api/policy/blockedsenders/get-policy"}


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
