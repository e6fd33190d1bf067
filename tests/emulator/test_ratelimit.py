"""The rate limiter: exact X-RateLimit-* values, refill, per-function buckets, races, forced 429
(fault rules at the rate-limit step)."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mcapi.emulator._fault_engine import FaultEngine
from mcapi.emulator._faults import FaultRule
from mcapi.emulator._ratelimit import (
    DEFAULT_BUCKET,
    Decision,
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
)
from tests.emulator.conftest import Api, code_of

T0 = 1_700_000_000.0
USER = "alice@example.com"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    with redis_limiter() as shared:
        yield shared


@contextlib.contextmanager
def redis_limiter(**options: Any) -> Iterator[RedisRateLimiter]:
    """A Redis limiter under a prefix of its own, emptied afterwards (skips without Redis)."""
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip(
            "Redis limiter not tested: set MCAPI_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    limiter = RedisRateLimiter(url, prefix=f"mcapi-test:{uuid.uuid4().hex}:", **options)
    try:
        yield limiter
    finally:
        limiter.reset()
        limiter.close()


def take(limiter: RateLimiter, now: float, *, bucket: str = DEFAULT_BUCKET, limit: int = 3,
         reset_ms: int = 1000, key: str = USER) -> Decision:  # fmt: skip
    return limiter.acquire(key, bucket, limit=limit, reset_ms=reset_ms, now=now)


def test_headers_count_down_then_deny_without_consuming(limiter: RateLimiter) -> None:
    decisions = [take(limiter, T0) for _ in range(5)]
    assert decisions == [
        Decision(True, 3, 2, 1000),
        Decision(True, 3, 1, 1000),
        Decision(True, 3, 0, 1000),
        Decision(False, 3, 0, 1000),
        Decision(False, 3, 0, 1000),
    ]
    assert decisions[0].headers() == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": "1000",
    }


def test_reset_header_counts_down_and_rounds_up(limiter: RateLimiter) -> None:
    take(limiter, T0)
    assert take(limiter, T0 + 0.2505) == Decision(True, 3, 1, 750)  # 749.5 ms rounds up
    assert take(limiter, T0 + 0.999) == Decision(True, 3, 0, 1)
    assert take(limiter, T0 + 0.9995) == Decision(False, 3, 0, 1)


def test_full_bucket_reports_zero_reset(limiter: RateLimiter) -> None:
    assert limiter.peek(USER, DEFAULT_BUCKET, limit=3, reset_ms=1000, now=T0) == Decision(
        True, 3, 3, 0
    )
    take(limiter, T0)
    peeked = limiter.peek(USER, DEFAULT_BUCKET, limit=3, reset_ms=1000, now=T0 + 1)
    assert peeked == Decision(True, 3, 3, 0)


def test_peek_does_not_consume(limiter: RateLimiter) -> None:
    take(limiter, T0)
    for _ in range(3):
        peeked = limiter.peek(USER, DEFAULT_BUCKET, limit=3, reset_ms=1000, now=T0 + 0.4)
        assert peeked == Decision(True, 3, 2, 600)
    assert take(limiter, T0 + 0.4) == Decision(True, 3, 1, 600)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_refill_adds_one_call_per_reset_interval(limiter: RateLimiter, k: int) -> None:
    for _ in range(3):
        take(limiter, T0)
    assert not take(limiter, T0).allowed
    # k intervals later, k calls are back (the take below uses one of them)
    assert take(limiter, T0 + k) == Decision(True, 3, k - 1, 1000)


def test_partial_interval_is_not_lost_on_refill(limiter: RateLimiter) -> None:
    for _ in range(3):
        take(limiter, T0)
    # 1.5 intervals: one call back, and the next is due 500 ms later, not 1000
    assert take(limiter, T0 + 1.5) == Decision(True, 3, 0, 500)
    assert take(limiter, T0 + 2.0) == Decision(True, 3, 0, 1000)


def test_clock_moved_backwards_reanchors_the_bucket(limiter: RateLimiter) -> None:
    # Spent a day ahead, then the emulator clock is set back a day: the bucket must refill from
    # the new "now", not stay empty until the old anchor comes round again.
    later = T0 + 86_400
    for _ in range(3):
        take(limiter, later)
    assert take(limiter, T0) == Decision(False, 3, 0, 1000)
    assert take(limiter, T0 + 1) == Decision(True, 3, 0, 1000)
    assert take(limiter, T0 + 3) == Decision(True, 3, 1, 1000)


def test_capacity_caps_refill(limiter: RateLimiter) -> None:
    take(limiter, T0)
    # a day of idleness still gives back only `limit` calls
    decisions = [take(limiter, T0 + 86_400) for _ in range(4)]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert [d.allowed for d in decisions] == [True, True, True, False]


def test_per_function_override_is_independent_of_default(limiter: RateLimiter) -> None:
    siem = "/api/audit/get-siem-logs"
    for _ in range(3):
        take(limiter, T0)
    assert not take(limiter, T0).allowed
    assert take(limiter, T0, bucket=siem, limit=5, reset_ms=60_000) == Decision(True, 5, 4, 60_000)
    assert take(limiter, T0 + 1, bucket=siem, limit=5, reset_ms=60_000) == Decision(
        True, 5, 3, 59_000
    )
    # spending the override leaves the default bucket's refill alone
    assert take(limiter, T0 + 1) == Decision(True, 3, 0, 1000)


def test_users_have_separate_quotas(limiter: RateLimiter) -> None:
    for _ in range(3):
        take(limiter, T0)
    assert not take(limiter, T0).allowed
    assert take(limiter, T0, key="bob@example.com") == Decision(True, 3, 2, 1000)


def test_reset_fills_every_bucket(limiter: RateLimiter) -> None:
    for _ in range(3):
        take(limiter, T0)
    limiter.reset()
    assert take(limiter, T0) == Decision(True, 3, 2, 1000)


def test_limit_lowered_clamps_the_bucket(limiter: RateLimiter) -> None:
    take(limiter, T0, limit=10)
    assert take(limiter, T0, limit=2) == Decision(True, 2, 1, 1000)


def test_invalid_quota_is_refused(limiter: RateLimiter) -> None:
    with pytest.raises(ValueError, match="limit"):
        take(limiter, T0, limit=0)
    with pytest.raises(ValueError, match="reset_ms"):
        take(limiter, T0, reset_ms=0)


def test_racing_threads_get_exactly_the_quota(limiter: RateLimiter) -> None:
    start = threading.Barrier(100)
    results: list[Decision] = []
    lock = threading.Lock()

    def call() -> None:
        start.wait(timeout=10)
        decision = take(limiter, T0, limit=10, reset_ms=60_000)
        with lock:
            results.append(decision)

    threads = [threading.Thread(target=call) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 100
    allowed = [d for d in results if d.allowed]
    assert len(allowed) == 10
    assert sorted(d.remaining for d in allowed) == list(range(10))


# ---- forced quotas: fault rules at the rate-limit step ------------------------------------------

SIEM = "/api/audit/get-siem-logs"
ACCOUNT = "/api/account/get-account"


def test_forced_nth_call_is_denied_once() -> None:
    engine = FaultEngine()
    engine.add(FaultRule.forced_quota(SIEM, call_number=3, reset_ms=2500))
    fired = [engine.match(SIEM, USER, at="quota") is not None for _ in range(5)]
    assert fired == [False, False, True, False, False]


def test_forced_rule_for_one_user_counts_only_that_user() -> None:
    engine = FaultEngine()
    engine.add(FaultRule.forced_quota(SIEM, call_number=2, reset_ms=100, user="Alice@Example.com"))
    assert engine.match(SIEM, "bob@example.com", at="quota") is None
    assert engine.match(SIEM, "bob@example.com", at="quota") is None
    assert engine.match(SIEM, USER, at="quota") is None
    assert engine.match("/api/account/get-account", USER, at="quota") is None
    rule = engine.match(SIEM, USER, at="quota")
    assert rule is not None and rule.effect.reset_ms == 100


def test_forced_rule_is_only_consulted_at_the_quota_step() -> None:
    engine = FaultEngine()
    rule_id = engine.add(FaultRule.forced_quota("/api/audit/*", call_number=1, reset_ms=10))
    assert engine.match(SIEM, USER) is None  # the fault step neither counts nor fires it
    assert engine.match(SIEM, None, at="quota") is not None
    [listed] = engine.state()
    assert (listed["id"], listed["at"], listed["calls"], listed["applied"]) == (
        rule_id,
        "quota",
        1,
        1,
    )
    engine.remove(rule_id)
    assert engine.list() == []
    assert engine.match(SIEM, None, at="quota") is None


def test_forced_rule_json_round_trip_and_validation() -> None:
    rule = FaultRule.from_dict(
        {
            "at": "quota",
            "match": {"path": SIEM, "call_number": 3},
            "effect": {"status": 429, "sub_code": "0008", "reset_ms": 2000},
        }
    )
    assert rule == FaultRule.forced_quota(SIEM, call_number=3, reset_ms=2000)
    assert FaultRule.from_dict(rule.to_dict()) == rule
    with pytest.raises(ValueError, match="call_number: must be at least 1"):
        FaultRule.forced_quota(SIEM, call_number=0, reset_ms=1)
    quota = {"at": "quota", "match": {"path": SIEM}}
    with pytest.raises(ValueError, match=r"effect\.reset_ms: required"):
        FaultRule.from_dict({**quota, "effect": {"status": 429}})
    with pytest.raises(ValueError, match=r"effect\.status"):
        FaultRule.from_dict({**quota, "effect": {"status": 500, "sub_code": "0006"}})
    with pytest.raises(ValueError, match=r"effect\.latency_ms"):
        FaultRule.from_dict({**quota, "effect": {"status": 429, "reset_ms": 5, "latency_ms": 9}})
    with pytest.raises(ValueError, match="at: must be one of fault, quota"):
        FaultRule.from_dict({**quota, "at": "later", "effect": {"status": 429}})


@pytest.mark.anyio
async def test_forced_quota_answers_as_a_spent_quota_and_takes_no_token(api: Api) -> None:
    policy = {"quota_limit": 3, "quota_reset_ms": 1000}
    await api.admin("POST", "/accounts/CUSA12345/policy", policy)
    api.emu.clock.freeze()
    api.emu.faults.add(FaultRule.forced_quota(ACCOUNT, call_number=2, reset_ms=700))
    answers = [await api.call(ACCOUNT) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 429, 200]
    denied = answers[1]
    assert code_of(denied) == "429 0008 err_xdk_rate_limit_exceeded"
    limits = [
        tuple(r.headers[f"x-ratelimit-{h}"] for h in ("limit", "remaining", "reset"))
        for r in answers
    ]
    # the account's limit, 0 left, the rule's reset; the denial took no token from the bucket
    assert limits == [("3", "2", "1000"), ("3", "0", "700"), ("3", "1", "1000")]
    [entry] = [e for e in api.emu.journal.entries() if e.status == 429]
    assert (entry.check, entry.sub_code, entry.fault) == ("quota", "0008", "f1")
    assert entry.reason.startswith("forced quota rule f1:")


def test_buckets_full_again_are_forgotten() -> None:
    # Each caller (one per X-Forwarded-For address, say) spends one call; a second later its bucket
    # is full again and carries nothing: the limiter must not keep one per address ever seen.
    limiter = MemoryRateLimiter()
    for i in range(20_000):
        take(limiter, T0 + i, key=f"ip:198.51.{i // 256}.{i % 256}")
    assert len(limiter) <= 2048


def test_frozen_clock_still_bounds_the_buckets_without_losing_recent_ones() -> None:
    limiter = MemoryRateLimiter(max_buckets=1000)
    for _ in range(3):
        take(limiter, T0)
    for i in range(20_000):
        take(limiter, T0, key=f"ip:{i}")
    assert len(limiter) <= 1000
    # Dropping the oldest buckets gives those callers their quota back (the lenient side), while
    # the newest keep theirs.
    assert take(limiter, T0) == Decision(True, 3, 2, 1000)
    assert take(limiter, T0, key="ip:19999") == Decision(True, 3, 1, 1000)


def test_a_spent_bucket_survives_sweeps() -> None:
    limiter = MemoryRateLimiter()
    for _ in range(3):
        take(limiter, T0)
    for i in range(5000):
        take(limiter, T0 + 0.5, key=f"ip:{i}")
    assert not take(limiter, T0 + 0.5).allowed


def test_redis_buckets_expire_once_idle() -> None:
    """A Redis bucket outlives the time it takes to refill by ``idle_ms`` only: the keys of
    callers that went away (one per address, say) do not pile up."""
    with redis_limiter(idle_ms=5_000) as limiter:
        take(limiter, T0, limit=3, reset_ms=1000)
        client = limiter._client
        [key] = list(client.scan_iter(match=f"{limiter._prefix}*"))
        # one token to win back (1 s), then 5 s idle
        assert 5_000 < client.pttl(key) <= 6_000
