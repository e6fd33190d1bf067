"""The replay cache: an id is accepted once per window, in bounded memory whatever ids arrive."""

from __future__ import annotations

import os
import uuid

import pytest

from mcapi.emulator._replay import MAX_ID_CHARS, MemoryReplayCache, RedisReplayCache

T0 = 1_700_000_000.0


def test_an_id_is_accepted_once_within_the_window() -> None:
    cache = MemoryReplayCache()
    assert cache.first_use("REQ-1", now=T0, window=60)
    assert not cache.first_use("REQ-1", now=T0 + 59, window=60)
    assert cache.first_use("REQ-1", now=T0 + 61, window=60)


def test_a_long_id_costs_a_digest_not_its_length() -> None:
    cache = MemoryReplayCache()
    long_id = "R" * 1_000_000
    assert cache.first_use(long_id, now=T0, window=60)
    assert not cache.first_use(long_id, now=T0, window=60)
    assert cache.first_use(long_id[:-1] + "S", now=T0, window=60)  # another id, another digest
    assert cache.chars <= 2 * (MAX_ID_CHARS + 7)


def test_the_characters_held_are_bounded() -> None:
    cache = MemoryReplayCache(max_chars=10_000)
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    for request_id in ids:
        assert cache.first_use(request_id, now=T0, window=60)
    assert cache.chars <= 10_000
    assert len(cache) == 10_000 // 36
    assert not cache.first_use(ids[-1], now=T0, window=60)  # the newest are still remembered


def test_the_count_is_bounded() -> None:
    cache = MemoryReplayCache(max_entries=100)
    for i in range(1000):
        cache.first_use(f"id-{i}", now=T0, window=60)
    assert len(cache) == 100


@pytest.mark.redis
def test_redis_keys_of_long_ids_are_digests() -> None:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: the Redis replay cache was not tested")
    prefix = f"mcapi-test:{uuid.uuid4().hex}:replay:"
    cache = RedisReplayCache(url, prefix=prefix)
    try:
        long_id = "R" * 100_000
        assert cache.first_use(long_id, now=T0, window=60)
        assert not cache.first_use(long_id, now=T0, window=60)
        import redis

        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=prefix + "*"))
        client.close()
        assert len(keys) == 1 and len(keys[0]) < len(prefix) + 80
    finally:
        cache.reset()
