"""Blocked-sender policies and groups on a shared database (a SQLite file, and PostgreSQL when
``MCAPI_TEST_POSTGRES_URL`` is set): two deletions of one policy race and exactly one wins, and
the generator's blocking runs on that database as on the in-memory one."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import httpx

from mcapi.emulator._data import generate
from tests.functions.conftest import T0, Api
from tests.functions.test_concurrency import (
    ROUNDS,
    Tenant,
    assert_one_wins,
    audited,
    race,
)

# the fixtures of test_concurrency: one emulator on the shared database, per test
from tests.functions.test_concurrency import db_url as db_url
from tests.functions.test_concurrency import tenant as tenant

CREATE = "/api/policy/blockedsenders/create-policy"
DELETE = "/api/policy/blockedsenders/delete-policy"


def _call(tenant: Tenant, path: str, data: list[dict[str, Any]], **kw: Any) -> Any:
    async def go() -> Any:
        transport = httpx.ASGITransport(app=cast(Any, tenant.emu.app))
        async with httpx.AsyncClient(transport=transport, base_url=tenant.creds.base_url) as h:
            return await Api(h, tenant.emu, tenant.creds).ok(path, data, **kw)

    return asyncio.run(go())


def test_two_deletions_of_one_policy_one_wins(tenant: Tenant) -> None:
    items = [
        {"option": "block_sender",
         "policy": {"description": f"p{n}", "fromType": "email_domain",
                    "fromValue": f"spam{n}.example"}}
        for n in range(ROUNDS)
    ]  # fmt: skip
    ids = [p["id"] for p in _call(tenant, CREATE, items)["data"]]
    pairs = race(tenant, [(DELETE, [{"id": i}]) for i in ids])
    winners = assert_one_wins(pairs, "fail err_item_not_found")
    assert [w[1]["data"] for w in winners] == [[{"id": i}] for i in ids]
    assert audited(tenant, "Blocked Sender Policy Deleted") == ROUNDS


def test_generated_policies_block_on_this_database(tenant: Tenant) -> None:
    tenant.emu.clock.set(T0)
    summary = generate(tenant.emu.store, tenant.account.id, seed=7, users=20, days=3, now=T0)
    policies = _call(tenant, "/api/policy/blockedsenders/get-policy", [])
    assert len(policies["data"]) == 4
    domain = next(
        p["policy"]["fromValue"] for p in policies["data"]
        if p["option"] == "block_sender" and p["policy"]["fromType"] == "email_domain"
        and p["policy"]["enabled"]
    )  # fmt: skip
    item = {"advancedTrackAndTraceOptions": {"from": domain}}
    found = _call(tenant, "/api/message-finder/search", [item], page_size=500)
    tracked = found["data"][0]["trackedEmails"]
    assert tracked and {m["info"] for m in tracked} == {"Blocked Sender"}
    holds = _call(tenant, "/api/gateway/get-hold-message-list", [{"admin": True}], page_size=500)
    assert len(holds["data"]) == summary.held
    detail = _call(tenant, "/api/message-finder/get-message-info", [{"id": tracked[0]["id"]}])
    assert detail["data"][0]["recipientInfo"]["policyInfo"][0]["policyType"] == "Blocked Senders"


def test_members_and_groups_on_this_database(tenant: Tenant) -> None:
    rounds = ROUNDS
    made = _call(tenant, "/api/directory/create-group",
                 [{"description": f"Team {n}"} for n in range(rounds)])  # fmt: skip
    group = made["data"][0]["id"]
    _call(tenant, "/api/directory/add-group-member",
          [{"id": group, "emailAddress": f"m{n}@demo.example"} for n in range(rounds)])  # fmt: skip
    listed = _call(tenant, "/api/directory/get-group-members", [{"id": group}], page_size=2)
    assert listed["data"][0]["groupMembers"][0]["emailAddress"] == "m0@demo.example"
    assert "next" in listed["meta"]["pagination"]
    moved = _call(tenant, "/api/directory/update-group",
                  [{"id": made["data"][1]["id"], "parentId": group}])  # fmt: skip
    assert moved["data"][0]["parentId"] == group
