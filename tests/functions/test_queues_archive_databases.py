"""The queue and archive functions answer the same on a SQLite file and on PostgreSQL.

Their filters lean on the database: addresses are looked for in the JSON text of the recipients
and attachments, the hold summary groups and counts, the processing list pages by keyset. The
same generated tenant must give the same answers on both engines (PostgreSQL when
``MCAPI_TEST_POSTGRES_URL`` is set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorConfig
from mcapi.emulator._data import generate
from tests.functions.conftest import SEED, T0, Api, iso

pytestmark = pytest.mark.anyio


@pytest.fixture
def emu_on(shared_db_url: str) -> Iterator[Emulator]:
    emulator = Emulator(shared_db_url, kdf_n=2**10, config=EmulatorConfig(skew_reference="either"))
    emulator.clock.set(T0)
    yield emulator
    emulator.close()


@pytest.fixture
async def api_on(emu_on: Emulator) -> AsyncIterator[Api]:
    creds = emu_on.load_demo()
    account = emu_on.store.find_account(creds.account_code)
    assert account is not None
    generate(emu_on.store, account.id, seed=SEED, users=20, days=3, now=T0)
    transport = httpx.ASGITransport(app=cast(Any, emu_on.app))
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        yield Api(http, emu_on, creds)


async def test_every_view_agrees_with_the_tracked_messages(api_on: Api) -> None:
    api = api_on
    tracked = await api.pages("/api/message-finder/search", {}, page_size=500,
                              records="trackedEmails")  # fmt: skip
    person = tracked[0]["to"][0]["emailAddress"]
    inbox = await api.pages("/api/archive/get-message-list", {"mailbox": person}, page_size=9)
    assert [m["id"] for m in inbox] == [
        m["id"] for m in tracked if person in {t["emailAddress"] for t in m["to"]}
    ]
    query = (
        '<xmlquery><metadata page-size="500"><mailboxes>'
        f"<mailbox>{person}</mailbox></mailboxes></metadata>"
        '<muse><docs select="any"></docs></muse></xmlquery>'
    )
    body = await api.ok("/api/archive/search", [{"admin": True, "query": query}])
    found = body["data"][0]["items"]
    assert [i["id"] for i in found] == [
        m["id"] for m in tracked
        if m["attachments"] and (person in {t["emailAddress"] for t in m["to"]}
                                 or m["fromEnv"]["emailAddress"] == person)
    ]  # fmt: skip

    held = await api.pages("/api/gateway/get-hold-message-list", {"admin": True}, page_size=500)
    summary = (await api.ok("/api/gateway/get-hold-summary-list", []))["data"]
    assert sum(row["numberOfItems"] for row in summary) == len(held) > 0

    mark = T0 - T0 % 600 + 600
    api.emu.clock.set(mark)  # the next sample instant: the queue as it is now
    queued = await api.pages("/api/gateway/find-processing-messages", {}, page_size=2,
                             records="messages")  # fmt: skip
    sizes = await api.ok("/api/email/get-email-queues", [{"start": iso(mark), "end": iso(mark)}])
    record = sizes["data"][0]
    inbound = sum(m["routing"] == "inbound" for m in queued)
    assert record["inboundEmailQueue"] == [{"date": iso(mark), "count": inbound}]
    assert record["outboundEmailQueue"][0]["count"] == len(queued) - inbound
