"""Pagination: every item exactly once, through 418 and 429 in the middle."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from mcapi._errors import FunctionFailed, RemoteProtocolError
from mcapi.client import AsyncClient, AttemptEvent, Client
from mcapi.client._paginate import next_token
from mcapi.client._result import Result

from .conftest import LOGIN, Harness

pytestmark = pytest.mark.anyio
#: Each harness test runs with API 1.0 and API 2.0 credentials (conftest: api_version).
BOTH_API_VERSIONS = True

AUDIT = "/api/audit/get-audit-events"


def window(harness: Harness) -> list[dict[str, Any]]:
    """The last two days of audit events, as a request item."""
    now = harness.emu.clock.now()

    def fmt(t: float) -> str:
        return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")

    return [{"startDateTime": fmt(now - 3 * 86400), "endDateTime": fmt(now + 86400)}]


@pytest.fixture
def events(harness: Harness) -> list[str]:
    """Fill the demo tenant with generated data; returns every audit event id, newest first."""
    harness.generate()
    ids = [e["id"] for e in harness.reference(AUDIT, window(harness))]
    assert len(ids) > 50
    return ids


async def test_paginate_yields_every_item_once_in_order(
    harness: Harness, events: list[str]
) -> None:
    items = await harness.client().items(AUDIT, window(harness), page_size=10)
    assert [i["id"] for i in items] == events
    assert len(harness.journal(AUDIT)) == -(-len(events) // 10)


async def test_pages_expose_each_result(harness: Harness, events: list[str]) -> None:
    pages = await harness.client().pages(AUDIT, window(harness), page_size=25)
    assert [len(p.data) for p in pages][:-1] == [25] * (len(pages) - 1)
    assert pages[-1].next_page_token is None
    assert all(p.request_id for p in pages)


@pytest.mark.parametrize(
    "effect",
    [{"status": 429, "reset_ms": 800}, {"status": 500, "sub_code": "0006"}, {"status": 500}],
    ids=["429", "500-0006", "500"],
)
async def test_a_failure_mid_way_repeats_the_same_page(
    harness: Harness, events: list[str], effect: dict[str, Any]
) -> None:
    harness.fault({"match": {"path": AUDIT, "call_number": 4}, "effect": effect})
    items = await harness.client().items(AUDIT, window(harness), page_size=10)
    assert [i["id"] for i in items] == events  # nothing repeated, nothing skipped
    assert [e.status for e in harness.journal(AUDIT)][3] == effect["status"]


async def test_sixteen_concurrent_paginations_meet_418_and_refresh_once(
    harness: Harness, events: list[str]
) -> None:
    """Sixteen paginations share one client. Each reads its first page, then the binding's TTL
    lapses while all sixteen hold a page token. Their next pages meet 418, exactly one refresh
    reaches the emulator, and every pagination still receives every item exactly once.

    Both clients use a loopback socket here: in-process, the ASGI app answers each request
    without suspending, so requests could never overlap at the server."""
    harness.policy(binding_ttl_seconds=300)
    data, size, n = window(harness), 10, 16
    lock, all_met, met_418 = threading.Lock(), threading.Event(), [0]

    def hook(event: AttemptEvent) -> None:
        harness.events.append(event)
        if event.path == AUDIT and event.outcome == "refresh":
            with lock:
                met_418[0] += 1
                if met_418[0] == n:
                    all_met.set()
            if not harness.is_async:
                # Threads: hold each one here until all sixteen have met the 418, so that
                # the refresh races with every other caller (a hook must not block a loop).
                all_met.wait(timeout=10)

    client = await harness.login(network=True, event_hook=hook)

    def expire() -> None:
        harness.emu.clock.advance(301)  # past the TTL, within the 15-minute signature skew

    if isinstance(client.raw, AsyncClient):
        raw_async = client.raw
        met, go = asyncio.Barrier(n + 1), asyncio.Barrier(n + 1)

        async def one() -> list[Any]:
            pages = raw_async.paginate(AUDIT, data, page_size=size)
            got = [await anext(pages) for _ in range(size)]
            await met.wait()
            await go.wait()
            return got + [item async for item in pages]

        async def conductor() -> None:
            await met.wait()
            expire()
            await go.wait()

        *runs, _ = await asyncio.gather(*(one() for _ in range(n)), conductor())
    else:
        raw_sync = client.raw
        assert isinstance(raw_sync, Client)
        met_t, go_t = threading.Barrier(n + 1), threading.Barrier(n + 1)

        def one_sync() -> list[Any]:
            pages = raw_sync.paginate(AUDIT, data, page_size=size)
            got = [next(pages) for _ in range(size)]
            met_t.wait()
            go_t.wait()
            return got + list(pages)

        def conductor_sync() -> None:
            met_t.wait()
            expire()
            go_t.wait()

        with ThreadPoolExecutor(n + 1) as pool:
            futures = [pool.submit(one_sync) for _ in range(n)]
            pool.submit(conductor_sync).result(timeout=60)
            runs = [f.result(timeout=60) for f in futures]

    for items in runs:
        assert [i["id"] for i in items] == events
    logins = harness.journal(LOGIN)
    assert [(e.status, e.sub_code) for e in logins] == [(200, None), (200, None)]  # one refresh
    answers = [(e.status, e.sub_code) for e in harness.journal(AUDIT)]
    expired = answers.count((418, "0001"))
    # Several paginations met the expiry concurrently (threads: all sixteen, by the hook)...
    assert expired == n if not harness.is_async else expired >= 2, answers
    assert harness.outcomes(AUDIT).count("refresh") == expired  # ...each retried its page
    assert answers.count((200, None)) == n * -(-len(events) // size)  # and no page was lost


async def test_a_page_with_failures_raises_after_its_items(harness: Harness) -> None:
    bad = [{"startDateTime": "2000-01-01T00:00:00+0000", "endDateTime": "2000-01-02T00:00:00+0000"}]
    with pytest.raises(FunctionFailed) as info:
        await harness.client().items(AUDIT, bad)
    failure = info.value.result.failures[0]
    assert failure.field == "startDateTime" and failure.key == bad[0]


def test_a_next_token_equal_to_the_one_sent_stops_instead_of_looping() -> None:
    from mcapi._envelope import Pagination

    page = Result(AUDIT, 200, (), (), pagination=Pagination(next="t1"))
    assert next_token(page, None) == "t1"
    with pytest.raises(RemoteProtocolError):
        next_token(page, "t1")
