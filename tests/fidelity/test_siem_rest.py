"""API 2.0's REST-style SIEM reads as a collector meets them, over HTTP with httpx alone.

The collector below does what the public XSIAM collector (demisto/content,
``Packs/Mimecast/Integrations/MimecastEventCollectorV2``) does: a token from ``/oauth/token``,
then ``GET /siem/v1/events/cg`` with ``pageSize``, ``dateRangeStartsAt``/``dateRangeEndsAt``
(``2025-12-24T11:23:41.955Z``) and ``nextPage`` until no ``@nextPage`` comes back; the batch
reader does what Microsoft Sentinel's connector does: list ``/siem/v1/batch/events/cg`` until
caught up, download every URL (no token) and read gzipped JSON lines. What they collect is
compared with an independent source: the same tenant's files from the 1.0 ``get-siem-logs``.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcapi.emulator import Emulator, EmulatorCredentials
from tests.fidelity._served import T0, headers, post, served, served_tenant

EVENTS = "/siem/v1/events/cg"
BATCH = "/siem/v1/batch/events/cg"
SIEM_READ = "Security Events and Data Retrieval | Threat and Security Events (SIEM) | Read"
#: The 1.0 log type of each 2.0 event type (file names say the former, events the latter).
TYPE_OF = {
    "receipt": "receipt", "process": "process", "delivery": "delivery", "jrnl": "journal",
    "spam": "spam", "av": "av", "ttp_url": "url protect", "ttp_ap": "attachment protect",
    "ttp_ip": "impersonation protect",
}  # fmt: skip
ADDED = ("timestamp", "eventType", "accountId", "subType", "type")

Tenant = tuple[Emulator, EmulatorCredentials, httpx.Client]


def siem_time(epoch: float) -> str:
    """The collector's date format: milliseconds and Z."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def token(base_url: str, client_id: str, secret: str) -> str:
    form = {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    with httpx.Client(base_url=base_url) as http:
        answer = http.post("/oauth/token", data=form).raise_for_status().json()
    return f"{answer['token_type'].capitalize()} {answer['access_token']}"


def collect_events(
    base_url: str, client_id: str, secret: str, start: float, end: float | None = None
) -> Iterator[dict[str, Any]]:
    """Every event of the range, page after page, until the answer has no @nextPage."""
    auth = {"Accept": "application/json", "Authorization": token(base_url, client_id, secret)}
    next_page: str | None = None
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as http:
        while True:
            params = {"pageSize": 100, "dateRangeStartsAt": siem_time(start)}
            if end is not None:
                params["dateRangeEndsAt"] = siem_time(end)
            if next_page:
                params["nextPage"] = next_page
            answer = http.get(EVENTS, params=params).raise_for_status().json()
            assert "error" not in answer
            yield from answer["value"]
            next_page = answer.get("@nextPage")
            if next_page is None:
                assert answer["isCaughtUp"] is True
                return


def collect_batch(
    base_url: str, client_id: str, secret: str, **params: str
) -> Iterator[dict[str, Any]]:
    """List until caught up, download every URL without a token, read its JSON lines."""
    auth = {"Accept": "application/json", "Authorization": token(base_url, client_id, secret)}
    query: dict[str, Any] = {"pageSize": 10, **params}
    with httpx.Client(base_url=base_url, headers=auth, timeout=30) as http:
        while True:
            answer = http.get(BATCH, params=query).raise_for_status().json()
            for item in answer["value"]:
                download = httpx.get(item["url"], timeout=30).raise_for_status()
                assert len(download.content) == item["size"]
                for line in gzip.decompress(download.content).decode().splitlines():
                    if line.strip():
                        yield json.loads(line)
            query["nextPage"] = answer["@nextPage"]
            if answer["isCaughtUp"]:
                return


def one_dot_oh_records(tenant: Tenant) -> list[tuple[str, dict[str, Any]]]:
    """(2.0 type, record) of every kept 1.0 JSON file, following mc-siem-token."""
    emu, creds, http = tenant
    found: list[tuple[str, dict[str, Any]]] = []
    sent: str | None = None
    while True:
        item = {"type": "MTA", "fileFormat": "json", **({"token": sent} if sent else {})}
        response = post(
            http, emu, creds, "/api/audit/get-siem-logs", json.dumps({"data": [item]}).encode()
        )
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("application/json"):
            return found
        name = response.headers["content-disposition"].split('"')[1]
        kind = TYPE_OF[name.rsplit("_", 1)[0]]
        found += [(kind, record) for record in response.json()["data"]]
        sent = response.headers["mc-siem-token"]


def key(kind: str, record: dict[str, Any]) -> str:
    return kind + json.dumps({k: v for k, v in record.items() if k not in ADDED}, sort_keys=True)


def as_counter(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(key(event["eventType"], event) for event in events)


def epoch(record: dict[str, Any]) -> float:
    return datetime.strptime(record["datetime"], "%Y-%m-%dT%H:%M:%S%z").timestamp()


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    emu, creds = served_tenant(users=20, days=1)
    with served(emu) as http:
        yield emu, creds, http
    emu.close()


@pytest.fixture(scope="module")
def reference(tenant: Tenant) -> list[tuple[str, dict[str, Any]]]:
    return one_dot_oh_records(tenant)


@pytest.fixture(scope="module")
def app(tenant: Tenant) -> tuple[str, str]:
    emu, creds, _http = tenant
    keys = emu.admin.create_app(creds.account_code, "collector", role="Read Only")
    return keys.client_id, keys.client_secret


def test_the_collector_gets_every_event_of_the_last_day_exactly_once(
    tenant: Tenant, app: tuple[str, str], reference: list[tuple[str, dict[str, Any]]]
) -> None:
    _emu, _creds, http = tenant
    start = T0 - 86400
    events = list(collect_events(str(http.base_url), *app, start))
    expected = Counter(key(kind, r) for kind, r in reference if epoch(r) >= start)
    assert len(events) > 100  # more than one page
    assert as_counter(events) == expected
    for event in events:
        assert event["timestamp"] == int(epoch(event) * 1000)
        assert event["accountId"] == event["acc"]


def test_a_date_range_keeps_only_its_events(
    tenant: Tenant, app: tuple[str, str], reference: list[tuple[str, dict[str, Any]]]
) -> None:
    _emu, _creds, http = tenant
    start, end = T0 - 6 * 3600 + 123.4, T0 - 3 * 3600
    events = list(collect_events(str(http.base_url), *app, start, end))
    expected = Counter(key(kind, r) for kind, r in reference if start <= epoch(r) < end)
    assert events and as_counter(events) == expected
    assert all(start * 1000 - 1000 < e["timestamp"] < end * 1000 for e in events)


def test_types_and_subtypes_filter_the_events(tenant: Tenant, app: tuple[str, str]) -> None:
    _emu, _creds, http = tenant
    auth = {"Authorization": token(str(http.base_url), *app)}
    since = siem_time(T0 - 86400)
    every = http.get(EVENTS, params={"types": "process", "dateRangeStartsAt": since}, headers=auth)
    held = http.get(
        EVENTS, params={"types": "process:Hld", "dateRangeStartsAt": since}, headers=auth
    )
    assert every.status_code == held.status_code == 200
    assert {e["eventType"] for e in every.json()["value"]} == {"process"}
    assert held.json()["value"] and {e["subType"] for e in held.json()["value"]} == {"Hld"}


def test_the_batch_files_hold_every_kept_record_exactly_once(
    tenant: Tenant, app: tuple[str, str], reference: list[tuple[str, dict[str, Any]]]
) -> None:
    _emu, _creds, http = tenant
    events = list(collect_batch(str(http.base_url), *app))
    assert as_counter(events) == Counter(key(kind, r) for kind, r in reference)
    assert all(event["type"] == event["eventType"] for event in events)


def test_a_batch_by_type_and_dates(
    tenant: Tenant, app: tuple[str, str], reference: list[tuple[str, dict[str, Any]]]
) -> None:
    _emu, _creds, http = tenant
    day = datetime.fromtimestamp(T0, tz=UTC).strftime("%Y-%m-%d")
    events = list(
        collect_batch(
            str(http.base_url), *app, type="receipt", dateRangeStartsAt=day, dateRangeEndsAt=day
        )
    )
    midnight = datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
    expected = Counter(
        key(kind, r) for kind, r in reference if kind == "receipt" and epoch(r) >= midnight
    )
    assert events and as_counter(events) == expected


def test_a_caught_up_batch_cursor_resumes_with_the_next_files() -> None:
    """Listed while caught up, the cursor gives nothing; once the clock has produced the next
    slot's files, the same cursor lists them (and only them), for a new token."""
    emu, creds = served_tenant(users=5, days=1)
    keys = emu.admin.create_app(creds.account_code, "resume")
    with served(emu) as http:
        auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
        query: dict[str, Any] = {"type": "receipt"}
        while True:
            answer = http.get(BATCH, params=query, headers=auth).json()
            query["nextPage"] = answer["@nextPage"]
            if answer["isCaughtUp"]:
                break
        again = http.get(BATCH, params=query, headers=auth).json()
        assert again["value"] == [] and again["isCaughtUp"] is True
        emu.clock.advance(3 * 1800)
        auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
        later = http.get(BATCH, params=query, headers=auth).json()
    emu.close()
    assert 1 <= len(later["value"]) <= 3


def test_a_download_url_expires_an_hour_after_the_listing() -> None:
    emu, creds = served_tenant(users=5, days=1)
    keys = emu.admin.create_app(creds.account_code, "expiry")
    with served(emu) as http:
        auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
        url = http.get(BATCH, params={"pageSize": 1}, headers=auth).json()["value"][0]["url"]
        assert httpx.get(url).status_code == 200
        emu.clock.advance(3600)
        expired = httpx.get(url)
        forged = httpx.get(url.replace(".json.gz", "x.json.gz"))
    emu.close()
    assert expired.status_code == 403 and expired.json() == {"detail": "Request has expired"}
    assert forged.status_code == 404


def test_the_journal_records_each_listing_and_download(small: Tenant) -> None:
    emu, creds, http = small
    keys = emu.admin.create_app(creds.account_code, "journalled", role="Read Only")
    auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
    events = http.get(EVENTS, params={"pageSize": 3}, headers=auth).json()
    item = http.get(BATCH, params={"pageSize": 1}, headers=auth).json()["value"][0]
    assert httpx.get(item["url"]).status_code == 200
    listed = emu.journal.entries(path=EVENTS)[-1]
    assert (listed.method, listed.status, listed.check) == ("GET", 200, "function")
    assert (listed.user, listed.app_id) == (f"api2:{keys.client_id}", keys.client_id)
    assert listed.reason == f"{len(events['value'])} event(s)"
    assert emu.journal.entries(path=BATCH)[-1].reason == "1 file(s)"
    path = httpx.URL(item["url"]).path
    downloaded = emu.journal.entries(path=path)
    assert len(downloaded) == 1 and downloaded[0].status == 200
    assert downloaded[0].user is None and downloaded[0].response_body == "[a gzip file]"


# ---- refusals ---------------------------------------------------------------------------------


@pytest.fixture
def small() -> Iterator[Tenant]:
    emu, creds = served_tenant(users=5, days=1)
    with served(emu) as http:
        yield emu, creds, http
    emu.close()


def test_a_spent_quota_answers_429_with_the_platforms_detail_body(small: Tenant) -> None:
    emu, creds, http = small
    account = emu.store.find_account(creds.account_code)
    assert account is not None
    emu.store.update_account_policy(
        account.id, function_quotas={EVENTS: {"limit": 2, "reset_ms": 1_800_000}}
    )
    keys = emu.admin.create_app(creds.account_code, "busy")
    auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
    answers = [http.get(EVENTS, headers=auth) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json() == {"detail": "Over throttling limit (2/hour)"}
    assert answers[2].headers["x-ratelimit-remaining"] == "0"
    assert http.get(BATCH, headers=auth).status_code == 200  # its own bucket
    entry = emu.journal.entries(path=EVENTS)[-1]
    assert (entry.status, entry.check, entry.app_id) == (429, "quota", keys.client_id)


def test_an_api_1_signature_is_refused_with_401(small: Tenant) -> None:
    emu, creds, http = small
    signed = headers(creds, EVENTS, time.time())
    response = http.get(EVENTS, headers=signed)
    assert response.status_code == 401
    assert response.json()["fail"][0]["errors"][0]["code"] == "err_invalid_token"
    assert response.headers["www-authenticate"].startswith("Bearer")
    entry = emu.journal.entries(path=EVENTS)[-1]
    assert (entry.status, entry.check) == (401, "token")
    assert "API 1.0 signature" in (entry.reason or "")


def test_an_application_without_the_siem_permission_gets_403(small: Tenant) -> None:
    emu, creds, http = small
    keys = emu.admin.create_app(
        creds.account_code, "dashboards", role="Custom", permissions=["Account | Dashboard | Read"]
    )
    auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
    for path in (EVENTS, BATCH):
        response = http.get(path, headers=auth)
        assert response.status_code == 403, response.text
        error = response.json()["fail"][0]["errors"][0]
        assert error["code"] == "err_xdk_forbidden" and error["message"].startswith("0002")
        assert SIEM_READ in error["message"]
        assert emu.journal.entries(path=path)[-1].check == "permission"
    allowed = emu.admin.create_app(
        creds.account_code, "siem", role="Custom", permissions=[SIEM_READ]
    )
    auth = {"Authorization": token(str(http.base_url), allowed.client_id, allowed.client_secret)}
    assert http.get(EVENTS, headers=auth).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"types": "phishing"},
        {"pageSize": "101"},
        {"pageSize": "0"},
        {"pageSize": "\u00b3"},  # a digit to str.isdigit, not to int()
        {"dateRangeStartsAt": "yesterday"},
        {"dateRangeStartsAt": siem_time(T0 - 2 * 86400)},
        {"dateRangeStartsAt": siem_time(T0 - 60), "dateRangeEndsAt": siem_time(T0 - 120)},
        {"nextPage": "bm90IGEgdG9rZW4.0123456789abcdef"},
    ],
)
def test_a_bad_query_answers_400(small: Tenant, params: dict[str, str]) -> None:
    emu, creds, http = small
    keys = emu.admin.create_app(creds.account_code, "queries")
    auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
    response = http.get(EVENTS, params=params, headers=auth)
    assert response.status_code == 400
    assert response.json()["fail"][0]["errors"][0]["code"] == "err_siem_bad_request"


def test_a_cursor_of_one_endpoint_is_refused_by_the_other(small: Tenant) -> None:
    emu, creds, http = small
    keys = emu.admin.create_app(creds.account_code, "cursors")
    auth = {"Authorization": token(str(http.base_url), keys.client_id, keys.client_secret)}
    cursor = http.get(BATCH, params={"pageSize": 1}, headers=auth).json()["@nextPage"]
    refused = http.get(EVENTS, params={"nextPage": cursor}, headers=auth)
    assert refused.status_code == 400
    assert http.post(EVENTS, headers=auth).status_code == 405
    assert http.get("/siem/v1/events/ci", headers=auth).status_code == 404


_PARAM_NAMES = st.sampled_from(
    ["type", "types", "pageSize", "dateRangeStartsAt", "dateRangeEndsAt", "nextPage", "other"]
)
_PARAM_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(-5, 500).map(str),
    st.sampled_from(["2025-10-08", "2025-10-09T07:00:00.000Z", "process:Hld", "receipt,av"]),
    st.builds(siem_time, st.floats(T0 - 3 * 86400, T0 + 3600)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(params=st.dictionaries(_PARAM_NAMES, _PARAM_VALUES, max_size=5))
def test_any_query_is_answered_or_refused_never_a_server_error(
    tenant: Tenant, app: tuple[str, str], params: dict[str, str]
) -> None:
    _emu, _creds, http = tenant
    auth = {"Authorization": token(str(http.base_url), *app)}
    for path in (EVENTS, BATCH):
        response = http.get(path, params=params, headers=auth)
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            assert response.json()["fail"][0]["errors"][0]["code"] == "err_siem_bad_request"
