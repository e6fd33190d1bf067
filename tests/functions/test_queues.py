"""The gateway's queues over HTTP: the hold summary, the messages in delivery, the queue sizes.

The three views read the same state as the hold list and each other: releasing or rejecting a
held message lowers its reason's count, and the latest queue-size sample counts exactly the
messages find-processing-messages lists.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator._data import GenerateSummary, generate, processing_messages
from mcapi.emulator._store import Account
from tests.functions.conftest import SEED, T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
SUMMARY = "/api/gateway/get-hold-summary-list"
HOLD_LIST = "/api/gateway/get-hold-message-list"
RELEASE = "/api/gateway/hold-release"
REJECT = "/api/gateway/hold-reject"
PROCESSING = "/api/gateway/find-processing-messages"
QUEUES = "/api/email/get-email-queues"


async def held(api: Api) -> list[dict[str, Any]]:
    return await api.pages(HOLD_LIST, {"admin": True}, page_size=500)


async def summary(api: Api) -> dict[str, int]:
    body = await api.ok(SUMMARY, [])
    assert body["fail"] == []
    return {row["policyInfo"]: row["numberOfItems"] for row in body["data"]}


async def queued(api: Api, **item: Any) -> list[dict[str, Any]]:
    return await api.pages(PROCESSING, item, page_size=500, records="messages")


# -- get-hold-summary-list ---------------------------------------------------------------------


async def test_summary_counts_the_hold_list_by_reason(api: Api, tenant: GenerateSummary) -> None:
    body = await api.ok(SUMMARY, [])
    counts = [row["numberOfItems"] for row in body["data"]]
    assert counts == sorted(counts, reverse=True)  # most held reason first
    expected = Counter(m["policyInfo"] for m in await held(api))
    assert await summary(api) == dict(expected)
    assert sum(counts) == tenant.held > 0


async def test_release_and_reject_lower_the_summary(api: Api, tenant: GenerateSummary) -> None:
    first, second, *_ = await held(api)
    before = await summary(api)
    await api.ok(RELEASE, [{"id": first["id"]}])
    await api.ok(REJECT, [{"ids": [second["id"]]}])
    after = await summary(api)
    lowered = Counter(before)
    lowered.subtract([first["policyInfo"], second["policyInfo"]])
    assert after == {reason: n for reason, n in lowered.items() if n}


async def test_summary_of_an_empty_hold_queue_and_an_item(api: Api) -> None:
    assert (await api.ok(SUMMARY, []))["data"] == []
    assert (await api.ok(SUMMARY, [{}]))["data"] == []  # one empty item is the same call
    body = await api.ok(SUMMARY, [{}, {}])
    assert [code for _, code, _ in fails(body)] == ["err_validation_too_many_items"] * 2


async def test_summary_needs_the_dashboard_permission(api: Api) -> None:
    response = await api.call(SUMMARY, [], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    (entry,) = api.emu.journal.entries(path=SUMMARY)[-1:]
    assert "Account | Dashboard | Read" in entry.reason
    assert (await api.call(SUMMARY, [], keys=api.reader)).status_code == 200


# -- find-processing-messages ------------------------------------------------------------------


async def test_processing_lists_the_queued_messages(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    messages = await queued(api)
    with api.emu.store.connect() as conn:
        waiting = conn.execute(
            sa.select(processing_messages.c.id).where(
                processing_messages.c.account_id == account.id,
                processing_messages.c.left_at.is_(None),
            )
        ).scalars()
        assert {m["id"] for m in messages} == set(waiting)
    assert len(messages) >= 3
    created = [m["created"] for m in messages]
    assert created == sorted(created, reverse=True)  # newest first by default
    first = messages[0]
    fields = {"id", "fromEnv", "fromHeader", "to", "subject", "attachment", "routing", "size",
              "remoteIp", "attempts", "nextAttempt", "created", "info", "priority"}  # fmt: skip
    assert fields <= set(first)
    assert first["attempts"] >= 1 and first["nextAttempt"] > first["created"]
    oldest = await queued(api, sortOrder="ascending")
    assert [m["id"] for m in oldest] == [m["id"] for m in reversed(messages)]
    assert [m["id"] for m in await queued(api, sortOrder="asc")] == [m["id"] for m in oldest]


async def test_processing_pages_report_the_total(api: Api, tenant: GenerateSummary) -> None:
    everything = await queued(api)
    body = await api.ok(PROCESSING, [{}], page_size=2)
    assert body["meta"]["pagination"]["totalCount"] == len(everything)
    assert len(body["data"][0]["messages"]) == 2


async def test_processing_search_and_filters(api: Api, tenant: GenerateSummary) -> None:
    messages = await queued(api)
    target = messages[0]
    sender = target["fromEnv"]["emailAddress"]
    found = await queued(api, searchBy={"fieldName": "fromAddress", "value": sender.upper()})
    assert found and {m["fromEnv"]["emailAddress"] for m in found} == {sender}
    anywhere = await queued(api, searchBy={"fieldName": "ALL", "value": target["remoteIp"]})
    assert target["id"] in {m["id"] for m in anywhere}
    for route in ("inbound", "outbound", "internal"):
        routed = await queued(api, filterBy=[{"route": route}])
        assert routed == [m for m in messages if m["routing"] == route]
        same = await queued(api, filterBy=[{"fieldName": "route", "value": route}])
        assert same == routed
    with_files = await queued(api, filterBy=[{"attachments": True}])
    assert with_files == [m for m in messages if m["attachment"]]
    created = datetime.strptime(target["created"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    window = await queued(api, start=target["created"], end=iso(created + 1))
    assert target["id"] in {m["id"] for m in window}
    assert await queued(api, filterBy=[{"route": "external"}]) == []


async def test_processing_validation(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"sortOrder": "sideways"}, "err_validation_invalid_value", "sortOrder"),
        ({"start": "yesterday"}, "err_validation_invalid_value", "start"),
        ({"start": iso(T0), "end": iso(T0 - 60)}, "err_validation_out_of_range", "end"),
        ({"searchBy": "x"}, "err_validation_invalid_value", "searchBy"),
        ({"searchBy": {"fieldName": "colour", "value": "red"}},
         "err_validation_invalid_value", "searchBy.fieldName"),
        ({"filterBy": {"route": "inbound"}}, "err_validation_invalid_value", "filterBy"),
        ({"filterBy": [{"route": "sideways"}]},
         "err_validation_invalid_value", "filterBy[0].route"),
        ({"filterBy": [{"fieldName": "colour", "value": "red"}]},
         "err_validation_invalid_value", "filterBy[0].fieldName"),
        ({"filterBy": [{"fieldName": "route", "value": "sideways"}]},
         "err_validation_invalid_value", "filterBy[0].value"),
        ({"filterBy": [{"attachments": "maybe"}]},
         "err_validation_invalid_value", "filterBy[0].attachments"),
    ]  # fmt: skip
    for item, code, field in cases:
        assert fails(await api.ok(PROCESSING, [item])) == [(item, code, field)], item


async def test_processing_needs_the_tracking_permission(api: Api) -> None:
    response = await api.call(PROCESSING, [{}], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert "Gateway | Tracking | Read" in api.emu.journal.entries(path=PROCESSING)[-1].reason


# -- get-email-queues --------------------------------------------------------------------------


async def queue_sizes(api: Api, start: float, end: float) -> dict[str, Any]:
    body = await api.ok(QUEUES, [{"start": iso(start), "end": iso(end)}])
    assert body["fail"] == []
    (record,) = body["data"]
    return dict(record)


async def test_queue_sizes_every_ten_minutes(api: Api, tenant: GenerateSummary) -> None:
    record = await queue_sizes(api, T0 - 3 * 3600, T0)
    inbound, outbound = record["inboundEmailQueue"], record["outboundEmailQueue"]
    assert len(inbound) == len(outbound) == 18  # the 10-minute marks of three hours
    assert [p["date"] for p in inbound] == [p["date"] for p in outbound]
    assert all(p["date"][14:16] in ("00", "10", "20", "30", "40", "50") for p in inbound)
    assert any(p["count"] for p in inbound + outbound)


async def test_the_latest_sample_counts_the_processing_list(
    api: Api, tenant: GenerateSummary
) -> None:
    mark = T0 - T0 % 600 + 600
    api.emu.clock.set(mark)  # a sample instant is now: the list and the sample see one queue
    record = await queue_sizes(api, mark - 600, mark)
    messages = await queued(api)
    inbound = sum(m["routing"] == "inbound" for m in messages)
    assert record["inboundEmailQueue"][-1] == {"date": iso(mark), "count": inbound}
    assert record["outboundEmailQueue"][-1]["count"] == len(messages) - inbound


async def test_a_message_entering_and_leaving_the_queue_moves_both_views(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    mark = T0 - T0 % 600
    api.emu.clock.set(mark + 1200)
    before = await queue_sizes(api, mark, mark + 1200)
    with api.emu.store.begin() as conn:
        conn.execute(processing_messages.insert().values(
            id="late-queued", account_id=account.id, created=mark + 300,
            sender="news@outside.example", sender_name="News", recipient="a@demo.example",
            subject="late", route="inbound", size=2048, has_attachments=False,
            remote_ip="192.0.2.1", attempts=1, next_attempt=mark + 1200, info="queued",
            priority="normal", left_at=mark + 900,
        ))  # fmt: skip
    after = await queue_sizes(api, mark, mark + 1200)
    counts = [
        a["count"] - b["count"]
        for a, b in zip(after["inboundEmailQueue"], before["inboundEmailQueue"], strict=True)
    ]
    assert counts == [0, 1, 0]  # queued at mark+600 only: it left at mark+900
    assert "late-queued" not in {m["id"] for m in await queued(api)}  # it has left


async def test_queue_history_is_bounded(api: Api, tenant: GenerateSummary) -> None:
    record = await queue_sizes(api, T0 - 365 * 86400, T0 + 86400)
    dates = [p["date"] for p in record["inboundEmailQueue"]]
    assert len(dates) == 7 * 144  # seven days of samples, none in the future
    assert dates[-1] <= iso(T0)


async def test_queue_sizes_validation(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"end": iso(T0)}, "err_validation_blank", "start"),
        ({"start": iso(T0)}, "err_validation_blank", "end"),
        ({"start": None, "end": iso(T0)}, "err_validation_null", "start"),
        ({"start": "now", "end": iso(T0)}, "err_validation_invalid_value", "start"),
        ({"start": iso(T0), "end": iso(T0 - 1)}, "err_validation_out_of_range", "end"),
    ]
    for item, code, field in cases:
        assert fails(await api.ok(QUEUES, [item])) == [(item, code, field)], item


async def test_queue_sizes_need_the_dashboard_permission(api: Api) -> None:
    item = {"start": iso(T0 - 3600), "end": iso(T0)}
    assert answer(await api.call(QUEUES, [item], keys=api.nobody)) == "403 0002 err_xdk_forbidden"
    assert "Account | Dashboard | Read" in api.emu.journal.entries(path=QUEUES)[-1].reason


# -- generated data ----------------------------------------------------------------------------


def _queue_rows(api: Api, account: Account) -> list[tuple[Any, ...]]:
    t = processing_messages.c
    stmt = sa.select(t.id, t.created, t.left_at, t.route, t.attempts, t.generated)
    with api.emu.store.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt.where(t.account_id == account.id)
                                               .order_by(t.id))]  # fmt: skip


async def test_generating_again_gives_the_same_queue_and_keeps_other_rows(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    first = _queue_rows(api, account)
    assert first and all(row[-1] for row in first)
    assert any(row[2] is None for row in first) and any(row[2] is not None for row in first)
    with api.emu.store.begin() as conn:  # a row the generator did not make
        conn.execute(processing_messages.insert().values(
            id="kept", account_id=account.id, created=T0 - 60, sender="a@outside.example",
            recipient="b@demo.example", subject="kept", route="inbound", size=1,
            remote_ip="192.0.2.1", next_attempt=T0 + 840, info="queued", generated=False,
        ))  # fmt: skip
    generate(api.emu.store, account.id, seed=SEED, users=20, days=3, now=T0)
    again = _queue_rows(api, account)
    assert [row for row in again if row[0] != "kept"] == first
    assert "kept" in {row[0] for row in again}
