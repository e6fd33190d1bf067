"""Every paged function keeps its pages while the tenant gets new data.

A client walks a list page by page; between two pages new rows arrive (through the API, or in the
data tables as a real tenant gets new mail, clicks, held messages and late events), rows it has
already seen are removed, and the emulator clock moves on. However the new rows sort (before the
first page, among the rows already listed, tied with the page boundary, among the rows still to
come, after the last), every row that existed when the walk started must be listed exactly once,
in order, and no row twice.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator._data import (
    GenerateSummary,
    attachment_logs,
    audit_events,
    click_logs,
    groups,
    held_messages,
    impersonation_logs,
    messages,
)
from mcapi.emulator._store import Account
from mcapi.emulator.functions import FUNCTIONS
from mcapi.emulator.functions._paging import decode_token
from tests.functions.conftest import T0, Api, iso

pytestmark = pytest.mark.anyio

Record = dict[str, Any]
Between = Callable[[int, str], Awaitable[None]]
_serial = itertools.count(1)


async def walk(
    api: Api, path: str, item: Record, *, size: int, records: str | None,
    ident: Callable[[Record], Hashable], between: Between,
) -> list[Hashable]:  # fmt: skip
    """Follow ``next`` to the end, calling ``between(pages so far, next token)`` between pages."""
    listed: list[Hashable] = []
    token: str | None = None
    pages = 0
    while True:
        body = await api.ok(path, [item], page_size=size, page_token=token)
        assert body["fail"] == []
        rows = body["data"][0][records] if records else body["data"]
        assert len(rows) <= size
        listed.extend(ident(r) for r in rows)
        pages += 1
        token = body["meta"]["pagination"].get("next")
        if token is None:
            return listed
        await between(pages, token)


def assert_stable(before: Sequence[Hashable], walked: Sequence[Hashable]) -> None:
    """Nothing listed twice; every row of the start listed, in the start's order."""
    assert len(set(before)) == len(before)
    repeated = {i for i in walked if walked.count(i) > 1}
    assert not repeated, f"listed twice: {repeated}"
    existing = set(before)
    missing = existing - set(walked)
    assert not missing, f"never listed: {missing}"
    assert [i for i in walked if i in existing] == list(before)


# -- lists sorted by time: get-logs (both orders), message-finder, hold list, audit events -------


def _click(account_id: int, t: float, n: int) -> Record:
    return {
        "account_id": account_id, "date": t, "user_email": "late@demo.example",
        "from_user_email": "news@outside.example", "url": f"https://late{n}.example/",
        "ttp_definition": "Default URL Protection", "subject": f"late {n}", "action": "allow",
        "admin_override": "N/A", "user_override": "None", "scan_result": "clean",
        "category": "News", "sending_ip": "192.0.2.1", "user_awareness_action": "N/A",
        "route": "inbound", "message_id": f"<late{n}@outside.example>", "generated": False,
    }  # fmt: skip


def _message(account_id: int, t: float, n: int) -> Record:
    return {
        "id": f"late-message-{n}", "account_id": account_id, "received": t,
        "sender": "news@outside.example", "sender_name": "News", "recipients": ["a@demo.example"],
        "subject": f"late {n}", "route": "inbound", "status": "delivered", "info": "",
        "size": 2048, "sender_ip": "192.0.2.1", "spam_score": 0, "attachments": [],
        "message_id": f"<late{n}@outside.example>", "generated": False,
    }  # fmt: skip


def _held(account_id: int, t: float, n: int) -> Record:
    return {
        "id": f"late-held-{n}", "account_id": account_id, "message_id": None, "received": t,
        "sender": "news@outside.example", "sender_name": "News",
        "recipient": "a@demo.example", "subject": f"late {n}", "reason": "Spam Signature",
        "reason_code": "spam_signature", "route": "inbound", "size": 2048,
        "has_attachments": False, "policy_info": "Anti-Spam policy", "status": "held",
        "generated": False,
    }  # fmt: skip


def _event(account_id: int, t: float, n: int) -> Record:
    return {
        "id": f"late-event-{n}", "account_id": account_id, "event_time": t,
        "audit_type": "Policy Updated", "category": "policy_logs", "user": "admin@demo.example",
        "event_info": f"late event {n}", "generated": False,
    }  # fmt: skip


def _attachment(account_id: int, t: float, n: int) -> Record:
    return {
        "account_id": account_id, "date": t, "sender": "news@outside.example",
        "recipient": "a@demo.example", "file_name": f"late{n}.pdf", "file_type": "application/pdf",
        "file_size": 2048, "sha256": f"{n:064x}", "md5": f"{n:032x}", "sha1": f"{n:040x}",
        "result": "safe", "action_triggered": "user release, none", "definition": "Late",
        "details": "Safe", "route": "inbound", "subject": f"late {n}",
        "message_id": f"<late{n}@outside.example>", "sender_ip": "192.0.2.1", "generated": False,
    }  # fmt: skip


def _impersonation(account_id: int, t: float, n: int) -> Record:
    return {
        "id": f"late-impersonation-{n}", "account_id": account_id, "event_time": t,
        "sender": "ceo@lookalike.example", "recipient": "a@demo.example", "subject": f"late {n}",
        "definition": "IP - 1 hit (Tag email)", "hits": 1, "identifiers": ["internal_user_name"],
        "action": "none", "posed_as": "Chief Executive <ceo@demo.example>",
        "tagged_external": True, "tagged_malicious": True, "sender_ip": "192.0.2.1",
        "route": "inbound", "message_id": f"<late{n}@lookalike.example>", "generated": False,
    }  # fmt: skip


@dataclass(frozen=True)
class Timed:
    """A paged list sorted by ``(time, seq)``, and how to add rows to the table behind it."""

    path: str
    item: Record
    scope: str
    table: sa.Table
    time: str
    descending: bool
    #: where the list's window starts on the first page (an existing row is put just inside)
    window_start: float
    row: Callable[[int, float, int], Record]
    ident: Callable[[Record], Hashable]
    records: str | None = None
    size: int = 5
    where: Callable[[sa.Table], sa.ColumnElement[bool]] | None = None


def _click_ident(r: Record) -> Hashable:
    return (r["messageId"], r["date"], r["url"], r["userEmailAddress"])


TIMED = {
    "get-logs newest first, default window": Timed(
        "/api/ttp/url/get-logs", {}, "ttp-logs:newest", click_logs, "date", True,
        T0 - 86400, _click, _click_ident, records="clickLogs", size=4,
    ),
    "get-logs oldest first, default window": Timed(
        "/api/ttp/url/get-logs", {"oldestFirst": True}, "ttp-logs:oldest", click_logs, "date",
        False, T0 - 86400, _click, _click_ident, records="clickLogs", size=4,
    ),
    "message-finder, default window": Timed(
        "/api/message-finder/search", {}, "message-finder", messages, "received", True,
        T0 - 30 * 86400, _message, lambda r: r["id"], records="trackedEmails", size=150,
    ),
    "hold list": Timed(
        "/api/gateway/get-hold-message-list", {"admin": True}, "hold-list", held_messages,
        "received", True, T0 - 10 * 86400, _held, lambda r: r["id"], size=3,
        where=lambda t: t.c.status == "held",
    ),
    "audit events": Timed(
        "/api/audit/get-audit-events",
        {"startDateTime": iso(T0 - 86400), "endDateTime": iso(T0 + 3600)}, "audit-events",
        audit_events, "event_time", True, T0 - 86400, _event, lambda r: r["id"], size=5,
    ),
    "attachment logs newest first, default window": Timed(
        "/api/ttp/attachment/get-logs", {}, "ttp-attachment-logs:newest", attachment_logs,
        "date", True, T0 - 86400, _attachment, lambda r: r["fileHash"],
        records="attachmentLogs", size=4,
    ),
    "attachment logs oldest first, default window": Timed(
        "/api/ttp/attachment/get-logs", {"oldestFirst": True}, "ttp-attachment-logs:oldest",
        attachment_logs, "date", False, T0 - 86400, _attachment, lambda r: r["fileHash"],
        records="attachmentLogs", size=4,
    ),
    "impersonation logs newest first, default window": Timed(
        "/api/ttp/impersonation/get-logs", {}, "ttp-impersonation-logs:newest",
        impersonation_logs, "event_time", True, T0 - 86400, _impersonation,
        lambda r: r["id"], records="impersonationLogs", size=4,
    ),
}  # fmt: skip


def _ordered(api: Api, case: Timed, account: Account) -> list[tuple[float, int]]:
    """The ``(time, seq)`` of the table's rows in the list's order (every row, no window)."""
    table = case.table
    keys = [table.c[case.time], table.c.seq]
    stmt = sa.select(*keys).where(table.c.account_id == account.id)
    if case.where is not None:
        stmt = stmt.where(case.where(table))
    order = [k.desc() if case.descending else k.asc() for k in keys]
    with api.emu.store.connect() as conn:
        return [(float(t), int(s)) for t, s in conn.execute(stmt.order_by(*order))]


def _insert(api: Api, case: Timed, account: Account, times: Sequence[float]) -> None:
    rows = [case.row(account.id, t, next(_serial)) for t in times]
    with api.emu.store.begin() as conn:
        conn.execute(case.table.insert(), rows)


@pytest.mark.parametrize("name", list(TIMED))
async def test_time_sorted_pages_stay_put_while_rows_arrive(
    api: Api, tenant: GenerateSummary, account: Account, name: str
) -> None:
    case = TIMED[name]
    # an existing row at the very start of the window: a window sliding with the clock would
    # drop it before the walk reaches it
    _insert(api, case, account, [case.window_start + 0.5])
    before = [
        case.ident(r)
        for r in await api.pages(case.path, case.item, page_size=500, records=case.records)
    ]
    assert len(before) > 3 * case.size

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        api.emu.clock.advance(60)  # time passes while the client pages
        bound = tuple(decode_token(token, case.scope)[1])
        ordered = _ordered(api, case, account)
        cut = ordered.index((float(bound[0]), int(bound[1]))) + 1
        seen, ahead = [t for t, _ in ordered[:cut]], [t for t, _ in ordered[cut:]]
        times = [
            api.emu.clock.now(),  # brand new: before the first page of a newest-first list
            seen[0], seen[len(seen) // 2],  # ties among the rows already listed
            bound[0],  # tied with the page boundary
        ]  # fmt: skip
        if len(ahead) > 1:
            times += [ahead[0], (ahead[0] + ahead[1]) / 2, ahead[-1]]  # among the rows to come
        times += [ahead[-1] - 1 if case.descending else ahead[-1] + 1]  # beyond the last
        _insert(api, case, account, times)

    walked = await walk(
        api, case.path, case.item, size=case.size, records=case.records, ident=case.ident,
        between=between,
    )  # fmt: skip
    assert_stable(before, walked)


async def test_hold_list_pages_stay_put_when_listed_messages_are_released(
    api: Api, tenant: GenerateSummary
) -> None:
    path, item = "/api/gateway/get-hold-message-list", {"admin": True}
    before = [r["id"] for r in await api.pages(path, item, page_size=500)]
    listed: list[str] = []

    def ident(record: Record) -> Hashable:
        identifier = str(record["id"])
        listed.append(identifier)
        return identifier

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        # the client acts on what it was shown: releasing those must not shift the next page
        await api.ok("/api/gateway/hold-release", [{"id": listed[-1]}, {"id": listed[-2]}])

    walked = await walk(api, path, item, size=3, records=None, ident=ident, between=between)
    assert_stable(before, walked)


# -- lists sorted by creation: managed URLs, groups, users ----------------------------------------


async def test_managed_url_pages_stay_put_while_urls_are_added_and_removed(api: Api) -> None:
    create, path = "/api/ttp/url/create-managed-url", "/api/ttp/url/get-all-managed-urls"
    await api.ok(
        create, [{"url": f"https://site{n}.example/", "action": "block"} for n in range(12)]
    )
    before = [r["id"] for r in await api.pages(path, {}, page_size=500)]
    listed: list[str] = []

    def ident(record: Record) -> Hashable:
        identifier = str(record["id"])
        listed.append(identifier)
        return identifier

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        n = next(_serial)
        await api.ok(create, [
            {"url": f"https://new{n}.example/", "action": "permit"},
            {"url": f"https://site{n}.example/", "action": "permit", "matchType": "domain"},
        ])  # fmt: skip
        await api.ok("/api/ttp/url/delete-managed-url", [{"id": listed[-1]}, {"id": listed[0]}])

    walked = await walk(api, path, {}, size=5, records=None, ident=ident, between=between)
    assert_stable(before, walked)


async def test_group_pages_stay_put_while_groups_arrive_and_go(
    api: Api, tenant: GenerateSummary, account: Account
) -> None:
    path = "/api/directory/find-groups"
    before = [f["id"] for f in (await api.ok(path, [{}], page_size=500))["data"][0]["folders"]]
    listed: list[str] = []

    def ident(folder: Record) -> Hashable:
        identifier = str(folder["id"])
        listed.append(identifier)
        return identifier

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        n = next(_serial)
        with api.emu.store.begin() as conn:  # a directory sync brings two groups
            conn.execute(groups.insert(), [
                {"id": f"synced-{n}-{k}", "account_id": account.id, "description": f"Synced {k}",
                 "source": "cloud", "parent_id": None, "created": api.emu.clock.now()}
                for k in range(2)
            ])  # fmt: skip
            conn.execute(
                groups.delete().where(groups.c.id == listed[pages - 1])
            )  # drops a seen one
        await api.ok("/api/directory/add-group-member",  # counts change, not the order
                     [{"id": before[-1], "emailAddress": f"new{n}@demo.example"}])  # fmt: skip

    walked = await walk(api, path, {}, size=2, records="folders", ident=ident, between=between)
    assert_stable(before, walked)


async def test_user_pages_stay_put_while_users_are_created(
    api: Api, tenant: GenerateSummary
) -> None:
    path = "/api/user/get-internal-users"
    before = [u["emailAddress"] for u in await api.pages(path, {}, page_size=500, records="users")]

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        n = next(_serial)
        await api.ok("/api/user/create-user", [
            {"emailAddress": f"hire{n}a@demo.example", "name": "Zed Early"},
            {"emailAddress": f"aaa{n}@demo.example", "name": "Aaron First"},
        ])  # fmt: skip

    walked = await walk(api, path, {}, size=4, records="users",
                        ident=lambda u: u["emailAddress"], between=between)  # fmt: skip
    assert_stable(before, walked)


def test_every_paged_function_has_a_test_here() -> None:
    covered = {case.path for case in TIMED.values()} | {
        "/api/ttp/url/get-all-managed-urls",
        "/api/directory/find-groups",
        "/api/user/get-internal-users",
    }
    from tests.functions.test_paging_queues_archive import PAGED_HERE

    covered |= PAGED_HERE
    from tests.functions.test_paging_appends_more import COVERED

    covered |= COVERED
    assert {spec.path for spec in FUNCTIONS if spec.paginated} == covered
