"""Threat remediation over HTTP: incidents over the archived messages, and the hash search."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator import Emulator
from mcapi.emulator._data import (
    GenerateSummary,
    generate,
    message_attachments,
    messages,
    remediation_messages,
)
from mcapi.emulator._store import Account
from tests.functions.conftest import SEED, T0, Api, Keys, answer, fails, iso

pytestmark = pytest.mark.anyio

CREATE = "/api/ttp/remediation/create"
GET = "/api/ttp/remediation/get-incident"
SEARCH = "/api/ttp/remediation/search-hash"
AUDIT = "/api/audit/get-audit-events"
EDIT = "Services | Threat Remediation | Edit"
READ = "Services | Threat Remediation | Read"


def _carriers(emu: Emulator, account: Account) -> dict[str, list[tuple[str, float, str]]]:
    """SHA-256 of every malicious attachment -> the messages carrying it: (id, received,
    Message-ID), oldest first."""
    a, m = message_attachments.c, messages.c
    with emu.store.connect() as conn:
        rows = conn.execute(
            sa.select(a.sha256, m.id, m.received, m.message_id)
            .join(messages, m.id == a.message_id)
            .where(a.account_id == account.id, a.malicious == sa.true())
            .order_by(m.received, m.seq)
        ).all()
    out: dict[str, list[tuple[str, float, str]]] = {}
    for sha, mid, received, message_id in rows:
        out.setdefault(sha, []).append((mid, received, message_id))
    return out


def _spread(emu: Emulator, account: Account) -> tuple[str, list[tuple[str, float, str]]]:
    """A malicious hash found in at least two messages, and those messages."""
    carriers = _carriers(emu, account)
    sha, found = max(carriers.items(), key=lambda kv: len(kv[1]))
    assert len(found) >= 2, carriers
    return sha, found


async def test_generated_attachments_have_hashes_and_are_stable(
    emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    a = message_attachments.c
    query = sa.select(a.message_id, a.position, a.sha256, a.sha1, a.md5, a.malicious).order_by(
        a.message_id, a.position
    )
    with emu.store.connect() as conn:
        first = conn.execute(query).all()
        listed = sum(
            len(r.attachments) for r in conn.execute(sa.select(messages.c.attachments)).all()
        )
    assert len(first) == listed > 0
    assert all(len(r.sha256) == 64 and len(r.sha1) == 40 and len(r.md5) == 32 for r in first)
    assert 0 < sum(r.malicious for r in first) < len(first)
    generate(emu.store, account.id, seed=SEED, users=20, days=3, now=T0)
    with emu.store.connect() as conn:
        assert conn.execute(query).all() == first


async def test_create_by_hash_removes_every_carrier_and_get_incident_reads_it(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, found = _spread(emu, account)
    body = await api.ok(
        CREATE,
        [{"reason": "phishing payload", "hashOrMessageId": sha.upper(), "searchBy": "hash",
          "start": iso(T0 - 5 * 86400)}],
    )  # fmt: skip
    assert body["fail"] == []
    [incident] = body["data"]
    assert incident["type"] == "manual" and incident["reason"] == "phishing payload"
    assert incident["code"].startswith(f"TR-{account.account_code}-")
    assert (incident["identified"], incident["successful"]) == (len(found), len(found))
    assert (incident["failed"], incident["restored"]) == (0, 0)
    assert incident["create"] == incident["modified"] == iso(T0)
    criteria = incident["searchCriteria"]
    assert criteria["fileHash"] == sha
    assert (criteria["start"], criteria["end"]) == (iso(T0 - 5 * 86400), iso(T0))
    assert criteria["restoreCode"] and criteria["unremediateCode"]

    again = await api.ok(GET, [{"id": incident["id"]}], keys=api.reader)
    assert again["data"] == [incident]
    with emu.store.connect() as conn:
        removed = conn.execute(
            sa.select(remediation_messages.c.message_id).where(
                remediation_messages.c.incident_id == incident["id"]
            )
        ).scalars()
        assert sorted(removed) == sorted(mid for mid, _, _ in found)


async def test_a_second_incident_over_the_same_messages_fails_them(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, found = _spread(emu, account)
    message_id = found[0][2]
    first = (await api.ok(CREATE, [{"reason": "one", "hashOrMessageId": message_id,
                                    "searchBy": "messageId"}]))["data"][0]  # fmt: skip
    assert (first["identified"], first["successful"], first["failed"]) == (1, 1, 0)
    assert first["searchCriteria"]["messageId"] == message_id
    assert first["searchCriteria"]["from"] and first["searchCriteria"]["to"]
    second = (await api.ok(CREATE, [{"reason": "two", "hashOrMessageId": sha}]))["data"][0]
    assert second["identified"] == len(found)
    assert (second["successful"], second["failed"]) == (len(found) - 1, 1)
    # the first incident is unchanged
    assert (await api.ok(GET, [{"id": first["id"]}]))["data"] == [first]


async def test_the_window_limits_what_an_incident_identifies(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, found = _spread(emu, account)
    _, received, _ = found[-1]
    body = await api.ok(CREATE, [{"reason": "late only", "hashOrMessageId": sha,
                                  "start": iso(received), "end": iso(T0)}])  # fmt: skip
    later = [f for f in found if f[1] >= int(received)]
    assert body["data"][0]["identified"] == len(later) < len(found)
    nothing = await api.ok(CREATE, [{"reason": "none", "hashOrMessageId": "0" * 64}])
    assert nothing["data"][0]["identified"] == 0


async def test_creating_an_incident_is_audited(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, found = _spread(emu, account)
    code = (await api.ok(CREATE, [{"reason": "audit me", "hashOrMessageId": sha}]))["data"][0][
        "code"
    ]
    events = await api.ok(
        AUDIT, [{"startDateTime": iso(T0 - 60), "endDateTime": iso(T0 + 60),
                 "categories": ["ttp_logs"]}],
    )  # fmt: skip
    infos = [
        e["eventInfo"] for e in events["data"] if e["auditType"] == "Remediation Incident Created"
    ]
    assert any(code in info and f"{len(found)} message(s)" in info for info in infos)


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"hashOrMessageId": "a" * 64}, "err_validation_blank", "reason"),
        ({"reason": " ", "hashOrMessageId": "a" * 64}, "err_validation_blank", "reason"),
        ({"reason": "r"}, "err_validation_blank", "hashOrMessageId"),
        ({"reason": "r", "hashOrMessageId": None}, "err_validation_null", "hashOrMessageId"),
        ({"reason": "r", "hashOrMessageId": "xyz"}, "err_validation_invalid_value",
         "hashOrMessageId"),
        ({"reason": "r", "hashOrMessageId": "abc@x.example", "searchBy": "messageId"},
         "err_validation_invalid_value", "hashOrMessageId"),
        ({"reason": "r", "hashOrMessageId": "a" * 64, "searchBy": "sender"},
         "err_validation_invalid_value", "searchBy"),
        ({"reason": "r", "hashOrMessageId": "a" * 64, "start": "yesterday"},
         "err_validation_invalid_value", "start"),
        ({"reason": "r", "hashOrMessageId": "a" * 64, "end": "2020-13-01T00:00:00+0000"},
         "err_validation_invalid_value", "end"),
        ({"reason": "r", "hashOrMessageId": "a" * 64, "start": iso(T0), "end": iso(T0 - 1)},
         "err_validation_out_of_range", "end"),
        ({"reason": 5, "hashOrMessageId": "a" * 64}, "err_validation_invalid_value", "reason"),
    ],
)  # fmt: skip
async def test_create_names_the_invalid_field(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    body = await api.ok(CREATE, [item])
    assert body["data"] == []
    assert fails(body) == [(item, code, field)]


async def test_get_incident_of_an_unknown_id_fails_on_id(api: Api) -> None:
    body = await api.ok(GET, [{"id": "eNoNoSuchIncident"}, {}])
    assert fails(body) == [
        ({"id": "eNoNoSuchIncident"}, "err_item_not_found", "id"),
        ({}, "err_validation_blank", "id"),
    ]


async def test_incidents_of_another_account_are_not_found(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, _ = _spread(emu, account)
    incident = (await api.ok(CREATE, [{"reason": "mine", "hashOrMessageId": sha}]))["data"][0]
    other = emu.store.create_account("CUSB99999", "Other Ltd")
    user = emu.store.create_user(other.id, "admin@other.example", None, permissions=["*"])
    binding = emu.store.create_binding(user.id, api.creds.app_id, now=T0, ttl_seconds=None)
    keys = Keys(binding.access_key, binding.secret_key, api.creds.app_id, api.creds.app_key)
    body = await api.ok(GET, [{"id": incident["id"]}], keys=keys)
    assert fails(body) == [({"id": incident["id"]}, "err_item_not_found", "id")]


async def test_search_hash_reports_detected_missing_and_malformed(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, _ = _spread(emu, account)
    a = message_attachments.c
    with emu.store.connect() as conn:
        md5 = conn.execute(sa.select(a.md5).where(a.sha256 == sha).limit(1)).scalar_one()
    absent = "f" * 64
    hashes = [sha, md5.upper(), absent, "not-a-hash", "abc"]
    body = await api.ok(SEARCH, [{"hashes": hashes}], keys=api.reader)
    assert body["fail"] == []
    assert body["data"] == [
        {
            "hashStatus": [
                {"hash": sha, "detected": True},
                {"hash": md5.upper(), "detected": True},
                {"hash": absent, "detected": False},
            ],
            "failedHashes": ["not-a-hash", "abc"],
        }
    ]


async def test_search_hash_looks_back_one_year(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, found = _spread(emu, account)
    newest = found[-1][1]
    emu.clock.set(newest + 365 * 86400 + 1)
    body = await api.ok(SEARCH, [{"hashes": [sha]}])
    assert body["data"][0]["hashStatus"] == [{"hash": sha, "detected": False}]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({}, "err_validation_blank"),
        ({"hashes": []}, "err_validation_blank"),
        ({"hashes": "abc"}, "err_validation_invalid_value"),
        ({"hashes": [1, 2]}, "err_validation_invalid_value"),
        ({"hashes": ["a" * 32] * 101}, "err_validation_too_many_items"),
    ],
)
async def test_search_hash_names_the_invalid_field(
    api: Api, item: dict[str, Any], code: str
) -> None:
    body = await api.ok(SEARCH, [item])
    assert fails(body) == [(item, code, "hashes")]


async def test_remediation_needs_its_permissions(
    api: Api, emu: Emulator, account: Account, tenant: GenerateSummary
) -> None:
    sha, _ = _spread(emu, account)
    item = {"reason": "r", "hashOrMessageId": sha}
    response = await api.call(CREATE, [item], keys=api.reader)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    [entry] = emu.journal.entries(path=CREATE)
    assert EDIT in entry.reason
    for path, data in ((GET, [{"id": "x"}]), (SEARCH, [{"hashes": [sha]}])):
        response = await api.call(path, data, keys=api.nobody)
        assert answer(response) == "403 0002 err_xdk_forbidden"
        assert READ in emu.journal.entries(path=path)[-1].reason
    editor = api.keys_for("editor@demo.example", [EDIT])
    created = await api.ok(CREATE, [item], keys=editor)
    assert created["data"][0]["identified"] > 0
