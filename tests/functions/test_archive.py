"""The archive over HTTP: message detail, message parts as files, and who may read what.

The archive functions need no permission of their own (a user may always read their own
mailbox), so their permission answers are 403 0003 / 0007 / 0011, not 0002.
"""

from __future__ import annotations

import email
import re
from email.message import Message
from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary, set_profile
from mcapi.emulator._store import Account
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
DETAIL = "/api/archive/get-message-detail"
PART = "/api/archive/get-message-part"
SEARCH = "/api/message-finder/search"
DECODE = "/api/ttp/url/decode-url"


async def inbound(api: Api, *, attachments: bool = False) -> dict[str, Any]:
    """A generated inbound message (with an attachment when asked)."""
    messages = await api.pages(
        SEARCH, {"advancedTrackAndTraceOptions": {"route": "inbound"}}, page_size=500,
        records="trackedEmails",
    )  # fmt: skip
    return next(m for m in messages if m["attachments"] or not attachments)


async def test_detail_of_a_message(api: Api, tenant: GenerateSummary) -> None:
    message = await inbound(api, attachments=True)
    body = await api.ok(DETAIL, [{"id": message["id"]}])
    (detail,) = body["data"]
    assert detail["id"] == message["id"]
    assert detail["subject"] == message["subject"]
    assert detail["from"]["emailAddress"] == message["fromEnv"]["emailAddress"]
    assert [t["emailAddress"] for t in detail["to"]] == [t["emailAddress"] for t in message["to"]]
    (attachment,) = detail["attachments"]
    assert attachment["size"] > 0 and attachment["extension"]
    assert detail["retentionExpiry"] > detail["received"]


async def test_rfc822_part_is_the_whole_message(api: Api, tenant: GenerateSummary) -> None:
    message = await inbound(api, attachments=True)
    detail = (await api.ok(DETAIL, [{"id": message["id"]}]))["data"][0]
    response = await api.call(PART, [{"id": message["id"], "type": "RFC822"}])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert re.fullmatch(r'attachment; filename=".+\.eml"', response.headers["content-disposition"])
    parsed = email.message_from_bytes(response.content)
    assert parsed["Subject"] == message["subject"]
    files = [p for p in parsed.walk() if p.get_filename()]
    assert [(p.get_filename(), len(_payload(p))) for p in files] == [
        (a["filename"], a["size"]) for a in detail["attachments"]
    ]
    again = await api.call(PART, [{"id": message["id"], "type": "RFC822"}])
    assert again.content == response.content


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


async def test_delivered_html_carries_url_protect_links(api: Api, tenant: GenerateSummary) -> None:
    message = await inbound(api)
    delivered = await api.call(PART, [{"id": message["id"], "type": "HTML"}])
    received = await api.call(PART, [{"id": message["id"], "type": "HTML", "context": "RECEIVED"}])
    protected = re.findall(r'href="([^"]+)"', delivered.text)
    original = re.findall(r'href="([^"]+)"', received.text)
    assert protected and all("mimecast.com/s/" in link for link in protected)
    decoded = await api.ok(DECODE, [{"url": link} for link in protected])
    assert [d["url"] for d in decoded["data"]] == original
    plain = await api.call(PART, [{"id": message["id"], "type": "PLAIN"}])
    assert (
        original[0]
        in (
            await api.call(PART, [{"id": message["id"], "type": "PLAIN", "context": "RECEIVED"}])
        ).text
    )
    assert plain.text.strip()


async def test_a_user_reads_their_own_mailbox_without_permission(
    api: Api, tenant: GenerateSummary
) -> None:
    message = await inbound(api)
    owner = message["to"][0]["emailAddress"]
    keys = api.keys_for(owner)  # a generated user: no permission at all
    assert (await api.ok(DETAIL, [{"id": message["id"]}], keys=keys))["data"]
    own = await api.call(PART, [{"id": message["id"], "mailbox": owner}], keys=keys)
    assert own.status_code == 200 and own.content


async def test_another_mailbox_is_forbidden_without_content_view(
    api: Api, tenant: GenerateSummary
) -> None:
    message = await inbound(api)
    owner = message["to"][0]["emailAddress"]
    keys = api.keys_for(owner)
    other = {"id": message["id"], "mailbox": "admin@demo.example"}
    assert answer(await api.call(PART, [other], keys=keys)) == (
        "403 0003 err_xdk_operation_forbidden_for_address"
    )
    assert answer(await api.call(DETAIL, [other], keys=keys)) == (
        "403 0003 err_xdk_operation_forbidden_for_address"
    )


async def test_someone_elses_message_is_forbidden(api: Api, tenant: GenerateSummary) -> None:
    message = await inbound(api)
    response = await api.call(PART, [{"id": message["id"]}], keys=api.nobody)
    assert answer(response) == "403 0007 err_xdk_message_load_forbidden"
    # with content view, but naming a mailbox the message is not in
    wrong = {"id": message["id"], "mailbox": "admin@demo.example"}
    assert answer(await api.call(PART, [wrong])) == "403 0007 err_xdk_message_load_forbidden"


async def test_a_message_past_retention_is_expired(
    api: Api, account: Account, tenant: GenerateSummary
) -> None:
    set_profile(api.emu.store, account.id, max_retention_days=2)
    messages = await api.pages(SEARCH, {}, page_size=500, records="trackedEmails")
    old = next(m for m in reversed(messages) if m["received"] < iso(T0 - 2 * 86400))
    new = messages[0]
    assert answer(await api.call(PART, [{"id": old["id"]}])) == "403 0011 err_xdk_message_expired"
    assert answer(await api.call(DETAIL, [{"id": old["id"]}])) == "403 0011 err_xdk_message_expired"
    assert (await api.call(PART, [{"id": new["id"]}])).status_code == 200
    api.emu.clock.advance(3 * 86400)  # the clock moves on: the newest one expires too
    assert answer(await api.call(PART, [{"id": new["id"]}])) == "403 0011 err_xdk_message_expired"


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"id": "eNoUnknown"}, "err_item_not_found", "id"),
        ({}, "err_validation_blank", "id"),
        ({"id": "x", "type": "PDF"}, "err_validation_invalid_value", "type"),
        ({"id": "x", "context": "LATER"}, "err_validation_invalid_value", "context"),
        ({"id": "x", "mailbox": "nobody"}, "err_validation_invalid_email_address", "mailbox"),
    ],
)
async def test_invalid_part_requests_fail_as_json(
    api: Api, item: dict[str, Any], code: str, field: str
) -> None:
    response = await api.call(PART, [item])
    assert response.headers["content-type"].startswith("application/json")
    assert fails(response.json()) == [(item, code, field)]


async def test_one_message_per_call(api: Api) -> None:
    body = await api.ok(DETAIL, [{"id": "a"}, {"id": "b"}])
    assert {c for _, c, _ in fails(body)} == {"err_validation_too_many_items"}
