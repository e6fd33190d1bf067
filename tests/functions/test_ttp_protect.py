"""Attachment Protect and Impersonation Protect logs over HTTP: generated data, filters,
validation, permissions, the SIEM files of their types, and the client retrying them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa

from mcapi.client import AsyncClient, is_read_only
from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials
from mcapi.emulator._data import GenerateSummary, attachment_logs, generate, impersonation_logs
from mcapi.emulator._faults import FaultRule
from mcapi.emulator._store import Account
from mcapi.emulator.functions import _siem
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
ATTACHMENTS = "/api/ttp/attachment/get-logs"
IMPERSONATIONS = "/api/ttp/impersonation/get-logs"
SIEM = "/api/audit/get-siem-logs"
SLOT = 1800
DAY = 86400

ATTACHMENT_FIELDS = {
    "senderAddress", "recipientAddress", "fileName", "fileType", "result", "actionTriggered",
    "date", "details", "route", "messageId", "subject", "fileHash", "definition",
}  # fmt: skip
IMPERSONATION_FIELDS = {
    "id", "senderAddress", "recipientAddress", "subject", "definition", "hits", "identifiers",
    "action", "taggedExternal", "taggedMalicious", "senderIpAddress", "eventTime",
    "impersonationResults", "messageId",
}  # fmt: skip


def epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp()


def stored(api: Api, table: sa.Table, time: str, start: float, end: float) -> list[Any]:
    with api.emu.store.connect() as conn:
        return list(
            conn.execute(sa.select(table).where(table.c[time] >= start, table.c[time] <= end))
        )


# -- attachment logs -------------------------------------------------------------------------------


async def test_attachment_logs_of_the_last_day_newest_first(
    api: Api, tenant: GenerateSummary
) -> None:
    logs = await api.pages(ATTACHMENTS, {}, page_size=50, records="attachmentLogs")
    rows = stored(api, attachment_logs, "date", T0 - DAY, T0)
    assert len(logs) == len(rows) > 10
    assert all(set(log) == ATTACHMENT_FIELDS for log in logs)
    dates = [epoch(log["date"]) for log in logs]
    assert dates == sorted(dates, reverse=True)
    assert {log["fileHash"] for log in logs} == {r.sha256 for r in rows}
    oldest = await api.pages(ATTACHMENTS, {"oldestFirst": True}, page_size=50,
                             records="attachmentLogs")  # fmt: skip
    assert [log["fileHash"] for log in oldest] == [log["fileHash"] for log in reversed(logs)]


async def test_attachment_logs_filter_by_window_result_and_route(
    api: Api, tenant: GenerateSummary
) -> None:
    window = {"from": iso(T0 - 3 * DAY), "to": iso(T0)}
    every = await api.pages(ATTACHMENTS, window, page_size=100, records="attachmentLogs")
    assert len(every) == tenant.attachment_logs
    bad = await api.pages(ATTACHMENTS, {**window, "result": "malicious"}, page_size=100,
                          records="attachmentLogs")  # fmt: skip
    assert bad and {log["result"] for log in bad} == {"malicious"}
    assert len(bad) == sum(log["result"] == "malicious" for log in every)
    inbound = await api.pages(ATTACHMENTS, {**window, "route": "inbound"}, page_size=100,
                              records="attachmentLogs")  # fmt: skip
    assert len(inbound) == len(every)  # sandboxing is of inbound mail
    body = await api.ok(ATTACHMENTS, [{**window, "route": "outbound"}])
    assert body["data"] == [{"attachmentLogs": []}]
    narrow = {"from": iso(T0 - 3600), "to": iso(T0)}
    hour = await api.pages(ATTACHMENTS, narrow, page_size=100, records="attachmentLogs")
    assert all(T0 - 3600 <= epoch(log["date"]) <= T0 for log in hour)
    assert len(hour) == len(stored(api, attachment_logs, "date", T0 - 3600, T0))


# -- impersonation logs ----------------------------------------------------------------------------


async def test_impersonation_logs_count_and_shape(api: Api, tenant: GenerateSummary) -> None:
    window = {"from": iso(T0 - 3 * DAY), "to": iso(T0)}
    body = await api.ok(IMPERSONATIONS, [window], page_size=5)
    first = body["data"][0]
    assert first["resultCount"] == tenant.impersonation_logs > 5
    assert len(first["impersonationLogs"]) == 5
    logs = await api.pages(IMPERSONATIONS, window, page_size=100, records="impersonationLogs")
    assert len(logs) == tenant.impersonation_logs
    for log in logs:
        assert set(log) == IMPERSONATION_FIELDS
        assert log["hits"] == len(log["identifiers"]) >= 1
        sources = [r["impersonationDomainSource"] for r in log["impersonationResults"]]
        assert sources == log["identifiers"]
        assert isinstance(log["taggedMalicious"], bool) and log["taggedExternal"] is True


async def test_impersonation_logs_filters(api: Api, tenant: GenerateSummary) -> None:
    window = {"from": iso(T0 - 3 * DAY), "to": iso(T0)}
    every = await api.pages(IMPERSONATIONS, window, page_size=100, records="impersonationLogs")

    async def listed(**filters: Any) -> list[dict[str, Any]]:
        logs = await api.pages(IMPERSONATIONS, {**window, **filters}, page_size=100,
                               records="impersonationLogs")  # fmt: skip
        return cast(list[dict[str, Any]], logs)

    malicious = await listed(taggedMalicious=True)
    assert malicious == [log for log in every if log["taggedMalicious"]]
    assert await listed(taggedMalicious=False) == [
        log for log in every if not log["taggedMalicious"]
    ]
    named = await listed(identifiers=["internal_user_name"])
    assert named and named == [log for log in every if "internal_user_name" in log["identifiers"]]
    held = await listed(actions=["hold"])
    assert held == [log for log in every if log["action"] == "hold"]
    target = every[0]
    by_sender = await listed(searchField="senderAddress", query=target["senderAddress"].upper())
    assert target in by_sender
    assert all(log["senderAddress"] == target["senderAddress"] for log in by_sender)
    by_subject = await listed(searchField="subject", query=target["subject"][:8])
    assert all(target["subject"][:8].lower() in log["subject"].lower() for log in by_subject)
    assert await listed(searchField="recipientAddress", query="nobody-at-all") == []


# -- validation, permissions, retries --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "item", "code", "field"),
    [
        (ATTACHMENTS, {"route": "sideways"}, "err_validation_invalid_value", "route"),
        (ATTACHMENTS, {"result": "dangerous"}, "err_validation_invalid_value", "result"),
        (ATTACHMENTS, {"from": "yesterday"}, "err_validation_invalid_value", "from"),
        (ATTACHMENTS, {"from": iso(T0), "to": iso(T0 - 60)}, "err_validation_out_of_range", "to"),
        (ATTACHMENTS, {"oldestFirst": "maybe"}, "err_validation_invalid_value", "oldestFirst"),
        (IMPERSONATIONS, {"to": 12}, "err_validation_invalid_value", "to"),
        (IMPERSONATIONS, {"identifiers": ["bogus"]}, "err_validation_invalid_value",
         "identifiers"),
        (IMPERSONATIONS, {"identifiers": "internal_user_name"}, "err_validation_invalid_value",
         "identifiers"),
        (IMPERSONATIONS, {"actions": ["explode"]}, "err_validation_invalid_value", "actions"),
        (IMPERSONATIONS, {"searchField": "body"}, "err_validation_invalid_value", "searchField"),
        (IMPERSONATIONS, {"taggedMalicious": "perhaps"}, "err_validation_invalid_value",
         "taggedMalicious"),
        (IMPERSONATIONS, {"taggedExternal": 3}, "err_validation_invalid_value",
         "taggedExternal"),
    ],
)  # fmt: skip
async def test_invalid_fields_fail_naming_the_field(
    api: Api, path: str, item: dict[str, Any], code: str, field: str
) -> None:
    body = await api.ok(path, [item])
    assert body["data"] == []
    assert fails(body) == [(item, code, field)]


@pytest.mark.parametrize(
    ("path", "permission"),
    [
        (ATTACHMENTS, "Monitoring | Attachment Protection | Read"),
        (IMPERSONATIONS, "Monitoring | Impersonation Protection | Read"),
    ],
)
async def test_each_log_needs_its_permission(api: Api, path: str, permission: str) -> None:
    assert answer(await api.call(path, [{}], keys=api.nobody)) == "403 0002 err_xdk_forbidden"
    entry = api.emu.journal.entries(path=path)[-1]
    assert (entry.status, entry.sub_code) == (403, "0002")
    assert entry.reason is not None and permission in entry.reason
    allowed = await api.call(path, [{}], keys=api.keys_for("auditor@demo.example", [permission]))
    assert allowed.status_code == 200 and allowed.json()["fail"] == []
    assert (await api.call(path, [{}], keys=api.reader)).status_code == 200


@pytest.mark.parametrize("path", [ATTACHMENTS, IMPERSONATIONS])
async def test_the_client_retries_these_reads(
    api: Api, creds: EmulatorCredentials, tenant: GenerateSummary, path: str
) -> None:
    assert is_read_only(path)
    api.emu.faults.add(
        FaultRule.from_dict(
            {"match": {"path": path, "times": 1}, "effect": {"status": 500, "sub_code": "0006"}}
        )
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        api.emu.clock.advance(seconds)

    client = AsyncClient(
        base_url=creds.base_url, app_id=creds.app_id, app_key=creds.app_key,
        access_key=creds.access_key, secret_key=creds.secret_key, clock=api.emu.clock.now,
        sleep=sleep, transport=httpx.ASGITransport(app=cast(Any, api.emu.app)),
    )  # fmt: skip
    try:
        result = await client.call(path, [{}])
    finally:
        await client.aclose()
    assert result.ok and result.attempts == 2 and len(sleeps) == 1
    entries = api.emu.journal.entries(path=path)
    assert [(e.status, e.sub_code) for e in entries] == [(500, "0006"), (200, None)]


# -- the SIEM files of their types -----------------------------------------------------------------


async def test_the_events_are_in_the_siem_files_of_their_types(
    api: Api, account: Account, tenant: GenerateSummary
) -> None:
    slot = int((T0 - 22 * 3600) // SLOT)  # 10:30 UTC the day before: office hours
    start, end = slot * SLOT, (slot + 1) * SLOT - 0.001
    expected_hashes = {r.sha256 for r in stored(api, attachment_logs, "date", start, end)}
    expected_ids = {r.message_id for r in stored(api, impersonation_logs, "event_time", start, end)}
    # start right after the previous slot's last file
    token = _siem.encode_token(account.id, slot - 1, len(_siem.LOG_TYPES) - 1)
    files: dict[str, list[dict[str, Any]]] = {}
    while True:
        response = await api.call(SIEM, [{"token": token, "fileFormat": "json"}])
        assert response.headers["content-type"] == "application/octet-stream"
        name = response.headers["content-disposition"].split('"')[1]
        log_type, stamp = name.rsplit(".", 1)[0].rsplit("_", 1)
        if int(datetime.strptime(stamp[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
               // SLOT) - 1 != slot:  # fmt: skip
            break
        body = json.loads(response.content)
        assert body["type"] == "MTA"
        files[log_type] = body["data"]
        token = response.headers["mc-siem-token"]
    if expected_hashes:
        assert {r["sha256"] for r in files["ttp_ap"]} == expected_hashes
    else:
        assert "ttp_ap" not in files
    if expected_ids:
        records = files["ttp_ip"]
        assert {r["MsgId"] for r in records} == expected_ids
        assert all(r["TaggedExternal"] == "true" and r["Definition"] for r in records)
    else:
        assert "ttp_ip" not in files
    assert expected_hashes or expected_ids  # the chosen half hour has TTP events


# -- on every database ----------------------------------------------------------------------------


async def test_the_queries_hold_on_every_database(shared_db_url: str) -> None:
    """The JSON identifiers filter, keyset pages, the domainOrUrl match and the TTP SIEM reads
    on SQLite and PostgreSQL alike."""
    # signed with the emulator clock at T0
    emu = Emulator(shared_db_url, kdf_n=2**10, config=EmulatorConfig(skew_reference="either"))
    try:
        emu.clock.set(T0)
        creds = emu.load_demo()
        found = emu.store.find_account(creds.account_code)
        assert found is not None
        emu.store.update_account_policy(found.id, quota_limit=1_000_000, quota_reset_ms=1)
        summary = generate(emu.store, found.id, seed=3, users=10, days=1, now=T0)
        transport = httpx.ASGITransport(app=cast(Any, emu.app))
        async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
            api = Api(http, emu, creds)
            window = {"from": iso(T0 - DAY), "to": iso(T0)}
            logs = await api.pages(ATTACHMENTS, window, page_size=7, records="attachmentLogs")
            assert len(logs) == summary.attachment_logs
            every = await api.pages(IMPERSONATIONS, window, page_size=7,
                                    records="impersonationLogs")  # fmt: skip
            only = {**window, "identifiers": ["internal_user_name"]}
            named = await api.pages(IMPERSONATIONS, only, page_size=7,
                                    records="impersonationLogs")  # fmt: skip
            assert named == [log for log in every if "internal_user_name" in log["identifiers"]]
            await api.ok("/api/ttp/url/create-managed-url",
                         [{"url": "https://evil.example/login/", "action": "block"}])  # fmt: skip
            exact = {"domainOrUrl": "evil.example/login", "exactMatch": True}
            body = await api.ok("/api/ttp/url/get-all-managed-urls", [exact])
            assert [f"{r['domain']}{r['path']}" for r in body["data"]] == ["evil.example/login/"]
            slot = int((T0 - 22 * 3600) // SLOT)
            slot_end = f"{datetime.fromtimestamp((slot + 1) * SLOT, UTC):%Y%m%d%H%M%S}"
            token = _siem.encode_token(found.id, slot - 1, len(_siem.LOG_TYPES) - 1)
            types = []
            while True:
                response = await api.call(SIEM, [{"token": token, "fileFormat": "json"}])
                name = response.headers["content-disposition"].split('"')[1]
                log_type, stamp = name.rsplit(".", 1)[0].rsplit("_", 1)
                if not stamp.startswith(slot_end):
                    break
                types.append(log_type)
                assert json.loads(response.content)["data"]
                token = response.headers["mc-siem-token"]
            assert "ttp_ap" in types and "receipt" in types
    finally:
        emu.close()
