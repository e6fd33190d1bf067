"""Per-user call quotas, as Mimecast applies them, with the exact ``X-RateLimit-*`` header values.

Theory of operation
-------------------
Mimecast gives each user a call quota; every reset interval adds at least one call back, and every
response says ``X-RateLimit-Limit`` (the quota), ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
(milliseconds until one call is added back). When the quota is spent the call is answered
429 0008 and the function does not run.

That is a token bucket: one bucket per (user key, bucket name) holding at most ``limit`` tokens,
one token added every ``reset_ms``, one token taken per call. A bucket is described by two integers:

* ``tokens`` - calls left;
* ``anchor`` - the instant (integer microseconds of the emulator clock) from which the next token
  accrues. It only matters while the bucket is not full; a full bucket does not accrue, so taking
  a token from a full bucket starts the refill period at that call.

Refill is lazy: on each call ``n = (now - anchor) // reset`` tokens are added and the anchor moves
forward by ``n`` whole periods, so the partial period already elapsed is never lost. The clock can
be set back (admin API): a ``now`` before the anchor moves the anchor back to ``now``, so the bucket
refills one period later on the new clock instead of at an instant the clock may not reach again.
Time is kept in integer microseconds so that header values are exact: ``Remaining`` is the tokens
left after this call, ``Reset`` is ``ceil((anchor + reset - now) / 1 ms)``, or 0 when the bucket
is full. A denied call takes nothing (the function is not executed, so it does not count against
the quota).

A function with its own quota has its own bucket: the caller passes the function path as the
bucket name with that function's limit and reset; every other function shares the bucket ``"*"``.

``now`` is always passed in (the emulator clock), never read here; the Redis limiter receives it as
a script argument for the same reason, so one emulator clock drives every replica.

The deterministic mode ("the 3rd call to this function gets 429 with reset R ms") is a fault rule
at the ``"quota"`` step (``FaultRule.forced_quota`` in :mod:`._faults`): the rate-limit step
consults it before the bucket, and a call it denies takes no token.
"""

from __future__ import annotations

import builtins
import itertools
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from mcapi.emulator._shared import AwaitedConnection

DEFAULT_BUCKET = "*"
"""The bucket shared by every function without a quota of its own."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one call against a quota, with the header values to send."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """The three ``X-RateLimit-*`` headers every response carries."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_ms),
        }

    def header_pairs(self) -> list[tuple[bytes, bytes]]:
        """The same headers as ASGI wants them (lower-case bytes), without a dict between."""
        return [
            (b"x-ratelimit-limit", b"%d" % self.limit),
            (b"x-ratelimit-remaining", b"%d" % self.remaining),
            (b"x-ratelimit-reset", b"%d" % self.reset_ms),
        ]


class RateLimiter(Protocol):
    """What the emulator's rate-limit step needs from a limiter."""

    def acquire(
        self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float
    ) -> Decision: ...

    def peek(self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float) -> Decision: ...

    def reset(self) -> None: ...


def _check_quota(limit: int, reset_ms: int) -> None:
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if reset_ms < 1:
        raise ValueError(f"reset_ms must be at least 1, got {reset_ms}")


def _to_us(now: float) -> int:
    return round(now * 1_000_000)


def _step(
    tokens: int, anchor: int, now_us: int, limit: int, reset_us: int, consume: bool
) -> tuple[int, int, bool, int]:
    """Refill, then take a token if ``consume`` and one is left.

    Returns the new ``(tokens, anchor)``, whether the call is allowed, and the reset header in ms.
    The Lua script in ``RedisRateLimiter`` is a line-by-line copy of this function.
    """
    if tokens >= limit:
        tokens, anchor = limit, now_us
    elif now_us < anchor:
        # The emulator clock was set back: accrue from now, else the bucket would stay empty
        # until the clock came round to the old anchor (a 429 whose reset never comes).
        anchor = now_us
    elif now_us > anchor:
        periods = (now_us - anchor) // reset_us
        if periods:
            tokens += periods
            if tokens >= limit:
                tokens, anchor = limit, now_us
            else:
                anchor += periods * reset_us
    allowed = tokens >= 1
    if allowed and consume:
        tokens -= 1
    reset_ms = 0
    if tokens < limit:
        # ceil division (the anchor is never ahead of now here, so this is at most reset_us).
        reset_ms = min(-(-(anchor + reset_us - now_us) // 1000), reset_us // 1000)
    return tokens, anchor, allowed, reset_ms


class _Bucket:
    __slots__ = ("anchor", "full_at", "tokens")

    def __init__(self, tokens: int, anchor: int) -> None:
        self.tokens = tokens
        self.anchor = anchor
        #: The instant the bucket is full again (it then reads as a missing one).
        self.full_at = anchor


class MemoryRateLimiter:
    """Token buckets in this process: one lock, one dict lookup and a few integer operations.

    Every distinct caller (a user, an address before login) makes a bucket, so buckets are swept:
    when their number doubles since the last sweep, those full again by now are dropped (a missing
    bucket reads as full: nothing changes for the caller). With the emulator clock frozen nothing
    fills up, so beyond ``max_buckets`` the oldest buckets are dropped as well: those callers get
    a full quota back early, which is the lenient side to err on.
    """

    def __init__(self, max_buckets: int = 100_000) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._max = max_buckets
        self._sweep_at = min(1024, max_buckets)

    def __len__(self) -> int:
        return len(self._buckets)

    def acquire(self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float) -> Decision:
        """Take one call from the bucket if one is left; the decision carries the headers."""
        _check_quota(limit, reset_ms)
        now_us = _to_us(now)
        reset_us = reset_ms * 1000
        with self._lock:
            state = self._buckets.get((key, bucket))
            if state is None:
                if len(self._buckets) >= self._sweep_at:
                    self._sweep(now_us)
                state = self._buckets[(key, bucket)] = _Bucket(limit, now_us)
            tokens, anchor, allowed, reset = _step(
                state.tokens, state.anchor, now_us, limit, reset_us, True
            )
            state.tokens, state.anchor = tokens, anchor
            state.full_at = anchor + (limit - tokens) * reset_us
        return Decision(allowed, limit, tokens, reset)

    def _sweep(self, now_us: int) -> None:
        """Drop the buckets full by ``now_us``; past ``max_buckets``, the oldest tenth as well (a
        tenth, so that the next sweep is as many new callers away)."""
        buckets = self._buckets
        for name in [name for name, state in buckets.items() if state.full_at <= now_us]:
            del buckets[name]
        excess = len(buckets) - (self._max - max(1, self._max // 10))
        if excess > 0:
            for name in list(itertools.islice(buckets, excess)):
                del buckets[name]
        self._sweep_at = min(max(1024, 2 * len(buckets)), self._max)

    def peek(self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float) -> Decision:
        """The headers the bucket would show now, without taking a call."""
        _check_quota(limit, reset_ms)
        now_us = _to_us(now)
        with self._lock:
            state = self._buckets.get((key, bucket))
            if state is None:
                return Decision(True, limit, limit, 0)
            tokens, _, allowed, reset = _step(
                state.tokens, state.anchor, now_us, limit, reset_ms * 1000, False
            )
        return Decision(allowed, limit, tokens, reset)

    def reset(self) -> None:
        """Every bucket full again."""
        with self._lock:
            self._buckets.clear()
            self._sweep_at = min(1024, self._max)


_LUA = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local reset_us = tonumber(ARGV[3])
local consume = ARGV[4] == '1'
local state = redis.call('HMGET', KEYS[1], 't', 'a')
local tokens = tonumber(state[1])
local anchor = tonumber(state[2])
if tokens == nil or anchor == nil then
  tokens = limit
  anchor = now
end
if tokens >= limit then
  tokens = limit
  anchor = now
elseif now < anchor then
  anchor = now
elseif now > anchor then
  local periods = math.floor((now - anchor) / reset_us)
  if periods > 0 then
    tokens = tokens + periods
    if tokens >= limit then
      tokens = limit
      anchor = now
    else
      anchor = anchor + periods * reset_us
    end
  end
end
local allowed = 0
if tokens >= 1 then
  allowed = 1
  if consume then
    tokens = tokens - 1
  end
end
local reset = 0
if tokens < limit then
  reset = math.min(math.ceil((anchor + reset_us - now) / 1000), math.floor(reset_us / 1000))
end
if consume then
  redis.call('HSET', KEYS[1], 't', tokens, 'a', string.format('%.0f', anchor))
  redis.call('PEXPIRE', KEYS[1], math.floor((limit - tokens) * reset_us / 1000) + tonumber(ARGV[5]))
end
return {allowed, tokens, reset}
"""


#: The same script after a replay check (``RedisRateLimiter.acquire_first_use``): ``KEYS[2]`` is
#: the request id's replay key, set unless it exists; when it does, nothing else happens.
_LUA_FIRST_USE = (
    "if not redis.call('SET', KEYS[2], ARGV[6], 'NX', 'PX', ARGV[7]) then\n"
    "  return {-1, 0, 0}\n"
    "end\n" + _LUA
)


class RedisRateLimiter:
    """Token buckets in Redis, shared by every emulator process that points at the same server.

    Each call is one atomic Lua script (the same arithmetic as ``MemoryRateLimiter``), with the
    emulator clock's ``now`` passed in. A bucket's key expires once it would be full again plus
    ``idle_ms`` (a day by default, generous because the emulator clock may be frozen while Redis'
    own clock runs); an expired bucket reads as full, which is what it would be by then anyway.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "mcapi:ratelimit:",
        idle_ms: int = 86_400_000,
        awaited: AwaitedConnection | None = None,
    ) -> None:
        self._client: redis.Redis = redis.Redis.from_url(redis_url)
        self._prefix = prefix
        self._idle_ms = idle_ms
        self._script = self._client.register_script(_LUA)
        self._first_use_script = self._client.register_script(_LUA_FIRST_USE)
        #: The connection the quota step's script is awaited on (see ``RedisJournal``).
        self._awaited = awaited or AwaitedConnection(self._client)

    def _call(
        self, key: str, bucket: str, limit: int, reset_ms: int, now: float, consume: bool
    ) -> Decision:
        _check_quota(limit, reset_ms)
        args = [_to_us(now), limit, reset_ms * 1000, 1 if consume else 0, self._idle_ms]
        result: Any = self._script(keys=[f"{self._prefix}{key}|{bucket}"], args=args)
        allowed, remaining, reset = (int(v) for v in result)
        return Decision(bool(allowed), limit, remaining, reset)

    def acquire(self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float) -> Decision:
        """Take one call from the bucket if one is left; the decision carries the headers."""
        return self._call(key, bucket, limit, reset_ms, now, True)

    def peek(self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float) -> Decision:
        """The headers the bucket would show now, without taking a call."""
        return self._call(key, bucket, limit, reset_ms, now, False)

    def acquire_first_use(
        self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float,
        replay_key: str, seen_at: float, window_ms: int,
    ) -> Decision | None:  # fmt: skip
        """The replay check and :meth:`acquire` in one atomic script (one round trip): ``None``
        when ``replay_key`` is already set (a replay: no token taken), else the decision, the key
        now set to ``seen_at`` for ``window_ms``."""
        keys, args = self._first_use_call(
            key, bucket, limit, reset_ms, now, replay_key, seen_at, window_ms
        )
        return self._first_use(self._first_use_script(keys=keys, args=args), limit)

    def _first_use_call(
        self, key: str, bucket: str, limit: int, reset_ms: int, now: float, replay_key: str,
        seen_at: float, window_ms: int,
    ) -> tuple[list[str], list[int | str]]:  # fmt: skip
        """The first-use script's keys and arguments (the quota checked first)."""
        _check_quota(limit, reset_ms)
        args: list[int | str] = [
            _to_us(now),
            limit,
            reset_ms * 1000,
            1,
            self._idle_ms,
            str(seen_at),
            window_ms,
        ]
        return [f"{self._prefix}{key}|{bucket}", replay_key], args

    async def acquire_first_use_async(
        self, key: str, bucket: str, *, limit: int, reset_ms: int, now: float,
        replay_key: str, seen_at: float, window_ms: int,
    ) -> Decision | None:  # fmt: skip
        """:meth:`acquire_first_use` awaited on the running event loop (``AwaitedConnection``)."""
        keys, args = self._first_use_call(
            key, bucket, limit, reset_ms, now, replay_key, seen_at, window_ms
        )
        result = await self._awaited.run_script(_LUA_FIRST_USE, keys, args)
        return self._first_use(result, limit)

    @staticmethod
    def _first_use(result: Any, limit: int) -> Decision | None:
        allowed, remaining, reset = (int(v) for v in result)
        if allowed < 0:
            return None
        return Decision(bool(allowed), limit, remaining, reset)

    def reset(self) -> None:
        """Every bucket under this limiter's prefix full again."""
        batch: builtins.list[Any] = []
        for name in self._client.scan_iter(match=f"{self._prefix}*", count=500):
            batch.append(name)
            if len(batch) >= 500:
                self._client.delete(*batch)
                batch.clear()
        if batch:
            self._client.delete(*batch)

    def close(self) -> None:
        """Release the connection pools."""
        self._awaited.close()
        self._client.close()
