"""Blocked-sender policies over HTTP: create, get, delete, validation, permissions, and the mail
they block (the generator's messages, seen through message-finder, the hold list and
get-message-info)."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary, generate
from mcapi.emulator._store import Account
from tests.functions.conftest import SEED, T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
CREATE = "/api/policy/blockedsenders/create-policy"
GET = "/api/policy/blockedsenders/get-policy"
DELETE = "/api/policy/blockedsenders/delete-policy"
SEARCH = "/api/message-finder/search"
INFO = "/api/message-finder/get-message-info"
HOLDS = "/api/gateway/get-hold-message-list"
DAY = 86400.0


def block(value: str, kind: str = "email_domain", **policy: Any) -> dict[str, Any]:
    return {
        "option": policy.pop("option", "block_sender"),
        "policy": {"description": f"block {value}", "fromPart": "both", "fromType": kind,
                   "fromValue": value, "toType": "everyone", **policy},
    }  # fmt: skip


async def tracked(api: Api, sender: str) -> list[dict[str, Any]]:
    item = {"advancedTrackAndTraceOptions": {"from": sender}}
    return list(await api.pages(SEARCH, item, page_size=500, records="trackedEmails"))


# -- create, get, delete --------------------------------------------------------------------------


async def test_create_get_and_delete_a_policy(api: Api) -> None:
    created = (await api.ok(CREATE, [block("spam.example")]))["data"][0]
    assert created["option"] == "block_sender"
    policy = created["policy"]
    assert policy["from"] == {"type": "email_domain", "emailDomain": "spam.example"}
    assert policy["to"] == {"type": "everyone"}
    assert (policy["fromType"], policy["fromValue"], policy["toType"]) == (
        "email_domain", "spam.example", "everyone"
    )  # fmt: skip
    # an eternal policy reads as the platform writes one
    assert (policy["fromEternal"], policy["toEternal"]) == (True, True)
    assert (policy["fromDate"], policy["toDate"]) == (
        "1900-01-01T00:00:00+0000", "2100-01-01T23:59:59+0000"
    )  # fmt: skip
    assert (policy["enabled"], policy["override"], policy["bidirectional"]) == (True, False, False)
    assert policy["createTime"] == policy["lastUpdated"] == iso(T0)
    assert policy["conditions"] == {}

    by_id = await api.ok(GET, [{"id": created["id"]}])
    assert by_id["data"] == [created]
    listed = await api.ok(GET, [])
    assert [p["id"] for p in listed["data"]] == [created["id"]]

    assert (await api.ok(DELETE, [{"id": created["id"]}]))["data"] == [{"id": created["id"]}]
    assert (await api.ok(GET, []))["data"] == []
    gone = await api.ok(GET, [{"id": created["id"]}])
    assert fails(gone) == [({"id": created["id"]}, "err_item_not_found", "id")]
    again = await api.ok(DELETE, [{"id": created["id"]}])
    assert fails(again) == [({"id": created["id"]}, "err_item_not_found", "id")]


async def test_create_with_an_id_replaces_the_settings(api: Api) -> None:
    created = (await api.ok(CREATE, [block("spam.example")]))["data"][0]
    api.emu.clock.advance(60)
    updated = await api.ok(CREATE, [{
        "id": created["id"], "option": "no_action",
        "policy": {"description": "now an exception", "fromType": "individual_email_address",
                   "fromValue": "Boss@Partner.Example", "toType": "internal_addresses",
                   "fromDate": iso(T0), "toDate": iso(T0 + DAY), "bidirectional": True,
                   "conditions": {"sourceIPs": ["192.0.2.0/24"]}},
    }])  # fmt: skip
    record = updated["data"][0]
    assert (record["id"], record["option"]) == (created["id"], "no_action")
    policy = record["policy"]
    assert policy["from"] == {"type": "individual_email_address",
                              "emailAddress": "boss@partner.example"}  # fmt: skip
    assert (policy["fromEternal"], policy["fromDate"], policy["toDate"]) == (
        False, iso(T0), iso(T0 + DAY)
    )  # fmt: skip
    assert policy["conditions"] == {"sourceIPs": ["192.0.2.0/24"]}
    assert policy["createTime"] == iso(T0) and policy["lastUpdated"] == iso(T0 + 60)
    assert (await api.ok(GET, [{"id": created["id"]}]))["data"] == [record]
    unknown = await api.ok(CREATE, [{**block("x.example"), "id": "no-such-policy"}])
    assert fails(unknown) == [({**block("x.example"), "id": "no-such-policy"},
                               "err_item_not_found", "id")]  # fmt: skip


async def test_a_profile_group_policy_names_an_existing_group(
    api: Api, tenant: GenerateSummary
) -> None:
    folders = (await api.ok("/api/directory/find-groups", [{}]))["data"][0]["folders"]
    group = next(f for f in folders if f["description"] == "Finance")
    body = await api.ok(CREATE, [block(group["id"], "profile_group")])
    assert body["data"][0]["policy"]["from"] == {"type": "profile_group", "groupId": group["id"]}


def _with(**policy: Any) -> dict[str, Any]:
    item = block("spam.example")
    item["policy"].update(policy)
    return item


INVALID = "err_validation_invalid_value"
BAD_ITEMS: list[tuple[dict[str, Any], str, str]] = [
    ({"policy": block("a.example")["policy"]}, "err_validation_blank", "option"),
    ({**block("a.example"), "option": "quarantine"}, INVALID, "option"),
    ({"option": "block_sender"}, "err_validation_blank", "policy"),
    ({"option": "block_sender", "policy": "everyone"}, INVALID, "policy"),
    (_with(description=" "), "err_validation_blank", "policy.description"),
    (_with(fromPart="subject"), INVALID, "policy.fromPart"),
    (_with(fromType="anyone"), INVALID, "policy.fromType"),
    (_with(fromValue=None), "err_validation_null", "policy.fromValue"),
    (_with(fromValue="@spam.example"), INVALID, "policy.fromValue"),
    (_with(fromType="individual_email_address", fromValue="nobody"),
     "err_validation_invalid_email_address", "policy.fromValue"),
    (_with(fromType="profile_group", fromValue="no-such-group"), "err_item_not_found",
     "policy.fromValue"),
    (_with(toType="email_domain"), "err_validation_blank", "policy.toValue"),
    (_with(toType="nobody"), INVALID, "policy.toType"),
    (_with(fromDate="yesterday"), INVALID, "policy.fromDate"),
    (_with(fromEternal=False), "err_validation_blank", "policy.fromDate"),
    (_with(fromDate=iso(T0), toDate=iso(T0 - DAY)), "err_validation_out_of_range",
     "policy.toDate"),
    (_with(toEternal="sometimes"), INVALID, "policy.toEternal"),
    (_with(enabled="perhaps"), INVALID, "policy.enabled"),
    (_with(override=[]), INVALID, "policy.override"),
    (_with(conditions=["10.0.0.0/8"]), INVALID, "policy.conditions"),
    (_with(conditions={"sourceIPs": ["10.0.0.0/33"]}), INVALID, "policy.conditions.sourceIPs"),
    (_with(conditions={"sourceIPs": "10.0.0.0/8"}), INVALID, "policy.conditions.sourceIPs"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "code", "field"), BAD_ITEMS, ids=[b[2] for b in BAD_ITEMS])
async def test_create_refuses_each_bad_field(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    body = await api.ok(CREATE, [item, block("fine.example")])
    assert fails(body) == [(item, code, field)]
    # the other item of the call is created all the same
    assert [p["policy"]["fromValue"] for p in body["data"]] == ["fine.example"]


async def test_get_and_delete_refuse_bad_items(api: Api) -> None:
    assert fails(await api.ok(DELETE, [{}])) == [({}, "err_validation_blank", "id")]
    assert fails(await api.ok(DELETE, [{"id": 7}])) == [({"id": 7}, INVALID, "id")]
    assert fails(await api.ok(GET, [{"id": 7}])) == [({"id": 7}, INVALID, "id")]
    too_many = await api.ok(GET, [{}, {}])
    assert {code for _, code, _ in fails(too_many)} == {"err_validation_too_many_items"}
    bad_token = await api.ok(GET, [], page_token="not-a-token")
    assert fails(bad_token) == [({}, INVALID, "pageToken")]


@pytest.mark.parametrize(
    ("path", "item", "permission"),
    [
        (CREATE, block("a.example"), "Gateway | Policies | Edit"),
        (GET, {}, "Gateway | Policies | Read"),
        (DELETE, {"id": "x"}, "Gateway | Policies | Edit"),
    ],
)
async def test_each_function_needs_its_permission(
    api: Api, path: str, item: dict[str, Any], permission: str
) -> None:
    response = await api.call(path, [item], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    (entry,) = api.emu.journal.entries(path=path)
    assert entry.check == "permission" and permission in str(entry.reason)
    allowed = api.keys_for("policy-admin@demo.example", [permission])
    assert (await api.call(path, [item], keys=allowed)).status_code == 200


async def test_writes_are_audited(api: Api) -> None:
    created = (await api.ok(CREATE, [block("spam.example")]))["data"][0]
    await api.ok(DELETE, [{"id": created["id"]}])
    events = await api.ok("/api/audit/get-audit-events", [{
        "startDateTime": iso(T0 - 60), "endDateTime": iso(T0 + 60), "categories": ["policy_logs"],
    }])  # fmt: skip
    types = [e["auditType"] for e in events["data"]]
    assert "Blocked Sender Policy Created" in types and "Blocked Sender Policy Deleted" in types


# -- what policies block --------------------------------------------------------------------------


async def test_the_generated_tenant_blocks_some_senders(api: Api, tenant: GenerateSummary) -> None:
    policies = (await api.ok(GET, []))["data"]
    assert {p["option"] for p in policies} == {"block_sender", "no_action"}
    blocking = [p for p in policies if p["option"] == "block_sender" and p["policy"]["enabled"]]
    assert {p["policy"]["fromType"] for p in blocking} == {
        "email_domain", "individual_email_address"
    }  # fmt: skip
    for policy in blocking:
        rejected = await tracked(api, policy["policy"]["fromValue"])
        assert rejected and {(m["status"], m["info"]) for m in rejected} == {
            ("rejected", "Blocked Sender")
        }
        detail = (await api.ok(INFO, [{"id": rejected[0]["id"]}]))["data"][0]
        assert detail["status"] == "rejected" and detail["deliveredMessage"] == {}
        meta = detail["recipientInfo"]["recipientMetaInfo"]
        assert meta["receiptEvent"] == "Email Rejected - Blocked Sender"
        assert detail["recipientInfo"]["policyInfo"] == [
            {"policyType": "Blocked Senders", "policyName": policy["policy"]["description"],
             "inherited": False}
        ]  # fmt: skip
    # a rejected message is never held; the suspicious mail the spam scanner holds still is
    holds = await api.pages(HOLDS, {"admin": True}, page_size=500)
    assert tenant.held == len(holds) > 0
    blocked = {p["policy"]["fromValue"] for p in blocking}
    senders = {h["from"]["emailAddress"] for h in holds}
    assert not blocked & (senders | {s.rpartition("@")[2] for s in senders})
    # the disabled policy blocks nothing, the exempted partner is delivered
    for policy in policies:
        if policy["option"] == "no_action" or not policy["policy"]["enabled"]:
            infos = {m["info"] for m in await tracked(api, policy["policy"]["fromValue"])}
            assert infos and "Blocked Sender" not in infos


def _regenerate(api: Api, account: Account, now: float) -> GenerateSummary:
    api.emu.clock.set(now)
    return generate(api.emu.store, account.id, seed=SEED, users=20, days=3, now=now)


async def test_a_created_policy_rejects_mail_received_while_it_is_in_force(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    inbound = await api.pages(SEARCH, {"advancedTrackAndTraceOptions": {"route": "inbound"}},
                              page_size=500, records="trackedEmails")  # fmt: skip
    domains = [m["fromEnv"]["emailAddress"].rpartition("@")[2] for m in inbound]
    target = max(sorted(set(domains)), key=domains.count)  # the busiest correspondent
    before = await tracked(api, target)
    assert "Blocked Sender" not in {m["info"] for m in before}

    created = (await api.ok(CREATE, [block(target)]))["data"][0]
    # nothing already received changes
    assert await tracked(api, target) == before

    # a day of new mail arrives; the policy is deleted; another day arrives
    _regenerate(api, account, T0 + DAY)
    await api.ok(DELETE, [{"id": created["id"]}])
    summary = _regenerate(api, account, T0 + 2 * DAY)
    messages = await tracked(api, target)
    window = (iso(T0), iso(T0 + DAY))
    inside = [m for m in messages if window[0] <= m["received"] <= window[1]]
    outside = [m for m in messages if not window[0] <= m["received"] <= window[1]]
    assert inside and outside
    assert {m["info"] for m in inside} == {"Blocked Sender"}
    assert "Blocked Sender" not in {m["info"] for m in outside}
    detail = (await api.ok(INFO, [{"id": inside[0]["id"]}]))["data"][0]
    assert detail["recipientInfo"]["policyInfo"][0]["policyName"] == f"block {target}"
    holds = await api.pages(HOLDS, {"admin": True}, page_size=500)
    assert summary.held == len(holds)


async def test_the_most_specific_policy_applies(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    inbound = await api.pages(SEARCH, {"advancedTrackAndTraceOptions": {"route": "inbound"}},
                              page_size=500, records="trackedEmails")  # fmt: skip
    senders = [m["fromEnv"]["emailAddress"] for m in inbound]
    spared = max(set(senders), key=senders.count)
    domain = spared.rpartition("@")[2]
    await api.ok(CREATE, [
        block(domain),
        block(spared, "individual_email_address", option="no_action"),
        # a rule for connections from elsewhere only: never matches this mail
        block(spared, "individual_email_address", conditions={"sourceIPs": ["198.18.0.0/15"]}),
    ])  # fmt: skip
    _regenerate(api, account, T0 + DAY)
    recent = [m for m in await tracked(api, domain) if m["received"] > iso(T0)]
    kept = {m["info"] for m in recent if m["fromEnv"]["emailAddress"] == spared}
    blocked = {m["info"] for m in recent if m["fromEnv"]["emailAddress"] != spared}
    assert kept and "Blocked Sender" not in kept
    assert blocked == {"Blocked Sender"}


async def test_groups_internal_external_and_both_directions(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    route = {"advancedTrackAndTraceOptions": {"route": "inbound"}}
    inbound = await api.pages(SEARCH, route, page_size=500, records="trackedEmails")
    policies = (await api.ok(GET, []))["data"]
    exempt = next(p["policy"]["fromValue"] for p in policies if p["option"] == "no_action")
    senders = [
        m["fromEnv"]["emailAddress"] for m in inbound
        if "Blocked" not in m["info"] and not m["fromEnv"]["emailAddress"].endswith(exempt)
    ]  # fmt: skip
    member = max(sorted(set(senders)), key=senders.count)
    domains = [s.rpartition("@")[2] for s in senders if not s.endswith(member.rpartition("@")[2])]
    domain, both_ways = sorted(set(domains), key=domains.count, reverse=True)[:2]
    from_partner = [m for m in inbound if m["fromEnv"]["emailAddress"].endswith(exempt)]
    recipients = [m["to"][0]["emailAddress"] for m in from_partner]
    recipient = max(sorted(set(recipients)), key=recipients.count)
    group = (await api.ok("/api/directory/create-group", [{"description": "Blocked"}]))["data"][0]
    await api.ok("/api/directory/add-group-member", [
        {"id": group["id"], "emailAddress": member}, {"id": group["id"], "domain": domain},
    ])  # fmt: skip
    await api.ok(CREATE, [
        block(group["id"], "profile_group"),
        {"option": "block_sender", "policy": {
            "description": "nothing from outside to one mailbox",
            "fromType": "external_addresses", "toType": "individual_email_address",
            "toValue": recipient}},
        block(both_ways, toType="internal_addresses", bidirectional=True),
    ])  # fmt: skip
    _regenerate(api, account, T0 + DAY)

    async def infos(**options: str) -> set[str]:
        item = {"start": iso(T0 + 1), "advancedTrackAndTraceOptions": options}
        found = await api.pages(SEARCH, item, page_size=500, records="trackedEmails")
        assert found, options
        return {m["info"] for m in found}

    assert await infos(**{"from": member}) == {"Blocked Sender"}
    assert await infos(**{"from": domain}) == {"Blocked Sender"}
    # from outside to that mailbox: blocked, but for the partner the tenant exempts (a more
    # specific no_action policy applies to it)
    item = {"start": iso(T0 + 1),
            "advancedTrackAndTraceOptions": {"to": recipient, "route": "inbound"}}  # fmt: skip
    to_recipient = await api.pages(SEARCH, item, page_size=500, records="trackedEmails")
    spared = {m["info"] for m in to_recipient if m["fromEnv"]["emailAddress"].endswith(exempt)}
    assert spared and "Blocked Sender" not in spared
    assert {
        m["info"] for m in to_recipient if not m["fromEnv"]["emailAddress"].endswith(exempt)
    } == {"Blocked Sender"}
    assert await infos(**{"from": both_ways}) == {"Blocked Sender"}
    assert await infos(to=both_ways, route="outbound") == {"Blocked Sender"}
    # internal mail, and outbound mail to anyone else, is never blocked
    assert "Blocked Sender" not in await infos(route="internal")
    outbound = {"start": iso(T0 + 1), "advancedTrackAndTraceOptions": {"route": "outbound"}}
    others = [
        m for m in await api.pages(SEARCH, outbound, page_size=500, records="trackedEmails")
        if both_ways not in {r["emailAddress"].rpartition("@")[2] for r in m["to"]}
    ]  # fmt: skip
    assert others and "Blocked Sender" not in {m["info"] for m in others}
