"""get-group-members, create-group and update-group over HTTP, consistent with find-groups and
add/remove-group-member."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
FIND = "/api/directory/find-groups"
ADD = "/api/directory/add-group-member"
REMOVE = "/api/directory/remove-group-member"
MEMBERS = "/api/directory/get-group-members"
CREATE = "/api/directory/create-group"
UPDATE = "/api/directory/update-group"
INVALID = "err_validation_invalid_value"


async def folders(api: Api) -> dict[str, dict[str, Any]]:
    body = await api.ok(FIND, [{}], page_size=500)
    return {f["description"]: f for f in body["data"][0]["folders"]}


async def members(api: Api, group_id: str) -> list[dict[str, Any]]:
    return list(await api.pages(MEMBERS, {"id": group_id}, page_size=7, records="groupMembers"))


async def test_members_of_a_generated_group_match_find_groups(
    api: Api, tenant: GenerateSummary
) -> None:
    staff = (await folders(api))["All Staff"]
    listed = await members(api, staff["id"])
    assert len(listed) == staff["userCount"] == 20
    addresses = [m["emailAddress"] for m in listed]
    assert addresses == sorted(addresses)  # paged by address
    first = listed[0]
    assert set(first) == {"emailAddress", "domain", "name", "type", "internal", "notes"}
    assert first["domain"] == "demo.example" and first["internal"] is True
    assert first["name"]  # the directory's name for a user of the tenant
    assert first["type"] == "created_manually"


async def test_added_and_removed_members_show_in_the_list(
    api: Api, tenant: GenerateSummary
) -> None:
    finance = (await folders(api))["Finance"]
    before = await members(api, finance["id"])
    await api.ok(ADD, [{"id": finance["id"], "emailAddress": "Auditor@Partner.Example"},
                       {"id": finance["id"], "domain": "partner.example"}])  # fmt: skip
    after = await members(api, finance["id"])
    added = [m for m in after if m not in before]
    assert sorted((m["emailAddress"], m["domain"], m["type"], m["internal"]) for m in added) == [
        ("", "partner.example", "domain", False),
        ("auditor@partner.example", "partner.example", "created_manually", False),
    ]
    assert (await folders(api))["Finance"]["userCount"] == finance["userCount"] + 1
    await api.ok(REMOVE, [{"id": finance["id"], "emailAddress": "auditor@partner.example"}])
    assert [m["emailAddress"] for m in await members(api, finance["id"])] == [
        m["emailAddress"] for m in after if m["emailAddress"] != "auditor@partner.example"
    ]


async def test_create_and_update_groups_as_find_groups_sees_them(
    api: Api, tenant: GenerateSummary
) -> None:
    root = (await folders(api))["Root"]
    created = await api.ok(
        CREATE,
        [{"description": "Contractors"}, {"description": "Auditors", "parentId": root["id"]}],
    )
    contractors, auditors = created["data"]
    assert contractors == {
        "id": contractors["id"], "description": "Contractors", "source": "cloud", "parentId": "",
        "userCount": 0, "folderCount": 0,
    }  # fmt: skip
    assert auditors["parentId"] == root["id"]
    seen = await folders(api)
    assert seen["Contractors"]["id"] == contractors["id"]
    assert seen["Root"]["folderCount"] == root["folderCount"] + 1

    await api.ok(ADD, [{"id": auditors["id"], "emailAddress": "a@demo.example"}])
    moved = await api.ok(UPDATE, [{"id": auditors["id"], "description": "External Auditors",
                                   "parentId": contractors["id"]}])  # fmt: skip
    assert moved["data"] == [{
        "id": auditors["id"], "description": "External Auditors", "source": "cloud",
        "parentId": contractors["id"], "userCount": 1, "folderCount": 0,
    }]  # fmt: skip
    seen = await folders(api)
    assert "Auditors" not in seen
    assert seen["External Auditors"]["parentId"] == contractors["id"]
    assert seen["Contractors"]["folderCount"] == 1
    assert seen["Root"]["folderCount"] == root["folderCount"]
    # a group cannot end up inside itself, directly or through a child
    refused = await api.ok(UPDATE, [
        {"id": contractors["id"], "parentId": auditors["id"]},
        {"id": auditors["id"], "parentId": auditors["id"]},
    ])  # fmt: skip
    assert [c for _, c, f in fails(refused)] == [INVALID, INVALID]
    assert {f for _, _, f in fails(refused)} == {"parentId"}
    # nothing to change: the group as it is
    same = await api.ok(UPDATE, [{"id": contractors["id"]}])
    assert same["data"][0]["description"] == "Contractors"
    events = await api.ok("/api/audit/get-audit-events", [{
        "startDateTime": iso(T0 - 60), "endDateTime": iso(T0 + 60),
        "categories": ["directory_logs"],
    }])  # fmt: skip
    types = [e["auditType"] for e in events["data"]]
    assert types.count("Group Created") == 2 and types.count("Group Updated") == 1


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    (MEMBERS, {}, "err_validation_blank", "id"),
    (MEMBERS, {"id": "no-such-group"}, "err_item_not_found", "id"),
    (CREATE, {}, "err_validation_blank", "description"),
    (CREATE, {"description": 5}, INVALID, "description"),
    (CREATE, {"description": "x" * 201}, "err_validation_out_of_range", "description"),
    (CREATE, {"description": "A", "parentId": "no-such-group"}, "err_item_not_found", "parentId"),
    (UPDATE, {"description": "A"}, "err_validation_blank", "id"),
    (UPDATE, {"id": "no-such-group"}, "err_item_not_found", "id"),
    (UPDATE, {"id": "{group}", "parentId": "nowhere"}, "err_item_not_found", "parentId"),
    (UPDATE, {"id": "{group}", "description": []}, INVALID, "description"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "item", "code", "field"), BAD,
                         ids=[f"{p.rpartition('/')[2]}-{f}-{c}" for p, _, c, f in BAD])  # fmt: skip
async def test_bad_items_fail_naming_the_field(
    api: Api, tenant: GenerateSummary, path: str, item: dict[str, Any], code: str, field: str
) -> None:
    group = (await folders(api))["Sales"]["id"]
    item = {k: (group if v == "{group}" else v) for k, v in item.items()}
    body = await api.ok(path, [item])
    assert fails(body) == [(item, code, field)]
    assert body["data"] == []


async def test_a_page_token_of_another_function_is_refused(
    api: Api, tenant: GenerateSummary
) -> None:
    staff = (await folders(api))["All Staff"]
    token = (await api.ok(FIND, [{}], page_size=1))["meta"]["pagination"]["next"]
    body = await api.ok(MEMBERS, [{"id": staff["id"]}], page_token=token)
    assert fails(body) == [({"id": staff["id"]}, INVALID, "pageToken")]


@pytest.mark.parametrize(
    ("path", "item", "permission"),
    [
        (MEMBERS, {"id": "x"}, "Directories | Groups | Read"),
        (CREATE, {"description": "x"}, "Directories | Groups | Edit"),
        (UPDATE, {"id": "x"}, "Directories | Groups | Edit"),
    ],
)
async def test_each_function_needs_its_permission(
    api: Api, path: str, item: dict[str, Any], permission: str
) -> None:
    response = await api.call(path, [item], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    (entry,) = api.emu.journal.entries(path=path)
    assert entry.check == "permission" and permission in str(entry.reason)
    allowed = api.keys_for("group-admin@demo.example", [permission])
    assert (await api.call(path, [item], keys=allowed)).status_code == 200
