"""What a call of a shared deployment reads from Redis once, at its start.

Every call of a deployment shared through Redis needs the clock (``RedisClock``), the fault rules
(``RedisFaultEngine``) and the store's change counter (``StoreBase``, for its read cache). Read one
at a time they cost a round trip each, the rules twice (the quota step and the fault step).
:meth:`CallReads.begin` reads all three in one pipelined round trip when the call starts and pins
what it read to the call (a context variable): the clock and the fault engine answer from the
pinned values for the rest of that call, and so does the store's read cache for the counter.
Reads outside a call (admin routes, the library's API) and the reads of a call made after a change
through this very process (each owner counts its own changes: its ``epoch``) go to Redis as
before, so a clock move or a fault rule made through any process applies to the next call every
process starts, and a process's own changes apply at once.

Should Redis not answer, nothing is pinned: each read then asks Redis itself and fails (or keeps
its last value) as it would without this round trip.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis

#: owner -> (its epoch when the call began, the raw value read)
_Pinned = dict[int, tuple[int, Any]]
_PINNED: contextvars.ContextVar[_Pinned | None] = contextvars.ContextVar(
    "mcapi_emulator_pinned", default=None
)


class Pinnable(Protocol):
    """A Redis-backed object whose one key a call reads at its start."""

    @property
    def pinned_key(self) -> str: ...

    @property
    def epoch(self) -> int:
        """Moved on by every change made through this object (so a pin taken before is stale)."""
        ...


def pinned(owner: Pinnable) -> tuple[bool, Any]:
    """``(True, raw value)`` when the current call read ``owner``'s key at its start and
    ``owner`` has not been changed through this process since; ``(False, None)`` otherwise."""
    values = _PINNED.get()
    if values is None:
        return False, None
    found = values.get(id(owner))
    if found is None or found[0] != owner.epoch:
        return False, None
    return True, found[1]


class CallReads:
    """One pipelined round trip per call: the keys of ``owners``, pinned to the call."""

    def __init__(self, redis_url: str, owners: tuple[Pinnable, ...]) -> None:
        import redis

        self._client: redis.Redis = redis.Redis.from_url(redis_url)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._owners = owners

    def begin(self) -> contextvars.Token[_Pinned | None]:
        """Read the keys and pin them to the current context; pass the token to :meth:`end`."""
        epochs = [owner.epoch for owner in self._owners]
        pipe = self._client.pipeline(transaction=False)
        for owner in self._owners:
            pipe.get(owner.pinned_key)
        try:
            values = pipe.execute()
        except self._errors:
            return _PINNED.set(None)
        return _PINNED.set(
            {
                id(owner): (epoch, value)
                for owner, epoch, value in zip(self._owners, epochs, values, strict=True)
            }
        )

    @staticmethod
    def end(token: contextvars.Token[_Pinned | None]) -> None:
        _PINNED.reset(token)

    def close(self) -> None:
        self._client.close()
