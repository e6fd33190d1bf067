"""The delivery queue and the mailbox list keep their pages while mail comes and goes.

The pattern of ``test_paging_appends``: between two pages new rows arrive at every position of
the sort order (before the first page, tied with rows already listed, tied with the page
boundary, among the rows to come, beyond the last), listed rows go away (a queued message is
delivered), and the clock moves on. Every row that existed when the walk started is listed once,
in order.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from mcapi.emulator._data import GenerateSummary, messages, processing_messages
from mcapi.emulator._store import Account
from mcapi.emulator.functions._paging import decode_token
from tests.functions.conftest import Api
from tests.functions.test_paging_appends import assert_stable, walk

pytestmark = pytest.mark.anyio

#: The paged functions whose walks are tested here (test_paging_appends checks that every paged
#: function is tested in one of the two files).
PAGED_HERE = {
    "/api/gateway/find-processing-messages",
    "/api/archive/get-message-list",
    "/api/archive/search",
}
_serial = itertools.count(1)


def _queued(account_id: int, t: float, n: int) -> dict[str, Any]:
    return {
        "id": f"late-queued-{n}", "account_id": account_id, "created": t,
        "sender": "news@outside.example", "sender_name": "News", "recipient": "a@demo.example",
        "subject": f"late {n}", "route": "inbound", "size": 2048, "has_attachments": False,
        "remote_ip": "192.0.2.1", "attempts": 1, "next_attempt": t + 900, "info": "queued",
        "priority": "normal", "left_at": None, "generated": False,
    }  # fmt: skip


def _archived(account_id: int, mailbox: str, t: float, n: int) -> dict[str, Any]:
    return {
        "id": f"late-archived-{n}", "account_id": account_id, "received": t,
        "sender": "news@outside.example", "sender_name": "News", "recipients": [mailbox],
        "subject": f"late {n}", "route": "inbound", "status": "delivered", "info": "",
        "size": 2048, "sender_ip": "192.0.2.1", "spam_score": 0, "attachments": [],
        "message_id": f"<late{n}@outside.example>", "generated": False,
    }  # fmt: skip


def _times(ordered: Sequence[tuple[float, int]], bound: Sequence[Any], now: float,
           descending: bool) -> list[float]:  # fmt: skip
    """Times at every position of the order relative to the page boundary ``bound``."""
    cut = ordered.index((float(bound[0]), int(bound[1]))) + 1
    seen, ahead = [t for t, _ in ordered[:cut]], [t for t, _ in ordered[cut:]]
    times = [now, seen[0], seen[len(seen) // 2], float(bound[0])]
    if len(ahead) > 1:
        times += [ahead[0], (ahead[0] + ahead[1]) / 2, ahead[-1]]
    return [*times, ahead[-1] - 1 if descending else ahead[-1] + 1]


@pytest.mark.parametrize("order", ["descending", "ascending"])
async def test_processing_pages_stay_put_while_the_queue_moves(
    api: Api, tenant: GenerateSummary, account: Account, order: str
) -> None:
    path, item = "/api/gateway/find-processing-messages", {"sortOrder": order}
    descending = order == "descending"
    scope = "processing:" + ("newest" if descending else "oldest")
    t = processing_messages.c
    now = api.emu.clock.now()
    with api.emu.store.begin() as conn:  # enough queued messages for several pages
        rows = [_queued(account.id, now - 60 * k - 0.5, next(_serial)) for k in range(12)]
        conn.execute(processing_messages.insert(), rows)
    before = [r["id"] for r in await api.pages(path, item, page_size=500, records="messages")]
    assert len(before) > 12
    listed: list[str] = []

    def ident(record: dict[str, Any]) -> Hashable:
        listed.append(str(record["id"]))
        return listed[-1]

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        api.emu.clock.advance(60)
        bound = decode_token(token, scope)[1]
        keys = [t.created, t.seq]
        stmt = sa.select(*keys).where(t.account_id == account.id, t.left_at.is_(None))
        with api.emu.store.begin() as conn:
            ordered = [
                (float(c), int(s))
                for c, s in conn.execute(
                    stmt.order_by(*(k.desc() if descending else k.asc() for k in keys))
                )
            ]
            times = _times(ordered, bound, api.emu.clock.now(), descending)
            conn.execute(processing_messages.insert(),
                         [_queued(account.id, when, next(_serial)) for when in times])  # fmt: skip
            # a message already listed is delivered and leaves the queue
            conn.execute(processing_messages.update().where(t.id == listed[-1])
                         .values(left_at=api.emu.clock.now()))  # fmt: skip

    walked = await walk(api, path, item, size=4, records="messages", ident=ident, between=between)
    assert_stable(before, walked)


SEARCH_QUERY = (
    '<xmlquery><metadata query-type="emailarchive" page-size="25">{mailboxes}</metadata>'
    '<muse><date select="last_year"/></muse></xmlquery>'
)


@pytest.mark.parametrize("path", ["/api/archive/get-message-list", "/api/archive/search"])
async def test_mailbox_pages_stay_put_while_mail_arrives(
    api: Api, tenant: GenerateSummary, account: Account, path: str
) -> None:
    finder = await api.pages("/api/message-finder/search", {}, page_size=500,
                             records="trackedEmails")  # fmt: skip
    mailbox = finder[0]["to"][0]["emailAddress"]
    listing = path.endswith("get-message-list")
    item: dict[str, Any] = (
        {"mailbox": mailbox}
        if listing
        else {"admin": True, "query": SEARCH_QUERY.format(
            mailboxes=f"<mailboxes><mailbox>{mailbox}</mailbox></mailboxes>")}
    )  # fmt: skip
    records = None if listing else "items"
    scope = "archive-list" if listing else "archive-search"
    before = [r["id"] for r in await api.pages(path, item, page_size=500, records=records)]
    assert len(before) > 12
    t = messages.c

    async def between(pages: int, token: str) -> None:
        if pages > 3:
            return
        api.emu.clock.advance(60)
        bound = decode_token(token, scope)[1]
        keys = [t.received, t.seq]
        inbox = sa.cast(t.recipients, sa.Text).contains(f'"{mailbox}"')
        if not listing:  # a search of the mailbox also finds what it sent
            inbox = sa.or_(inbox, t.sender == mailbox)
        with api.emu.store.begin() as conn:
            ordered = [
                (float(r), int(s))
                for r, s in conn.execute(
                    sa.select(*keys).where(t.account_id == account.id, inbox)
                    .order_by(t.received.desc(), t.seq.desc())
                )
            ]  # fmt: skip
            times = _times(ordered, bound, api.emu.clock.now(), True)
            rows = [_archived(account.id, mailbox, when, next(_serial)) for when in times]
            conn.execute(messages.insert(), rows)

    walked = await walk(
        api, path, item, size=4, records=records, ident=lambda r: r["id"], between=between
    )
    assert_stable(before, walked)
