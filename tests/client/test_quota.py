"""429: waiting out the quota, and pacing so that a busy client rarely meets it."""

from __future__ import annotations

import asyncio

import pytest

from mcapi._errors import QuotaExceeded
from mcapi.client import RetryPolicy

from .conftest import ACCOUNT, Harness

pytestmark = pytest.mark.anyio
#: Each harness test runs with API 1.0 and API 2.0 credentials (conftest: api_version).
BOTH_API_VERSIONS = True


def answers(harness: Harness) -> list[int]:
    return [e.status for e in harness.journal(ACCOUNT)]


async def test_429_waits_x_ratelimit_reset_then_retries(harness: Harness) -> None:
    harness.policy(quota_limit=2, quota_reset_ms=1000)
    client = harness.client(pacing=False)
    for _ in range(2):
        await client.call(ACCOUNT)
    result = await client.call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert answers(harness) == [200, 200, 429, 200]
    assert harness.sleeps == [pytest.approx(1.0)]  # X-RateLimit-Reset: 1000 ms
    assert harness.outcomes()[-2:] == ["wait", "ok"]


async def test_the_wait_is_capped(harness: Harness) -> None:
    harness.fault(
        {"match": {"path": ACCOUNT, "times": 1}, "effect": {"status": 429, "reset_ms": 120_000}}
    )
    client = harness.client(retry=RetryPolicy(max_wait=2.0))  # pacing on: it must not stretch it
    assert (await client.call(ACCOUNT)).ok
    assert harness.sleeps == [2.0]


async def test_quota_waits_are_bounded(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT}, "effect": {"status": 429, "reset_ms": 500}})
    client = harness.client(retry=RetryPolicy(max_quota_waits=3))
    with pytest.raises(QuotaExceeded) as info:
        await client.call(ACCOUNT)
    assert info.value.attempts == 4 and info.value.reset_ms == 500
    assert answers(harness) == [429] * 4
    assert harness.sleeps == [0.5] * 3


async def test_pacing_spends_the_quota_without_meeting_429(harness: Harness) -> None:
    harness.policy(quota_limit=5, quota_reset_ms=1000)
    client = harness.client()
    for _ in range(12):
        await client.call(ACCOUNT)
    assert answers(harness) == [200] * 12
    assert sum(harness.sleeps) == pytest.approx(7.0, abs=0.05)  # 5 at once, then 1 per second


async def test_sixteen_concurrent_tasks_share_one_budget(harness: Harness) -> None:
    """16 tasks, 5 calls each, against a quota of 10 with one call back every 200 ms: the
    pacer admits calls one at a time once the quota is spent, so 429 stays rare."""
    harness.policy(quota_limit=10, quota_reset_ms=200)
    client = harness.client()

    async def task() -> None:
        for _ in range(5):
            await client.call(ACCOUNT)

    await asyncio.gather(*(task() for _ in range(16)))
    statuses = answers(harness)
    assert statuses.count(200) == 80
    assert statuses.count(429) <= 1, statuses


async def test_a_reserve_is_left_for_other_programs(harness: Harness) -> None:
    harness.policy(quota_limit=5, quota_reset_ms=1000)
    client = harness.client(pacing_reserve=2)
    for _ in range(4):
        result = await client.call(ACCOUNT)
    assert result.rate_limit is not None and result.rate_limit.remaining == 2
    assert sum(harness.sleeps) == pytest.approx(1.0, abs=0.05)


async def test_pacing_waits_at_most_max_wait_then_sends(harness: Harness) -> None:
    # One call per 10 s: after the first call the pacer would wait 10 s; max_wait caps it at 2 s,
    # and the call is then sent anyway (and meets the spent quota).
    harness.policy(quota_limit=1, quota_reset_ms=10_000)
    client = harness.client(retry=RetryPolicy(max_wait=2.0, max_quota_waits=0))
    await client.call(ACCOUNT)
    with pytest.raises(QuotaExceeded):
        await client.call(ACCOUNT)
    assert harness.sleeps == [2.0]
    assert answers(harness) == [200, 429]


async def test_quota_waits_do_not_spend_max_attempts(harness: Harness) -> None:
    """Three 429 waits, then a 500 0006 on a read: the 500 still gets its retry, since waits
    are bounded by max_quota_waits, not max_attempts."""
    effects = [{"status": 429, "reset_ms": 100}] * 3 + [{"status": 500, "sub_code": "0006"}]
    for number, effect in enumerate(effects, 1):
        harness.fault({"match": {"path": ACCOUNT, "call_number": number}, "effect": effect})
    client = harness.client(pacing=False, retry=RetryPolicy(max_attempts=2))
    result = await client.call(ACCOUNT)
    assert result.ok and result.attempts == 5
    assert answers(harness) == [429, 429, 429, 500, 200]
    assert harness.outcomes() == ["wait", "wait", "wait", "retry", "ok"]
