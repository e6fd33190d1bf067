"""get-siem-logs over HTTP: streamed files, the token chain, retention, formats, permission."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mcapi.emulator._data import GenerateSummary
from mcapi.emulator._store import Account
from tests.functions.conftest import T0, Api, answer, fails

pytestmark = pytest.mark.anyio
PATH = "/api/audit/get-siem-logs"
SLOT = 1800
LAST_TOKEN = {"meta": {"isLastToken": True, "status": 200}, "data": [], "fail": []}


def filename(response: httpx.Response) -> str:
    match = re.fullmatch(r'attachment; filename="(.+)"', response.headers["content-disposition"])
    assert match, response.headers["content-disposition"]
    return match.group(1)


async def fetch(api: Api, token: str | None = None, **item: Any) -> httpx.Response:
    if token is not None:
        item["token"] = token
    response = await api.call(PATH, [item])
    assert response.status_code == 200, response.text
    return response


async def test_without_a_stream_there_is_no_file(api: Api) -> None:
    response = await fetch(api)
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == LAST_TOKEN


LOG_TYPES = ("receipt", "process", "delivery", "jrnl", "spam", "av", "ttp_url", "ttp_ap", "ttp_ip")


def slot_name(slot: int, log_type: str, ext: str) -> str:
    """``<type>_<YYYYMMDDHHMMSSmmm>.<ext>``, the slot's end (the milliseconds order the types)."""
    end = datetime.fromtimestamp((slot + 1) * SLOT, tz=UTC)
    return f"{log_type}_{end:%Y%m%d%H%M%S}{LOG_TYPES.index(log_type):03d}.{ext}"


def name_slot(name: str) -> tuple[int, str]:
    """The slot and the log type a file name names."""
    match = re.fullmatch(r"([a-z_]+)_(\d{14})(\d{3})\.(log|json|zip)", name)
    assert match, name
    end = datetime.strptime(match.group(2), "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    assert LOG_TYPES.index(match.group(1)) == int(match.group(3))
    return int(end // SLOT) - 1, match.group(1)


async def test_first_file_is_the_oldest_kept_one(api: Api, tenant: GenerateSummary) -> None:
    response = await fetch(api, fileFormat="json")
    assert response.headers["content-type"] == "application/octet-stream"
    first_slot = int((T0 - 3 * 86400) // SLOT)  # the generated stream starts 3 days back
    assert filename(response) == slot_name(first_slot, "receipt", "json")
    body = json.loads(response.content)
    assert body["type"] == "MTA"
    rows = body["data"]
    assert rows
    assert all("logType" not in r and "Rcpt" in r and "SpamScore" in r for r in rows)
    assert {r["acc"] for r in rows} == {"CUSA12345"}
    for row in rows:  # every line falls in the file's 30-minute slot
        moment = datetime.strptime(row["datetime"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        assert first_slot * SLOT <= moment < (first_slot + 1) * SLOT
    assert response.headers["mc-siem-token"]


async def test_the_token_chain_walks_every_file_then_waits(
    api: Api, account: Account, tenant: GenerateSummary
) -> None:
    # three days of 30-minute files of nine log types: more calls than the default quota
    api.emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    token: str | None = None
    names: list[str] = []
    while True:
        response = await fetch(api, token)
        if response.headers["content-type"].startswith("application/json"):
            assert response.json() == LAST_TOKEN
            assert response.headers["mc-siem-token"] == token  # keep using the same token
            break
        names.append(filename(response))
        token = response.headers["mc-siem-token"]
    assert len(names) == len(set(names)) == tenant.siem_files
    stamps = [name.rpartition("_")[2] for name in names]
    assert stamps == sorted(stamps)  # oldest first, a slot's types in their order
    assert {name_slot(name)[1] for name in names} == set(LOG_TYPES)
    # half an hour later one more slot's files exist: receipt, process, ... (MTA types only,
    # since no TTP event happened in it)
    api.emu.clock.advance(SLOT)
    newer: list[str] = []
    while True:
        response = await fetch(api, token)
        if response.headers["content-type"].startswith("application/json"):
            break
        newer.append(filename(response))
        token = response.headers["mc-siem-token"]
    assert newer
    assert {name_slot(name)[0] for name in newer} == {name_slot(names[-1])[0] + 1}
    assert [name_slot(name)[1] for name in newer][:4] == ["receipt", "process", "delivery", "jrnl"]


async def test_files_are_the_same_every_time(api: Api, tenant: GenerateSummary) -> None:
    first = await fetch(api)
    again = await fetch(api)
    assert first.content == again.content
    token = first.headers["mc-siem-token"]
    assert (await fetch(api, token)).content == (await fetch(api, token)).content


async def test_key_value_and_compressed_formats(api: Api, tenant: GenerateSummary) -> None:
    plain = await fetch(api, fileFormat="key_value")
    lines = plain.content.decode().split("\r")  # records are separated by CR
    assert lines and all(line.startswith("datetime=") for line in lines)
    assert all("|acc=CUSA12345|" in line and "logType" not in line for line in lines)
    as_json = await fetch(api, fileFormat="json")
    zipped = await fetch(api, fileFormat="json", compress=True)
    assert filename(zipped).endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        (member,) = archive.namelist()
        assert member == filename(as_json)
        assert archive.read(member) == as_json.content


async def test_a_token_it_did_not_issue_is_refused(api: Api, tenant: GenerateSummary) -> None:
    body = (await fetch(api, "bm90LWEtdG9rZW4")).json()
    assert fails(body) == [({"token": "bm90LWEtdG9rZW4"}, "err_audit_siem_invalid_token", "token")]


async def test_a_token_whose_file_aged_out_is_refused(api: Api, tenant: GenerateSummary) -> None:
    token = (await fetch(api)).headers["mc-siem-token"]
    api.emu.clock.advance(8 * 86400)
    body = (await fetch(api, token)).json()
    assert [c for _, c, _ in fails(body)] == ["err_audit_siem_invalid_token"]
    # without a token the collector restarts from the oldest file still kept (7 days back)
    restart = await fetch(api)
    oldest_kept = int((api.emu.clock.now() - 7 * 86400) // SLOT)
    slot, _ = name_slot(filename(restart))
    assert oldest_kept <= slot < oldest_kept + 48  # the first slot since then with mail


async def test_invalid_request_fields_fail(api: Api) -> None:
    body = (await fetch(api, fileFormat="xml")).json()
    assert fails(body) == [({"fileFormat": "xml"}, "err_validation_invalid_value", "fileFormat")]
    body = (await fetch(api, type="CEF")).json()
    assert [(c, f) for _, c, f in fails(body)] == [("err_validation_invalid_value", "type")]


async def test_user_without_tracking_permission_is_forbidden(
    api: Api, tenant: GenerateSummary
) -> None:
    assert answer(await api.call(PATH, [{}], keys=api.nobody)) == "403 0002 err_xdk_forbidden"
    allowed = await api.call(PATH, [{}], keys=api.reader)
    assert allowed.headers["content-type"] == "application/octet-stream"
