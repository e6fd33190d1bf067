"""get-audit-events over HTTP: window, filters, limits, permission, keyset paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
PATH = "/api/audit/get-audit-events"


def window(start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {"startDateTime": iso(start), "endDateTime": iso(end), **extra}


def epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp()


async def test_events_of_the_window_newest_first(api: Api, tenant: GenerateSummary) -> None:
    body = await api.ok(PATH, [window(T0 - 86400, T0)], page_size=500)
    events = body["data"]
    assert body["fail"] == [] and events
    times = [epoch(e["eventTime"]) for e in events]
    assert times == sorted(times, reverse=True)
    assert all(T0 - 86400 - 1 <= t <= T0 for t in times)
    assert set(events[0]) == {"id", "auditType", "user", "eventTime", "eventInfo", "category"}


async def test_category_and_query_filters(api: Api, tenant: GenerateSummary) -> None:
    item = window(T0 - 3 * 86400, T0, categories=["authentication_logs"], query="FAILED")
    events = await api.pages(PATH, item, page_size=500)
    assert events
    assert {e["category"] for e in events} == {"authentication_logs"}
    assert all("failed" in e["auditType"].lower() for e in events)


async def test_changes_made_through_the_api_are_audited(api: Api) -> None:
    await api.ok("/api/domain/create-domain", [{"domain": "audited.example"}])
    body = await api.ok(PATH, [window(T0 - 60, T0 + 60)])
    (event,) = body["data"]
    assert event["auditType"] == "Domain Created"
    assert event["user"] == "admin@demo.example"
    assert "audited.example" in event["eventInfo"]


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"startDateTime": iso(T0 - 60)}, "err_validation_blank", "endDateTime"),
        (
            {"startDateTime": "2025-10-01", "endDateTime": iso(T0)},
            "err_validation_invalid_value",
            "startDateTime",
        ),
        (window(T0 - 61 * 86400, T0), "err_validation_out_of_range", "startDateTime"),
        (window(T0, T0 - 60), "err_validation_out_of_range", "endDateTime"),
        (window(T0 - 60, T0, categories=["nope"]), "err_validation_invalid_value", "categories"),
        ({"startDateTime": None, "endDateTime": iso(T0)}, "err_validation_null", "startDateTime"),
    ],
)
async def test_invalid_requests_fail_with_the_field(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    body = await api.ok(PATH, [item])
    assert body["data"] == []
    assert fails(body) == [(item, code, field)]


async def test_user_without_logs_permission_is_forbidden(api: Api) -> None:
    response = await api.call(PATH, [window(T0 - 60, T0)], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert (await api.ok(PATH, [window(T0 - 60, T0)], keys=api.reader))["fail"] == []


async def test_pages_cover_every_event_once(api: Api, tenant: GenerateSummary) -> None:
    item = window(T0 - 86400, T0)
    everything = (await api.ok(PATH, [item], page_size=500))["data"]
    paged = await api.pages(PATH, item, page_size=7)
    assert [e["id"] for e in paged] == [e["id"] for e in everything]


async def test_pages_stay_put_while_events_are_appended(api: Api, tenant: GenerateSummary) -> None:
    item = window(T0 - 86400, T0 + 3600)
    first = await api.ok(PATH, [item], page_size=5)
    before = (await api.ok(PATH, [item], page_size=500))["data"]
    # New events arrive (newer than everything listed) before the client asks for page 2.
    api.emu.clock.advance(30)
    await api.ok(
        "/api/domain/create-domain", [{"domain": "late1.example"}, {"domain": "late2.example"}]
    )
    second = await api.ok(PATH, [item], page_size=5, page_token=first["meta"]["pagination"]["next"])
    ids = [e["id"] for e in first["data"] + second["data"]]
    assert ids == [e["id"] for e in before[:10]]
    # previous of page 2 is page 1 again, although two events now precede it
    back = await api.ok(
        PATH, [item], page_size=5, page_token=second["meta"]["pagination"]["previous"]
    )
    assert [e["id"] for e in back["data"]] == [e["id"] for e in first["data"]]
    assert "previous" in back["meta"]["pagination"]  # the appended events


async def test_first_page_has_no_previous_and_last_page_no_next(
    api: Api, tenant: GenerateSummary
) -> None:
    item = window(T0 - 3600, T0)
    total = len((await api.ok(PATH, [item], page_size=500))["data"])
    first = await api.ok(PATH, [item], page_size=total)
    assert first["meta"]["pagination"] == {"pageSize": total}


@pytest.mark.parametrize("token", ["not-a-token", "eyJhIjoxfQ"])
async def test_a_page_token_it_did_not_issue_is_refused(api: Api, token: str) -> None:
    body = await api.ok(PATH, [window(T0 - 60, T0)], page_size=5, page_token=token)
    assert [(c, f) for _, c, f in fails(body)] == [("err_validation_invalid_value", "pageToken")]


async def test_another_functions_token_is_refused(api: Api, tenant: GenerateSummary) -> None:
    logs = await api.ok("/api/ttp/url/get-logs", [{}], page_size=1)
    token = logs["meta"]["pagination"]["next"]
    body = await api.ok(PATH, [window(T0 - 60, T0)], page_size=5, page_token=token)
    assert [(c, f) for _, c, f in fails(body)] == [("err_validation_invalid_value", "pageToken")]


async def test_page_size_above_the_limit_is_a_bad_request(api: Api) -> None:
    response = await api.call(PATH, [window(T0 - 60, T0)], page_size=501)
    assert answer(response) == "400 err_request_malformed"
