"""Held messages over HTTP: the hold list, release and reject, and their 409 conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from tests.functions.conftest import Api, answer, fails

pytestmark = pytest.mark.anyio
LIST = "/api/gateway/get-hold-message-list"
RELEASE = "/api/gateway/hold-release"
REJECT = "/api/gateway/hold-reject"
SEARCH = "/api/message-finder/search"


async def held(api: Api, **item: Any) -> list[dict[str, Any]]:
    return await api.pages(LIST, {"admin": True, **item}, page_size=50)


async def test_admin_sees_every_held_message_newest_first(
    api: Api, tenant: GenerateSummary
) -> None:
    messages = await held(api)
    assert len(messages) == tenant.held > 0
    dates = [m["dateReceived"] for m in messages]
    assert dates == sorted(dates, reverse=True)
    assert {"id", "reason", "reasonCode", "from", "to", "subject"} <= set(messages[0])


async def test_without_admin_only_the_callers_own_messages(
    api: Api, tenant: GenerateSummary
) -> None:
    messages = await held(api)
    recipient = messages[0]["to"]["emailAddress"]
    keys = api.keys_for(recipient, ["Account | Dashboard | Read"])
    body = await api.ok(LIST, [{}], keys=keys, page_size=500)
    assert body["data"] and {m["to"]["emailAddress"] for m in body["data"]} == {recipient}
    assert (await api.ok(LIST, [{}], page_size=500))["data"] == []  # the admin gets no mail


async def test_search_and_filter_the_hold_list(api: Api, tenant: GenerateSummary) -> None:
    messages = await held(api)
    sender = messages[0]["from"]["emailAddress"]
    found = await held(api, searchBy={"fieldName": "sender", "value": sender.upper()})
    assert found and {m["from"]["emailAddress"] for m in found} == {sender}
    inbound = await held(api, filterBy=[{"fieldName": "route", "value": "inbound"}])
    assert len(inbound) == len(messages)  # the gateway only holds inbound mail here
    assert await held(api, filterBy=[{"fieldName": "route", "value": "outbound"}]) == []


async def test_hold_list_validation(api: Api) -> None:
    item: dict[str, Any] = {"searchBy": {"fieldName": "colour", "value": "red"}}
    assert fails(await api.ok(LIST, [item])) == [
        (item, "err_validation_invalid_value", "searchBy.fieldName")
    ]
    item = {"filterBy": "route"}
    assert fails(await api.ok(LIST, [item])) == [(item, "err_validation_invalid_value", "filterBy")]
    item = {"filterBy": [{"fieldName": "route", "value": "sideways"}]}
    assert fails(await api.ok(LIST, [item])) == [
        (item, "err_validation_invalid_value", "filterBy[0].value")
    ]


async def test_hold_list_needs_the_dashboard_permission(api: Api) -> None:
    assert answer(await api.call(LIST, [{}], keys=api.nobody)) == "403 0002 err_xdk_forbidden"


async def test_release_takes_the_message_off_hold_and_delivers_it(
    api: Api, tenant: GenerateSummary
) -> None:
    first, *_ = await held(api)
    body = await api.ok(RELEASE, [{"id": first["id"]}])
    assert body == {"meta": {"status": 200}, "data": [{"id": first["id"], "release": True}],
                    "fail": []}  # fmt: skip
    assert first["id"] not in [m["id"] for m in await held(api)]
    tracked = await api.pages(SEARCH, {"advancedTrackAndTraceOptions": {
        "subject": first["subject"]}}, page_size=100, records="trackedEmails")  # fmt: skip
    assert "delivered" in {m["status"] for m in tracked}


async def test_releasing_a_message_twice_is_a_conflict(api: Api, tenant: GenerateSummary) -> None:
    first, second, *_ = await held(api)
    await api.ok(RELEASE, [{"id": first["id"]}])
    again = await api.call(RELEASE, [{"id": first["id"]}])
    assert answer(again) == "409 err_hold_already_processed"
    # among several items the conflict is that item's failure; the others are released
    body = await api.ok(RELEASE, [{"id": first["id"]}, {"id": second["id"]}])
    assert body["data"] == [{"id": second["id"], "release": True}]
    assert fails(body) == [({"id": first["id"]}, "err_hold_already_processed", None)]


async def test_release_validation_and_unknown_ids(api: Api) -> None:
    body = await api.ok(RELEASE, [{"id": ""}, {"id": "eNoUnknown"}])
    assert fails(body) == [
        ({"id": ""}, "err_validation_blank", "id"),
        ({"id": "eNoUnknown"}, "err_item_not_found", "id"),
    ]


async def test_reject_reports_each_id(api: Api, tenant: GenerateSummary) -> None:
    first, second, third, *_ = await held(api)
    await api.ok(RELEASE, [{"id": second["id"]}])
    item = {
        "ids": [first["id"], second["id"], third["id"]],
        "reasonType": "MESSAGE_CONTAINS_UNDESIRABLE_CONTENT",
        "notify": True,
    }
    body = await api.ok(REJECT, [item])
    assert body["data"] == [
        {"id": first["id"], "reject": True},
        {"id": third["id"], "reject": True},
    ]
    # the failure's key is the item narrowed to the id that failed: resend it as it is
    assert fails(body) == [({**item, "ids": [second["id"]]}, "err_hold_already_processed", None)]
    one = await api.call(REJECT, [{"ids": [first["id"]]}])
    assert answer(one) == "409 err_hold_already_processed"


async def test_reject_validation(api: Api) -> None:
    items: list[dict[str, Any]] = [
        {"ids": []},
        {"ids": ["x"], "reasonType": "BORED"},
        {"message": "no ids"},
    ]
    body = await api.ok(REJECT, items)
    assert fails(body) == [
        (items[0], "err_validation_blank", "ids"),
        (items[1], "err_validation_invalid_value", "reasonType"),
        (items[2], "err_validation_blank", "ids"),
    ]


async def test_release_and_reject_need_the_held_edit_permission(
    api: Api, tenant: GenerateSummary
) -> None:
    first, *_ = await held(api)
    response = await api.call(RELEASE, [{"id": first["id"]}], keys=api.reader)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    response = await api.call(REJECT, [{"ids": [first["id"]]}], keys=api.reader)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert first["id"] in [m["id"] for m in await held(api)]  # still held
