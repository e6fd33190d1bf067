"""permit-or-block-sender and message-finder/search over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
SENDER = "/api/managedsender/permit-or-block-sender"
SEARCH = "/api/message-finder/search"


# -- permit-or-block-sender -----------------------------------------------------------------------


async def test_permit_then_block_updates_the_same_entry(api: Api) -> None:
    item = {"sender": "Spam@Bulk.Example", "to": "admin@demo.example", "action": "permit"}
    first = (await api.ok(SENDER, [item]))["data"][0]
    assert first["sender"] == "spam@bulk.example"
    assert (first["to"], first["type"]) == ("admin@demo.example", "Permit")
    second = (await api.ok(SENDER, [{**item, "action": "block"}]))["data"][0]
    assert (second["id"], second["type"]) == (first["id"], "Block")


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        (
            {"sender": "nope", "to": "a@b.example", "action": "block"},
            "err_validation_invalid_email_address",
            "sender",
        ),
        ({"sender": "a@b.example", "action": "block"}, "err_validation_blank", "to"),
        (
            {"sender": "a@b.example", "to": "c@d.example", "action": "allow"},
            "err_validation_invalid_value",
            "action",
        ),
    ],
)
async def test_invalid_senders_fail_beside_valid_ones(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    valid = {"sender": "ok@partner.example", "to": "admin@demo.example", "action": "permit"}
    body = await api.ok(SENDER, [valid, item])
    assert [d["sender"] for d in body["data"]] == ["ok@partner.example"]
    assert fails(body) == [(item, code, field)]


async def test_managed_senders_need_their_permission(api: Api) -> None:
    item = {"sender": "a@b.example", "to": "admin@demo.example", "action": "block"}
    assert answer(await api.call(SENDER, [item], keys=api.reader)) == "403 0002 err_xdk_forbidden"


async def test_too_many_senders_in_one_call_run_none(api: Api) -> None:
    items = [
        {"sender": f"s{i}@b.example", "to": "admin@demo.example", "action": "block"}
        for i in range(101)
    ]
    body = await api.ok(SENDER, items)
    assert body["data"] == []
    assert {c for _, c, _ in fails(body)} == {"err_validation_too_many_items"}
    assert len(body["fail"]) == 101


# -- message-finder/search ------------------------------------------------------------------------


async def test_search_by_sender_domain_and_recipient(api: Api, tenant: GenerateSummary) -> None:
    everything = await api.pages(SEARCH, {}, page_size=500, records="trackedEmails")
    assert len(everything) == tenant.messages
    outbound = next(m for m in everything if m["route"] == "outbound")
    recipient = outbound["to"][0]["emailAddress"]
    found = await api.pages(
        SEARCH,
        {"advancedTrackAndTraceOptions": {"to": recipient, "route": "outbound"}},
        page_size=50,
        records="trackedEmails",
    )
    assert outbound["id"] in [m["id"] for m in found]
    assert all(recipient in [t["emailAddress"] for t in m["to"]] for m in found)
    domain = outbound["fromEnv"]["emailAddress"].rpartition("@")[2]
    by_domain = await api.pages(
        SEARCH, {"advancedTrackAndTraceOptions": {"from": domain}}, page_size=500,
        records="trackedEmails",
    )  # fmt: skip
    assert by_domain and all(m["fromEnv"]["emailAddress"].endswith("@" + domain) for m in by_domain)


async def test_search_by_message_id_and_subject(api: Api, tenant: GenerateSummary) -> None:
    page = (await api.ok(SEARCH, [{}], page_size=1))["data"][0]["trackedEmails"]
    (newest,) = page
    by_id = (await api.ok(SEARCH, [{"messageId": newest["id"]}]))["data"][0]["trackedEmails"]
    assert [m["id"] for m in by_id] == [newest["id"]]
    word = newest["subject"].split()[-1].upper()
    by_subject = await api.pages(
        SEARCH, {"advancedTrackAndTraceOptions": {"subject": word}}, page_size=100,
        records="trackedEmails",
    )  # fmt: skip
    assert newest["id"] in [m["id"] for m in by_subject]
    assert all(word.lower() in m["subject"].lower() for m in by_subject)


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"start": iso(T0 - 31 * 86400)}, "err_validation_out_of_range", "start"),
        ({"start": iso(T0), "end": iso(T0 - 60)}, "err_validation_out_of_range", "end"),
        ({"end": "yesterday"}, "err_validation_invalid_value", "end"),
        (
            {"advancedTrackAndTraceOptions": "x"},
            "err_validation_invalid_value",
            "advancedTrackAndTraceOptions",
        ),
        (
            {"advancedTrackAndTraceOptions": {"from": "not an address"}},
            "err_validation_invalid_value",
            "advancedTrackAndTraceOptions.from",
        ),
        (
            {"advancedTrackAndTraceOptions": {"route": "up"}},
            "err_validation_invalid_value",
            "advancedTrackAndTraceOptions.route",
        ),
    ],
)
async def test_invalid_searches_fail(api: Api, item: dict[str, Any], code: str, field: str) -> None:
    assert fails(await api.ok(SEARCH, [item])) == [(item, code, field)]


async def test_search_needs_the_tracking_permission(api: Api) -> None:
    assert answer(await api.call(SEARCH, [{}], keys=api.nobody)) == "403 0002 err_xdk_forbidden"
    assert (await api.ok(SEARCH, [{}], keys=api.reader))["fail"] == []
