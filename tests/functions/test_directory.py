"""Domains, groups and users over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi._signing import build_login_header, format_date, new_request_id
from mcapi.emulator._data import GenerateSummary
from mcapi.emulator._faults import FaultRule
from tests.functions.conftest import Api, answer, fails

pytestmark = pytest.mark.anyio
CREATE_DOMAIN = "/api/domain/create-domain"
DOMAINS = "/api/domain/get-internal-domain"
FIND = "/api/directory/find-groups"
ADD = "/api/directory/add-group-member"
REMOVE = "/api/directory/remove-group-member"
CREATE_USER = "/api/user/create-user"
USERS = "/api/user/get-internal-users"


# -- domains ---------------------------------------------------------------------------------------


async def test_create_domain_then_list_it(api: Api) -> None:
    body = await api.ok(CREATE_DOMAIN, [{"domain": "New.Example", "inboundType": "smtp"}])
    (created,) = body["data"]
    assert (created["domain"], created["inboundType"]) == ("new.example", "smtp")
    assert created["token"].startswith("mimecast-verification=")
    assert created["expiry"] > created["created"]
    listed = (await api.ok(DOMAINS, []))["data"]
    assert [d["domain"] for d in listed] == ["demo.example", "new.example"]
    assert created["id"] in [d["id"] for d in listed]
    named = await api.ok(DOMAINS, [{"domain": "new.example"}, {"domain": "other.example"}])
    assert [d["domain"] for d in named["data"]] == ["new.example"]
    assert fails(named) == [({"domain": "other.example"}, "err_item_not_found", "domain")]


async def test_an_existing_domain_is_a_conflict(api: Api) -> None:
    assert answer(await api.call(CREATE_DOMAIN, [{"domain": "demo.example"}])) == (
        "409 err_domain_exists"
    )
    body = await api.ok(CREATE_DOMAIN, [{"domain": "a.example"}, {"domain": "demo.example"}])
    assert [d["domain"] for d in body["data"]] == ["a.example"]
    assert fails(body) == [({"domain": "demo.example"}, "err_domain_exists", None)]


async def test_invalid_domains_fail(api: Api) -> None:
    items: list[dict[str, Any]] = [{"domain": "no_underscores!"}, {}, {"domain": "x.example",
                                   "inboundType": "pigeon"}]  # fmt: skip
    body = await api.ok(CREATE_DOMAIN, items)
    assert fails(body) == [
        (items[0], "err_validation_invalid_value", "domain"),
        (items[1], "err_validation_blank", "domain"),
        (items[2], "err_validation_invalid_value", "inboundType"),
    ]


async def test_registering_domains_needs_its_permission(api: Api) -> None:
    response = await api.call(CREATE_DOMAIN, [{"domain": "r.example"}], keys=api.reader)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert answer(await api.call(DOMAINS, [], keys=api.nobody)) == "403 0002 err_xdk_forbidden"


async def test_an_injected_failure_skips_only_its_item(api: Api) -> None:
    api.emu.faults.add(
        FaultRule.from_dict(
            {
                "match": {"path": CREATE_DOMAIN, "times": 1},
                "effect": {"item_failures": [{"index": 1, "code": "err_validation_blank"}]},
            }
        )
    )
    body = await api.ok(CREATE_DOMAIN, [{"domain": "one.example"}, {"domain": "two.example"}])
    assert [d["domain"] for d in body["data"]] == ["one.example"]
    assert [(k, c) for k, c, _ in fails(body)] == [
        ({"domain": "two.example"}, "err_validation_blank")
    ]
    listed = [d["domain"] for d in (await api.ok(DOMAINS, []))["data"]]
    assert "two.example" not in listed  # the failed item never ran


# -- groups ----------------------------------------------------------------------------------------


async def test_find_groups_pages_with_counts(api: Api, tenant: GenerateSummary) -> None:
    body = await api.ok(FIND, [{}], page_size=4)
    assert body["meta"]["pagination"]["totalCount"] == tenant.groups
    folders = await api.pages(FIND, {}, page_size=4, records="folders")
    assert len(folders) == tenant.groups
    staff = next(f for f in folders if f["description"] == "All Staff")
    root = next(f for f in folders if f["description"] == "Root")
    assert staff["userCount"] == tenant.users and staff["parentId"] == root["id"]
    assert root["folderCount"] == tenant.groups - 1
    found = (await api.ok(FIND, [{"query": "staff"}]))["data"][0]
    assert [f["description"] for f in found["folders"]] == ["All Staff"]
    assert (await api.ok(FIND, [{"source": "ldap"}]))["data"][0]["folders"] == []


async def test_add_and_remove_group_members(api: Api, tenant: GenerateSummary) -> None:
    folders = (await api.ok(FIND, [{"query": "finance"}]))["data"][0]["folders"]
    group = folders[0]["id"]
    before = folders[0]["userCount"]
    added = await api.ok(ADD, [{"id": group, "emailAddress": "Partner@External.example"},
                               {"id": group, "domain": "demo.example"}])  # fmt: skip
    assert [(m["folderId"], m.get("emailAddress"), m.get("domain"), m["internal"])
            for m in added["data"]] == [
        (group, "partner@external.example", None, False),
        (group, None, "demo.example", True),
    ]  # fmt: skip
    after = (await api.ok(FIND, [{"query": "finance"}]))["data"][0]["folders"][0]
    assert after["userCount"] == before + 1  # domains are not users
    again = await api.ok(ADD, [{"id": group, "emailAddress": "partner@external.example"}])
    assert [c for _, c, _ in fails(again)] == ["err_folder_group_member_already_exists"]
    removed = await api.ok(REMOVE, [{"id": group, "emailAddress": "partner@external.example"}])
    assert removed["data"][0]["emailAddress"] == "partner@external.example"
    gone = await api.ok(REMOVE, [{"id": group, "emailAddress": "partner@external.example"}])
    assert [c for _, c, _ in fails(gone)] == ["err_folder_email_address_not_found"]


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"id": "eNoNoGroup", "emailAddress": "a@b.example"}, "err_item_not_found", "id"),
        ({"emailAddress": "a@b.example"}, "err_validation_blank", "id"),
        ({"id": "g"}, "err_validation_blank", "emailAddress"),
        (
            {"id": "g", "emailAddress": "bad"},
            "err_validation_invalid_email_address",
            "emailAddress",
        ),
        (
            {"id": "g", "emailAddress": "a@b.example", "domain": "b.example"},
            "err_validation_invalid_value",
            "domain",
        ),
    ],
)
async def test_invalid_member_changes_fail(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    assert fails(await api.ok(ADD, [item])) == [(item, code, field)]


async def test_groups_need_the_groups_edit_permission(api: Api, tenant: GenerateSummary) -> None:
    # as documented, even find-groups asks for Edit: the reader's Groups | Read is not enough
    assert answer(await api.call(FIND, [{}], keys=api.reader)) == "403 0002 err_xdk_forbidden"
    item = {"id": "g", "emailAddress": "a@b.example"}
    assert answer(await api.call(ADD, [item], keys=api.reader)) == "403 0002 err_xdk_forbidden"
    assert answer(await api.call(REMOVE, [item], keys=api.reader)) == "403 0002 err_xdk_forbidden"


# -- users -----------------------------------------------------------------------------------------


async def test_create_user_who_can_then_log_in(api: Api) -> None:
    item = {"emailAddress": "New.Hire@demo.example", "name": "New Hire", "password": "S3cret-pass!"}
    (user,) = (await api.ok(CREATE_USER, [item]))["data"]
    assert (user["emailAddress"], user["name"], user["domain"]) == (
        "new.hire@demo.example",
        "New Hire",
        "demo.example",
    )
    login = await api.http.post(
        "/api/login/login",
        json={"data": [{"userName": "new.hire@demo.example"}]},
        headers={
            "Authorization": build_login_header("cloud", "new.hire@demo.example", "S3cret-pass!"),
            "x-mc-app-id": api.creds.app_id,
            "x-mc-date": format_date(api.emu.clock.now()),
            "x-mc-req-id": new_request_id(),
        },
    )
    assert login.status_code == 200, login.text
    assert login.json()["data"][0]["accessKey"]


async def test_an_existing_user_is_a_conflict(api: Api) -> None:
    response = await api.call(CREATE_USER, [{"emailAddress": "admin@demo.example"}])
    assert response.status_code == 409
    assert answer(response) == "409 err_user_exists"
    body = await api.ok(CREATE_USER, [{"emailAddress": "reader@demo.example"},
                                      {"emailAddress": "fresh@demo.example"}])  # fmt: skip
    assert [u["emailAddress"] for u in body["data"]] == ["fresh@demo.example"]
    assert fails(body) == [({"emailAddress": "reader@demo.example"}, "err_user_exists", None)]


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        (
            {"emailAddress": "someone@elsewhere.example"},
            "err_validation_invalid_value",
            "emailAddress",
        ),
        (
            {"emailAddress": "not-an-address"},
            "err_validation_invalid_email_address",
            "emailAddress",
        ),
        ({}, "err_validation_blank", "emailAddress"),
        (
            {"emailAddress": "a@demo.example", "accountCode": "CUSA99999"},
            "err_validation_invalid_value",
            "accountCode",
        ),
    ],
)
async def test_invalid_users_fail(api: Api, item: dict[str, Any], code: str, field: str) -> None:
    assert fails(await api.ok(CREATE_USER, [item])) == [(item, code, field)]


async def test_internal_users_pages_and_filters(api: Api, tenant: GenerateSummary) -> None:
    first = await api.ok(USERS, [{}], page_size=5)
    assert first["meta"]["pagination"]["totalCount"] == 3 + tenant.users
    users = await api.pages(USERS, {}, page_size=5, records="users")
    assert len(users) == 3 + tenant.users
    assert len({u["emailAddress"] for u in users}) == len(users)
    found = await api.pages(USERS, {"query": "reader"}, page_size=5, records="users")
    assert [u["emailAddress"] for u in found] == ["reader@demo.example"]
    other = await api.ok(USERS, [{"domain": "elsewhere.example"}])
    assert other["data"][0]["users"] == []


async def test_users_need_the_internal_directory_permissions(api: Api) -> None:
    item = {"emailAddress": "x@demo.example"}
    assert answer(await api.call(CREATE_USER, [item], keys=api.reader)) == (
        "403 0002 err_xdk_forbidden"
    )
    assert answer(await api.call(USERS, [{}], keys=api.nobody)) == "403 0002 err_xdk_forbidden"
