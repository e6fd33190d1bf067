"""Browsing, searching and downloading from the archive over HTTP: get-message-list, search with the
XML query form, and get-file, under the same content-view rules as the other archive functions."""

from __future__ import annotations

import email
from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator._data import GenerateSummary, set_profile
from mcapi.emulator._data import messages as archived
from mcapi.emulator._store import Account
from mcapi.emulator.functions.archive import attachment_id
from tests.functions.conftest import T0, Api, answer, fails, iso

pytestmark = pytest.mark.anyio
LIST = "/api/archive/get-message-list"
SEARCH = "/api/archive/search"
FILE = "/api/archive/get-file"
DETAIL = "/api/archive/get-message-detail"
PART = "/api/archive/get-message-part"
FINDER = "/api/message-finder/search"
CONTENT_VIEW = "Archive | Search Content View"


def xml(muse: str = "", *, size: int = 25, row: int = 0, fields: str = "", boxes: str = "") -> str:
    """A query in the documented form."""
    returned = "".join(f"<return-field>{f}</return-field>" for f in fields.split())
    mailboxes = "".join(f'<mailbox include-aliases="true">{b}</mailbox>' for b in boxes.split())
    return (
        '<?xml version="1.0"?>\n<xmlquery trace="iql,muse">'
        f'<metadata query-type="emailarchive" archive="true" active="false" page-size="{size}" '
        f'startrow="{row}"><mailboxes>{mailboxes}</mailboxes><smartfolders/>'
        f"<return-fields>{returned}</return-fields></metadata>"
        f"<muse>{muse}</muse></xmlquery>"
    )


async def tracked(api: Api) -> list[dict[str, Any]]:
    """Every generated message, newest first (message-finder, the last 30 days)."""
    return await api.pages(FINDER, {}, page_size=500, records="trackedEmails")


async def items(api: Api, query: str, **item: Any) -> list[dict[str, Any]]:
    body = await api.ok(SEARCH, [{"admin": True, "query": query, **item}])
    assert body["fail"] == [], body["fail"]
    return list(body["data"][0]["items"])


async def every_item(api: Api, muse: str) -> list[dict[str, Any]]:
    """Every item of a search, page by page (``startrow``)."""
    out: list[dict[str, Any]] = []
    while True:
        page = await items(api, xml(muse, size=200, row=len(out)))
        out.extend(page)
        if len(page) < 200:
            return out


# -- get-message-list --------------------------------------------------------------------------


async def test_inbox_and_sent_of_a_mailbox(api: Api, tenant: GenerateSummary) -> None:
    messages = await tracked(api)
    person = messages[0]["to"][0]["emailAddress"]
    inbox = await api.pages(LIST, {"mailbox": person}, page_size=7)
    assert [m["id"] for m in inbox] == [
        m["id"] for m in messages if person in {t["emailAddress"] for t in m["to"]}
    ]
    sent = await api.pages(LIST, {"mailbox": person, "view": "SENT"}, page_size=7)
    assert [m["id"] for m in sent] == [
        m["id"] for m in messages if m["fromEnv"]["emailAddress"] == person
    ]
    first = inbox[0]
    assert {"id", "subject", "from", "to", "received", "size", "attachmentCount"} <= set(first)
    detail = (await api.ok(DETAIL, [{"id": first["id"]}]))["data"][0]
    assert first["attachmentCount"] == len(detail["attachments"])


async def test_a_user_lists_their_own_mailbox_without_permissions(
    api: Api, tenant: GenerateSummary
) -> None:
    messages = await tracked(api)
    person = messages[0]["to"][0]["emailAddress"]
    keys = api.keys_for(person, ["Account | Dashboard | Read"])  # no content view
    own = await api.ok(LIST, [{}], keys=keys, page_size=500)
    assert own["data"] and all(person in {t["emailAddress"] for t in m["to"]} for m in own["data"])
    other = messages[0]["fromEnv"]["emailAddress"]
    refused = await api.call(LIST, [{"mailbox": other}], keys=keys)
    assert answer(refused) == "403 0003 err_xdk_operation_forbidden_for_address"
    viewer = api.keys_for("viewer@demo.example", [CONTENT_VIEW])
    assert (await api.ok(LIST, [{"mailbox": person}], keys=viewer, page_size=500))["data"]


async def test_list_window_and_retention(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    messages = await tracked(api)
    person = messages[0]["to"][0]["emailAddress"]
    every = await api.pages(LIST, {"mailbox": person}, page_size=500)
    day = await api.pages(LIST, {"mailbox": person, "start": iso(T0 - 86400)}, page_size=500)
    assert day == [m for m in every if m["received"] >= iso(T0 - 86400)]
    set_profile(api.emu.store, account.id, max_retention_days=1)  # older messages are gone
    assert await api.pages(LIST, {"mailbox": person}, page_size=500) == day


async def test_list_defaults_to_the_last_calendar_month(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    messages = await tracked(api)
    person = messages[0]["to"][0]["emailAddress"]
    row = {
        "account_id": account.id, "sender": "old@outside.example", "sender_name": "",
        "recipients": [person], "subject": "old", "route": "inbound", "status": "delivered",
        "size": 100, "sender_ip": "192.0.2.1", "message_id": "<old@outside.example>",
    }  # fmt: skip
    with api.emu.store.begin() as conn:  # T0 is 2025-10-09: one a month back, one just before
        conn.execute(sa.insert(archived), [
            {**row, "id": "month-ago", "received": T0 - 30 * 86400 + 60},
            {**row, "id": "too-old", "received": T0 - 30 * 86400 - 60},
        ])  # fmt: skip
    listed = [m["id"] for m in await api.pages(LIST, {"mailbox": person}, page_size=500)]
    assert "month-ago" in listed and "too-old" not in listed
    everything = await api.pages(LIST, {"mailbox": person, "start": iso(0)}, page_size=500)
    assert "too-old" in [m["id"] for m in everything]


async def test_list_validation(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"view": "OUTBOX"}, "err_validation_invalid_value", "view"),
        ({"includeAliases": "sometimes"}, "err_validation_invalid_value", "includeAliases"),
        ({"includeDelegates": 1}, "err_validation_invalid_value", "includeDelegates"),
        ({"mailbox": "not-an-address"}, "err_validation_invalid_email_address", "mailbox"),
        ({"start": "today"}, "err_validation_invalid_value", "start"),
        ({"start": iso(T0), "end": iso(T0 - 1)}, "err_validation_out_of_range", "end"),
    ]
    for item, code, field in cases:
        assert fails(await api.ok(LIST, [item])) == [(item, code, field)], item
    bad = await api.ok(LIST, [{}], page_token="not-a-token")
    assert fails(bad) == [({}, "err_validation_invalid_value", "pageToken")]


# -- search ------------------------------------------------------------------------------------


async def test_search_in_the_documented_form(api: Api, tenant: GenerateSummary) -> None:
    messages = await tracked(api)
    found = await items(api, xml('<text></text><date select="last_year"/><docs select="optional">'
                                 "</docs><route/>", size=10))  # fmt: skip
    assert [i["id"] for i in found] == [m["id"] for m in messages[:10]]
    first, message = found[0], messages[0]
    assert first["subject"] == message["subject"]
    assert first["displayfromaddress"] == message["fromEnv"]["emailAddress"]
    assert first["displayto"] == ", ".join(t["emailAddress"] for t in message["to"])
    assert first["status"] == "ARCHIVED" and first["receiveddate"] == message["received"]
    body = await api.ok(SEARCH, [{"admin": True, "query": xml(size=10, row=10)}])
    assert body["meta"]["pagination"] == {"recordStart": 10, "pageSize": 10}
    assert [i["id"] for i in body["data"][0]["items"]] == [m["id"] for m in messages[10:20]]
    assert isinstance(body["data"][0]["queryDuration"], int)


async def test_search_pages_by_token_too(api: Api, tenant: GenerateSummary) -> None:
    messages = await tracked(api)
    query = {"admin": True, "query": xml("<route>inbound</route>", size=7)}
    walked = await api.pages(SEARCH, query, page_size=50, records="items")
    assert [i["id"] for i in walked] == [m["id"] for m in messages if m["route"] == "inbound"]
    first = await api.ok(SEARCH, [query], page_size=7)
    assert len(first["data"][0]["items"]) == 7 and first["meta"]["pagination"]["next"]


async def test_search_returns_the_fields_asked_for(api: Api, tenant: GenerateSummary) -> None:
    found = await items(api, xml(size=3, fields="id subject attachmentcount nonsense"))
    assert [set(i) for i in found] == [{"id", "subject", "attachmentcount"}] * 3


async def test_search_criteria(api: Api, tenant: GenerateSummary) -> None:
    messages = await tracked(api)
    target = messages[5]
    subject = target["subject"]
    by_subject = await every_item(api, f"<text>subject: {subject}</text>")
    assert [i["id"] for i in by_subject] == [
        m["id"] for m in messages if subject.lower() in m["subject"].lower()
    ]
    sender = target["fromEnv"]["emailAddress"]
    sent = await every_item(api, f'<sent select="from">{sender}</sent>')
    assert {i["displayfromaddress"] for i in sent} == {sender}
    assert target["id"] in {i["id"] for i in sent}
    day = await every_item(api, f'<date select="between" from="{iso(T0 - 86400)[:19]}Z" />')
    assert [i["id"] for i in day] == [m["id"] for m in messages if m["received"] >= iso(T0 - 86400)]
    routed = await every_item(api, "<route>outbound</route>")
    assert routed and {i["id"] for i in routed} == {
        m["id"] for m in messages if m["route"] == "outbound"
    }
    with_files = await every_item(api, '<docs select="any"></docs>')
    without = await every_item(api, '<docs select="none"></docs>')
    assert with_files and all(i["attachmentcount"] for i in with_files)
    assert without and not any(i["attachmentcount"] for i in without)
    assert len(with_files) + len(without) == len(messages)


async def test_search_scope_is_the_callers_mailbox_unless_admin(
    api: Api, tenant: GenerateSummary
) -> None:
    messages = await tracked(api)
    person = messages[0]["to"][0]["emailAddress"]
    keys = api.keys_for(person, ["Archive | Search | Read"])
    body = await api.ok(SEARCH, [{"query": xml(size=500)}], keys=keys)
    mine = [
        m["id"] for m in messages
        if person in {t["emailAddress"] for t in m["to"]} or m["fromEnv"]["emailAddress"] == person
    ]  # fmt: skip
    assert [i["id"] for i in body["data"][0]["items"]] == mine
    other = messages[0]["fromEnv"]["emailAddress"]
    refused = await api.call(SEARCH, [{"query": xml(boxes=other)}], keys=keys)
    assert answer(refused) == "403 0003 err_xdk_operation_forbidden_for_address"
    boxed = await items(api, xml(size=500, boxes=person))
    assert [i["id"] for i in boxed] == mine


async def test_search_refuses_bad_xml_safely(api: Api) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xmlquery><metadata/><muse>'
        "<text>&b;</text></muse></xmlquery>"
    )
    external = (
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<xmlquery><metadata/><muse><text>&x;</text></muse></xmlquery>"
    )
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"query": bomb}, "err_validation_invalid_value", "query"),
        ({"query": external}, "err_validation_invalid_value", "query"),
        ({"query": "<xmlquery><metadata>"}, "err_validation_invalid_value", "query"),
        ({"query": "<other/>"}, "err_validation_invalid_value", "query"),
        ({"query": "<xmlquery><muse/></xmlquery>"}, "err_validation_invalid_value", "query"),
        ({"query": xml(size=0)}, "err_validation_out_of_range", "query"),
        ({"query": xml(size=501)}, "err_validation_out_of_range", "query"),
        ({"query": xml('<date select="someday"/>')}, "err_validation_invalid_value", "query"),
        ({"query": xml('<docs select="poems"></docs>')}, "err_validation_invalid_value", "query"),
        ({"query": xml(" " * 20_001)}, "err_validation_out_of_range", "query"),
        ({}, "err_validation_blank", "query"),
        ({"query": 7}, "err_validation_invalid_value", "query"),
        ({"query": xml(), "admin": "perhaps"}, "err_validation_invalid_value", "admin"),
        ({"query": xml(), "searchReason": 5}, "err_validation_invalid_value", "searchReason"),
    ]
    for item, code, field in cases:
        body = await api.ok(SEARCH, [item])
        assert fails(body) == [(item, code, field)], str(item)[:80]
        errors = str([entry["errors"] for entry in body["fail"]])
        assert "root:" not in errors and "a" * 100 not in errors  # nothing was expanded or read


async def test_search_needs_the_archive_search_permission(api: Api) -> None:
    response = await api.call(SEARCH, [{"query": xml()}], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    assert "Archive | Search | Read" in api.emu.journal.entries(path=SEARCH)[-1].reason


# -- get-file ----------------------------------------------------------------------------------


async def with_attachment(api: Api) -> dict[str, Any]:
    for message in await tracked(api):
        if message["attachments"]:
            return dict((await api.ok(DETAIL, [{"id": message["id"]}]))["data"][0])
    raise AssertionError("no generated message has an attachment")


async def test_get_file_streams_an_attachment(api: Api, tenant: GenerateSummary) -> None:
    detail = await with_attachment(api)
    attachment = detail["attachments"][0]
    response = await api.call(FILE, [{"id": attachment["id"]}])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert attachment["filename"] in response.headers["content-disposition"]
    assert len(response.content) == attachment["size"]
    # the same bytes as the attachment inside the whole message
    whole = await api.call(PART, [{"id": detail["id"], "type": "RFC822"}])
    parts = [p for p in email.message_from_bytes(whole.content).walk() if p.get_filename()]
    assert parts[0].get_payload(decode=True) == response.content


async def test_get_file_of_a_message_id_is_the_whole_message(
    api: Api, tenant: GenerateSummary
) -> None:
    detail = await with_attachment(api)
    response = await api.call(FILE, [{"id": detail["id"]}])
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('.eml"')
    assert email.message_from_bytes(response.content)["Subject"] == detail["subject"]


async def test_get_file_follows_the_content_view_rules(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    detail = await with_attachment(api)
    file_id = detail["attachments"][0]["id"]
    outsider = api.keys_for("outsider@demo.example", ["Account | Dashboard | Read"])
    response = await api.call(FILE, [{"id": file_id}], keys=outsider)
    assert answer(response) == "403 0007 err_xdk_message_load_forbidden"
    recipient = detail["to"][0]["emailAddress"]
    own = api.keys_for(recipient, ["Account | Dashboard | Read"])
    assert (await api.call(FILE, [{"id": file_id}], keys=own)).status_code == 200
    api.emu.clock.advance(3 * 86400)
    set_profile(api.emu.store, account.id, max_retention_days=1)
    expired = await api.call(FILE, [{"id": file_id}])
    assert answer(expired) == "403 0011 err_xdk_message_expired"


async def test_get_file_validation_and_unknown_ids(api: Api, tenant: GenerateSummary) -> None:
    detail = await with_attachment(api)
    past_the_end = attachment_id(detail["id"], len(detail["attachments"]))
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({}, "err_validation_blank", "id"),
        ({"id": ""}, "err_validation_blank", "id"),
        ({"id": 12}, "err_validation_invalid_value", "id"),
        ({"id": "eNoUnknown"}, "err_item_not_found", "id"),
        ({"id": past_the_end}, "err_item_not_found", "id"),
        ({"id": detail["id"], "mailbox": "nope"}, "err_validation_invalid_email_address",
         "mailbox"),
    ]  # fmt: skip
    for item, code, field in cases:
        body = await api.ok(FILE, [item])
        assert fails(body) == [(item, code, field)], item
