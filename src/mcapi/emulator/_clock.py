"""The emulator's clock.

Everything in the emulator that depends on time (binding TTLs, lockouts, rate-limit refills, the
replay window, SIEM file production) reads this clock, never ``time`` directly, so that tests can
freeze it, set it, or move it forward instead of sleeping.

The clock is real by default. ``freeze()`` stops it at the current instant; ``set()`` puts it at a
given instant (and freezes it); ``advance()`` moves it forward by a duration, whether frozen or not
(a running clock keeps running from the new offset); ``resume()`` makes a frozen clock run again
from where it stands.

:class:`Clock` keeps its state (an offset from wall time, or the instant it is frozen at) in
memory: one process. :class:`RedisClock` keeps it under one Redis key of the deployment's
namespace and reads it at every reading of the time, so that every process of a shared deployment
sees the same instant, and a move made through one process applies on all of them at once (a call
reads it once, at its start, with the rest of what it needs from Redis: ``_shared``).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcapi.emulator._shared import pinned

if TYPE_CHECKING:
    import redis

#: (offset from wall time, frozen instant or None)
ClockState = tuple[float, float | None]
#: A change: (state, wall time) -> (new state, the value to return)
_Change = Callable[[ClockState, float], tuple[ClockState, float]]


def _freeze(state: ClockState, wall: float) -> tuple[ClockState, float]:
    offset, frozen = state
    at = frozen if frozen is not None else wall + offset
    return (offset, at), at


def _resume(state: ClockState, wall: float) -> tuple[ClockState, float]:
    offset, frozen = state
    if frozen is None:
        return state, wall + offset
    return (frozen - wall, None), frozen


def _advance(seconds: float) -> _Change:
    def change(state: ClockState, wall: float) -> tuple[ClockState, float]:
        offset, frozen = state
        if frozen is not None:
            return (offset, frozen + seconds), frozen + seconds
        return (offset + seconds, None), wall + offset + seconds

    return change


def _set(epoch_seconds: float) -> _Change:
    def change(state: ClockState, wall: float) -> tuple[ClockState, float]:
        return (state[0], epoch_seconds), epoch_seconds

    return change


def _reset(state: ClockState, wall: float) -> tuple[ClockState, float]:
    return (0.0, None), wall


class Clock:
    """A clock that runs in real time by default and can be frozen, set or advanced."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: ClockState = (0.0, None)

    # ---- where the state lives (overridden by RedisClock) ---------------------------------------
    def _load(self) -> ClockState:
        return self._state

    def _change(self, change: _Change) -> float:
        with self._lock:
            self._state, result = change(self._state, time.time())
            return result

    # ---- readings -------------------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        offset, frozen = self._load()
        if frozen is not None:
            return frozen
        return time.time() + offset

    @staticmethod
    def wall() -> float:
        """The machine's real time, whatever the emulator clock says: what integrations sign
        ``x-mc-date`` with (read here so that every reading of time stays in this module)."""
        return time.time()

    @property
    def frozen(self) -> bool:
        return self._load()[1] is not None

    # ---- moves ----------------------------------------------------------------------------------
    def freeze(self) -> float:
        """Stop the clock at the current instant; returns that instant."""
        return self._change(_freeze)

    def resume(self) -> None:
        """Let a frozen clock run again from where it stands."""
        self._change(_resume)

    def set(self, epoch_seconds: float) -> None:
        """Put the clock at ``epoch_seconds`` and freeze it there."""
        self._change(_set(float(epoch_seconds)))

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (never backwards); returns the new time."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        return self._change(_advance(float(seconds)))

    def reset(self) -> None:
        """Back to real time."""
        self._change(_reset)

    def state(self) -> dict[str, object]:
        offset, frozen = self._load()
        now = frozen if frozen is not None else time.time() + offset
        return {
            "now": now,
            "iso": datetime.fromtimestamp(now, tz=UTC).isoformat(),
            "frozen": frozen is not None,
        }


class RedisClock(Clock):
    """The clock of a shared deployment: its state is the Redis key ``key`` (absent = real time),
    read at every reading and changed in a WATCH/MULTI transaction, so that concurrent moves
    through several processes all apply."""

    def __init__(self, redis_url: str, *, key: str) -> None:
        import redis  # the emulator's extra; imported here so the base install can read this module

        super().__init__()
        self._client: redis.Redis = redis.Redis.from_url(redis_url)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._key = key
        #: The state last read: what the clock keeps showing while Redis does not answer (the
        #: calls then answer 500 0006 at their own Redis step, and readiness says Redis is down).
        self._last: ClockState = (0.0, None)
        #: Changes made through this object (a call's pinned reading taken before one is stale).
        self.epoch = 0

    @property
    def pinned_key(self) -> str:
        """The key a call of the deployment reads at its start (``mcapi.emulator._shared``)."""
        return self._key

    @staticmethod
    def _parse(raw: Any) -> ClockState:
        if raw is None:
            return 0.0, None
        data = json.loads(raw)
        frozen = data.get("frozen_at")
        return float(data.get("offset", 0.0)), (None if frozen is None else float(frozen))

    def _load(self) -> ClockState:
        found, raw = pinned(self)
        if found:
            return self._parse(raw)
        with contextlib.suppress(*self._errors):
            self._last = self._parse(self._client.get(self._key))
        return self._last

    def _change(self, change: _Change) -> float:
        result: list[float] = []

        def apply(pipe: Any) -> None:
            state = self._parse(pipe.get(self._key))
            (offset, frozen), value = change(state, time.time())
            pipe.multi()
            if offset == 0.0 and frozen is None:
                pipe.delete(self._key)
            else:
                pipe.set(self._key, json.dumps({"offset": offset, "frozen_at": frozen}))
            result[:] = [value]

        try:
            self._client.transaction(apply, self._key)
        finally:
            self.epoch += 1
        return result[0]

    def close(self) -> None:
        self._client.close()
