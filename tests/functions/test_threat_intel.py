"""The threat-intelligence feed over HTTP: files in CSV and STIX, zipped, followed by token."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mcapi.emulator import Emulator
from mcapi.emulator._data import GenerateSummary, message_attachments, threat_indicators
from mcapi.emulator._store import Account
from mcapi.emulator.functions.threat_intel import FEED_TOKEN_HEADER, FILE_INDICATORS, NO_RESULTS
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio

FEED = "/api/ttp/threat-intel/get-feed"
WEEK = 7 * 86400


def _indicators(emu: Emulator, account: Account, feed: str, since: float) -> list[Any]:
    t = threat_indicators.c
    with emu.store.connect() as conn:
        return list(
            conn.execute(
                sa.select(threat_indicators)
                .where(t.account_id == account.id, t.feed_type == feed, t.created >= since)
                .order_by(t.created, t.seq)
            )
        )


def _file(response: httpx.Response) -> bytes:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    return response.content


def _stix_hashes(body: bytes) -> list[str]:
    bundle = json.loads(body)
    assert bundle["type"] == "bundle" and bundle["spec_version"] == "2.0"
    assert bundle["id"].startswith("bundle--")
    patterns = [o["pattern"] for o in bundle["objects"] if o["type"] == "indicator"]
    return [p.split("'")[3] for p in patterns]


async def walk(
    api: Api, item: dict[str, Any], between: Any = None
) -> tuple[list[str], list[httpx.Response]]:
    """Follow the feed's token to its end (a STIX walk ends with an empty bundle without the
    header): every SHA-256 listed, and every answer."""
    hashes: list[str] = []
    answers: list[httpx.Response] = []
    token = None
    while True:
        data = {**item, **({"token": token} if token else {})}
        response = await api.call(FEED, [data])
        answers.append(response)
        hashes += _stix_hashes(_file(response))
        token = response.headers.get(FEED_TOKEN_HEADER)
        if token is None:
            return hashes, answers
        if between is not None:
            await between(len(answers))


async def test_customer_feed_lists_the_malicious_attachments_as_csv(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    expected = _indicators(emu, account, "malware_customer", T0 - WEEK)
    assert 0 < len(expected) <= FILE_INDICATORS
    response = await api.call(FEED, [], keys=api.reader)
    text = _file(response).decode()
    assert not text.endswith("\n")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="|"))
    assert [r["SHA256"] for r in rows] == [r.sha256 for r in expected]
    assert [r["MD5"] for r in rows] == [r.md5 for r in expected]
    assert rows[0]["Timestamp"] == iso(expected[0].created)
    assert rows[0]["SenderAddress"] == expected[0].sender
    token = response.headers[FEED_TOKEN_HEADER]
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="malware_customer_csv_')
    assert disposition.endswith('.csv"')
    # every indicator is a malicious attachment of an archived message
    a = message_attachments.c
    with emu.store.connect() as conn:
        malicious = set(conn.execute(sa.select(a.sha256).where(a.malicious == sa.true())).scalars())
    assert {r["SHA256"] for r in rows} <= malicious
    # the file held everything: the next call is the end, which repeats the token
    end = await api.call(FEED, [{"token": token}], keys=api.reader)
    assert end.status_code == 200 and end.headers[FEED_TOKEN_HEADER] == token
    assert end.json()["fail"][0]["errors"][0]["message"] == NO_RESULTS


async def test_grid_feed_is_paged_by_token_in_stix(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    expected = _indicators(emu, account, "malware_grid", T0 - WEEK)
    assert len(expected) > 2 * FILE_INDICATORS
    hashes, answers = await walk(api, {"feedType": "malware_grid", "fileType": "stix"})
    assert hashes == [r.sha256 for r in expected]
    assert len(answers) == -(-len(expected) // FILE_INDICATORS) + 1
    assert json.loads(answers[-1].content)["objects"] == []
    bundle = json.loads(answers[0].content)
    kinds = [o["type"] for o in bundle["objects"]]
    assert kinds[:3] == ["malware", "indicator", "relationship"]
    relation = bundle["objects"][2]
    assert relation["relationship_type"] == "indicates"
    assert (relation["source_ref"], relation["target_ref"]) == (
        bundle["objects"][1]["id"],
        bundle["objects"][0]["id"],
    )
    # the same download again has the same ids
    again, _ = await walk(api, {"feedType": "malware_grid", "fileType": "stix"})
    assert again == hashes


async def test_window_and_compressed_files(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    everything = _indicators(emu, account, "malware_grid", T0 - WEEK)
    start, end = everything[10].created, everything[30].created
    response = await api.call(
        FEED, [{"feedType": "malware_grid", "fileType": "stix", "compress": True,
                "start": iso(start), "end": iso(end)}],
    )  # fmt: skip
    archive = zipfile.ZipFile(io.BytesIO(_file(response)))
    [member] = archive.namelist()
    assert member.startswith("malware_grid_stix_") and member.endswith(".stix")
    assert response.headers["content-disposition"].endswith('.zip"')
    expected = [r.sha256 for r in everything if int(start) <= r.created <= int(end)]
    assert _stix_hashes(archive.read(member)) == expected


@pytest.mark.parametrize("file_type", ["stix", "csv"])
async def test_a_later_call_with_the_last_token_gets_what_arrived_since(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary, file_type: str
) -> None:
    item = {"feedType": "malware_grid", "fileType": file_type}
    token = None
    while True:  # read the feed to its end, keeping the last token received
        response = await api.call(FEED, [{**item, **({"token": token} if token else {})}])
        if response.headers.get("content-type") != "application/octet-stream":
            assert response.json()["fail"][0]["errors"][0]["message"] == NO_RESULTS
            break
        if FEED_TOKEN_HEADER not in response.headers:
            break
        token = response.headers[FEED_TOKEN_HEADER]
    assert token is not None
    emu.clock.advance(60)
    late = [_late(account.id, T0 + 30, n) for n in range(3)]
    with emu.store.begin() as conn:
        conn.execute(threat_indicators.insert(), late)
    newer = await api.call(FEED, [{**item, "token": token}])
    body = _file(newer)
    if file_type == "stix":
        assert _stix_hashes(body) == [r["sha256"] for r in late]
    else:
        rows = list(csv.DictReader(io.StringIO(body.decode()), delimiter="|"))
        assert [r["SHA256"] for r in rows] == [r["sha256"] for r in late]
    assert newer.headers[FEED_TOKEN_HEADER] != token


def _late(account_id: int, t: float, n: int) -> dict[str, Any]:
    return {
        "account_id": account_id, "feed_type": "malware_grid", "created": t,
        "sha256": f"{n:064x}", "md5": f"{n:032x}", "filename": f"late{n}.exe",
        "file_type": "application/x-msdownload", "sender": "late@outside.example",
        "recipient": "", "subject": f"late {n}", "message_id": "",
    }  # fmt: skip


async def test_nothing_to_list_is_a_fail_entry_for_csv_and_an_empty_bundle_for_stix(
    api: Api, tenant: GenerateSummary
) -> None:
    item = {"start": iso(T0 + 60), "end": iso(T0 + 120)}
    response = await api.call(FEED, [item])
    assert FEED_TOKEN_HEADER not in response.headers  # no token sent, none repeated
    body = response.json()
    assert body["data"] == []
    [entry] = body["fail"]
    assert entry["errors"][0]["message"] == NO_RESULTS
    assert fails(body) == [(item, "err_item_not_found", None)]
    stix = await api.call(FEED, [{**item, "fileType": "stix", "compress": True}])
    archive = zipfile.ZipFile(io.BytesIO(_file(stix)))
    bundle = json.loads(archive.read(archive.namelist()[0]))
    assert bundle["objects"] == [] and bundle["type"] == "bundle"
    assert FEED_TOKEN_HEADER not in stix.headers


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"feedType": "malware"}, "err_validation_invalid_value", "feedType"),
        ({"fileType": "json"}, "err_validation_invalid_value", "fileType"),
        ({"compress": "maybe"}, "err_validation_invalid_value", "compress"),
        ({"start": "last week"}, "err_validation_invalid_value", "start"),
        ({"end": 5}, "err_validation_invalid_value", "end"),
        ({"start": iso(T0), "end": iso(T0 - 60)}, "err_validation_out_of_range", "end"),
        ({"token": "not-a-token"}, "err_validation_invalid_value", "token"),
        ({"token": 7}, "err_validation_invalid_value", "token"),
    ],
)
async def test_get_feed_names_the_invalid_field(
    api: Api, tenant: GenerateSummary, item: dict[str, Any], code: str, field: str
) -> None:
    body = await api.ok(FEED, [item])
    assert fails(body) == [(item, code, field)]


async def test_a_token_of_the_other_feed_is_refused(api: Api, tenant: GenerateSummary) -> None:
    first = await api.call(FEED, [{"feedType": "malware_grid"}])
    token = first.headers[FEED_TOKEN_HEADER]
    body = await api.ok(FEED, [{"feedType": "malware_customer", "token": token}])
    assert fails(body) == [
        ({"feedType": "malware_customer", "token": token}, "err_validation_invalid_value", "token")
    ]


async def test_the_feed_needs_the_tracking_permission(api: Api, emu: Emulator) -> None:
    response = await api.call(FEED, [], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert "Gateway | Tracking | Read" in (emu.journal.entries(path=FEED)[-1].reason or "")
