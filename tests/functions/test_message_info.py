"""get-message-info over HTTP: the detail of a message found by search, consistent with its
status, its hold entry and the tenant's retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator._data import GenerateSummary, held_messages, set_profile
from mcapi.emulator._store import Account
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
SEARCH = "/api/message-finder/search"
INFO = "/api/message-finder/get-message-info"
RELEASE = "/api/gateway/hold-release"
REJECT = "/api/gateway/hold-reject"
DAY = 86400


async def found(api: Api) -> list[dict[str, Any]]:
    return list(await api.pages(SEARCH, {}, page_size=500, records="trackedEmails"))


async def info(api: Api, message_id: str) -> dict[str, Any]:
    body = await api.ok(INFO, [{"id": message_id}])
    assert body["fail"] == []
    (detail,) = body["data"]
    return dict(detail)


def held_id(api: Api, message_id: str) -> str:
    with api.emu.store.connect() as conn:
        return str(
            conn.execute(
                sa.select(held_messages.c.id).where(held_messages.c.message_id == message_id)
            ).scalar_one()
        )


async def test_a_delivered_message_in_detail(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    set_profile(api.emu.store, account.id, max_retention_days=30)
    message = next(m for m in await found(api) if m["status"] == "delivered" and m["attachments"])
    detail = await info(api, message["id"])
    assert (detail["id"], detail["status"]) == (message["id"], "archived")
    sent = detail["recipientInfo"]["messageInfo"]
    assert (sent["fromEnvelope"], sent["subject"], sent["sent"], sent["route"]) == (
        message["fromEnv"]["emailAddress"], message["subject"], message["received"],
        message["route"],
    )  # fmt: skip
    recipients = [r["emailAddress"] for r in message["to"]]
    assert sent["to"] == recipients
    assert sorted(detail["deliveredMessage"]) == sorted(recipients)
    delivery = detail["deliveredMessage"][recipients[0]]["deliveryMetaInfo"]
    assert (delivery["deliveryEvent"], delivery["emailAddress"]) == (
        "Email Delivered", recipients[0]
    )  # fmt: skip
    components = detail["recipientInfo"]["recipientMetaInfo"]["components"]
    assert [c["type"] for c in components][:2] == ["Email Transmission File",
                                                   "Email Primary Body HTML"]  # fmt: skip
    assert len(components) == 3  # and the attachment
    assert detail["recipientInfo"]["recipientMetaInfo"]["remoteIp"] == message["senderIP"]
    # retention follows the tenant's profile
    purge = iso(_epoch(message["received"]) + 30 * DAY)
    assert detail["retentionInfo"]["currentPurgeDate"] == purge
    assert detail["spamInfo"]["spamScore"] == message["spamScore"]
    assert "queueInfo" not in detail and "releaseInfo" not in detail


def _epoch(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").timestamp()


@pytest.mark.parametrize(
    ("path", "item", "status", "action"),
    [
        (RELEASE, lambda held: {"id": held}, "archived", "released"),
        (REJECT, lambda held: {"ids": [held]}, "rejected", "rejected"),
    ],
    ids=["release", "reject"],
)
async def test_a_held_message_follows_the_hold_queue(
    api: Api, tenant: GenerateSummary, path: str, item: Any, status: str, action: str
) -> None:
    message = next(m for m in await found(api) if m["status"] == "held")
    detail = await info(api, message["id"])
    assert detail["status"] == "held" and detail["deliveredMessage"] == {}
    assert detail["queueInfo"]["status"] == "held" and "releaseInfo" not in detail
    held = held_id(api, message["id"])
    api.emu.clock.advance(120)
    await api.ok(path, [item(held)])
    after = await info(api, message["id"])
    assert after["status"] == status
    assert after["queueInfo"]["status"] == action
    assert after["releaseInfo"] == {"action": action, "by": api.creds.admin_email,
                                    "date": iso(T0 + 120)}  # fmt: skip
    assert bool(after["deliveredMessage"]) == (action == "released")
    # search agrees with the detail
    again = next(m for m in await found(api) if m["id"] == message["id"])
    assert again["status"] == ("delivered" if action == "released" else "rejected")


async def test_several_ids_and_bad_ones(api: Api, tenant: GenerateSummary) -> None:
    first, second = (await found(api))[:2]
    body = await api.ok(INFO, [{"id": first["id"]}, {"id": "no-such-message"}, {},
                               {"id": second["id"]}])  # fmt: skip
    assert [d["id"] for d in body["data"]] == [first["id"], second["id"]]
    assert fails(body) == [
        ({"id": "no-such-message"}, "err_item_not_found", "id"),
        ({}, "err_validation_blank", "id"),
    ]


async def test_another_accounts_message_is_not_found(api: Api, tenant: GenerateSummary) -> None:
    message = (await found(api))[0]
    other = api.emu.store.create_account("COTHER1", "Other", region="eu")
    api.emu.store.add_domain(other.id, "other.example", now=T0)
    api.emu.store.create_user(other.id, "admin@other.example", None, permissions=["*"])
    keys = api.keys_for("admin@other.example")
    body = await api.ok(INFO, [{"id": message["id"]}], keys=keys)
    assert fails(body) == [({"id": message["id"]}, "err_item_not_found", "id")]


async def test_get_message_info_needs_tracking_read(api: Api) -> None:
    response = await api.call(INFO, [{"id": "x"}], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    (entry,) = api.emu.journal.entries(path=INFO)
    assert entry.check == "permission" and "Gateway | Tracking | Read" in str(entry.reason)
    assert (await api.call(INFO, [{"id": "x"}], keys=api.reader)).status_code == 200
