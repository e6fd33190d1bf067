"""URL Protect over HTTP: decode-url, managed URLs (create, list, delete), click logs."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from mcapi.emulator.functions._urls import protect_url
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
DECODE = "/api/ttp/url/decode-url"
CREATE = "/api/ttp/url/create-managed-url"
LIST = "/api/ttp/url/get-all-managed-urls"
DELETE = "/api/ttp/url/delete-managed-url"
LOGS = "/api/ttp/url/get-logs"


# -- decode-url -----------------------------------------------------------------------------------


async def test_decode_url_returns_the_original_of_each_link(api: Api) -> None:
    links = [protect_url("https://contoso.example/a?b=1"), protect_url("http://x.example/")]
    body = await api.ok(DECODE, [{"url": link} for link in links])
    assert body["data"] == [
        {"url": "https://contoso.example/a?b=1", "success": True},
        {"url": "http://x.example/", "success": True},
    ]


async def test_decode_url_fails_the_links_it_cannot_decode(api: Api) -> None:
    good = {"url": protect_url("https://ok.example/")}
    items = [good, {"url": "https://example.com/plain"}, {"url": ""}]
    body = await api.ok(DECODE, items)
    assert body["data"] == [{"url": "https://ok.example/", "success": True}]
    assert fails(body) == [
        ({"url": "https://example.com/plain"}, "err_validation_invalid_value", "url"),
        ({"url": ""}, "err_validation_blank", "url"),
    ]


async def test_decode_url_needs_the_url_protection_permission(api: Api) -> None:
    response = await api.call(DECODE, [{"url": protect_url("https://a.example/")}], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"


# -- managed URLs ---------------------------------------------------------------------------------


async def test_create_list_and_delete_managed_urls(api: Api) -> None:
    created = await api.ok(
        CREATE,
        [
            {"url": "https://www.test.net/", "action": "permit"},
            {"url": "bad.example", "action": "block", "matchType": "domain", "comment": "phish"},
        ],
    )
    assert created["fail"] == []
    first, second = created["data"]
    assert (first["scheme"], first["domain"], first["port"], first["path"]) == (
        "https",
        "www.test.net",
        -1,
        "/",
    )
    assert (first["matchType"], first["action"]) == ("explicit", "permit")
    assert (second["domain"], second["matchType"], second["comment"]) == (
        "bad.example",
        "domain",
        "phish",
    )
    listed = await api.ok(LIST, [])
    assert [u["id"] for u in listed["data"]] == [first["id"], second["id"]]
    assert listed["meta"]["pagination"]["totalCount"] == 2
    only = await api.ok(LIST, [{"domain": "bad.example"}])
    assert [u["id"] for u in only["data"]] == [second["id"]]
    deleted = await api.ok(DELETE, [{"id": first["id"]}, {"id": "eNoMissing"}])
    assert deleted["data"] == [{"id": first["id"]}]
    assert fails(deleted) == [({"id": "eNoMissing"}, "err_managed_url_not_found", "id")]
    assert [u["id"] for u in (await api.ok(LIST, []))["data"]] == [second["id"]]


async def test_a_managed_url_that_exists_fails_with_its_code(api: Api) -> None:
    item = {"url": "https://www.bad.net/x?a=1", "action": "block"}
    body = await api.ok(CREATE, [item, item])
    assert len(body["data"]) == 1
    assert fails(body) == [(item, "err_managed_url_exists_code", None)]
    # also in a later call of its own: the platform answers 200 with a fail entry
    again = await api.ok(CREATE, [item])
    assert [c for _, c, _ in fails(again)] == ["err_managed_url_exists_code"]


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"action": "block"}, "err_validation_blank", "url"),
        ({"url": "ftp://files.example/", "action": "block"}, "err_validation_invalid_value", "url"),
        (
            {"url": "https://a.example/", "action": "allow"},
            "err_validation_invalid_value",
            "action",
        ),
        (
            {"url": "https://a.example/", "action": "block", "disableRewrite": "yes"},
            "err_validation_invalid_value",
            "disableRewrite",
        ),
    ],
)
async def test_invalid_managed_urls_fail(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    body = await api.ok(CREATE, [item])
    assert fails(body) == [(item, code, field)]


async def test_managed_url_pages_are_stable_while_urls_are_added(api: Api) -> None:
    await api.ok(CREATE, [{"url": f"https://u{i}.example/", "action": "block"} for i in range(7)])
    first = await api.ok(LIST, [], page_size=3)
    await api.ok(CREATE, [{"url": "https://late.example/", "action": "block"}])
    rest = await api.pages(LIST, {}, page_size=3)
    second = await api.ok(LIST, [], page_size=3, page_token=first["meta"]["pagination"]["next"])
    domains = [u["domain"] for u in first["data"] + second["data"]]
    assert domains == [f"u{i}.example" for i in range(6)]
    assert len(rest) == 8 and rest[-1]["domain"] == "late.example"


async def test_managing_urls_needs_the_edit_permission(api: Api) -> None:
    response = await api.call(CREATE, [{"url": "https://a.example/", "action": "block"}],
                              keys=api.reader)  # fmt: skip
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert answer(await api.call(DELETE, [{"id": "x"}], keys=api.reader)) == (
        "403 0002 err_xdk_forbidden"
    )
    assert (await api.ok(LIST, [], keys=api.reader))["fail"] == []


# -- click logs -----------------------------------------------------------------------------------


async def test_click_logs_of_the_last_day_newest_first(api: Api, tenant: GenerateSummary) -> None:
    body = await api.ok(LOGS, [{}], page_size=500)
    logs = body["data"][0]["clickLogs"]
    assert logs
    dates = [log["date"] for log in logs]
    assert dates == sorted(dates, reverse=True)
    assert dates[-1] >= iso(T0 - 86400)
    assert {"url", "userEmailAddress", "scanResult", "action", "route"} <= set(logs[0])


async def test_click_logs_filters_and_oldest_first_paging(
    api: Api, tenant: GenerateSummary
) -> None:
    item = {"from": iso(T0 - 3 * 86400), "to": iso(T0), "scanResult": "malicious"}
    malicious = await api.pages(LOGS, item, page_size=4, records="clickLogs")
    assert malicious and {log["scanResult"] for log in malicious} == {"malicious"}
    assert {log["action"] for log in malicious} == {"block"}
    oldest = await api.pages(LOGS, {**item, "oldestFirst": True}, page_size=4, records="clickLogs")
    assert oldest == list(reversed(malicious))


async def test_click_log_token_of_the_other_order_is_refused(
    api: Api, tenant: GenerateSummary
) -> None:
    newest = await api.ok(LOGS, [{}], page_size=2)
    token = newest["meta"]["pagination"]["next"]
    body = await api.ok(LOGS, [{"oldestFirst": True}], page_size=2, page_token=token)
    assert [(c, f) for _, c, f in fails(body)] == [("err_validation_invalid_value", "pageToken")]


async def test_click_logs_validation(api: Api) -> None:
    item = {"from": iso(T0), "to": iso(T0 - 60)}
    assert fails(await api.ok(LOGS, [item])) == [(item, "err_validation_out_of_range", "to")]
    item = {"route": "sideways"}
    assert fails(await api.ok(LOGS, [item])) == [(item, "err_validation_invalid_value", "route")]


async def test_click_logs_need_the_url_protection_permission(api: Api) -> None:
    assert answer(await api.call(LOGS, [{}], keys=api.nobody)) == "403 0002 err_xdk_forbidden"
