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

import asyncio
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
        self._awaited = AwaitedConnection(self._client)

    async def begin(self) -> contextvars.Token[_Pinned | None]:
        """Read the keys and pin them to the current context; pass the token to :meth:`end`."""
        epochs = [owner.epoch for owner in self._owners]
        try:
            values = await self._awaited.execute(*(("GET", o.pinned_key) for o in self._owners))
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
        self._awaited.close()
        self._client.close()


class AwaitedConnection:
    """A redis-py connection of its own whose replies are awaited on the running event loop, so
    that the loop answers other calls while Redis works: a caller's commands go out at once
    (several callers' commands pipeline on the one connection) and each caller reads its replies
    in turn, when the socket has them. Should the connection fail, or a caller be cancelled before
    it read its replies, the connection is dropped: the callers behind it get ``ConnectionError``
    and the next caller connects again. Closing needs no event loop."""

    def __init__(self, client: redis.Redis) -> None:
        self._conn: Any = client.connection_pool.make_connection()
        #: The turn of the last caller to send (a future done once it has read its replies).
        self._last: asyncio.Future[None] | None = None
        #: Moved on each time the connection is dropped.
        self._generation = 0

    async def execute(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send ``commands`` and return their replies, raising the first error reply."""
        import redis

        conn = self._conn
        loop = asyncio.get_running_loop()
        conn.send_packed_command(conn.pack_commands(commands), check_health=False)
        generation = self._generation
        previous, turn = self._last, loop.create_future()
        self._last = turn
        replies: list[Any] = []
        try:
            if previous is not None:
                await previous
            for _ in commands:
                while True:
                    if generation != self._generation:
                        raise redis.ConnectionError("the connection to Redis was dropped")
                    if conn.can_read(timeout=0):
                        break
                    await self._readable(loop)
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            self._drop()
            raise
        finally:
            turn.set_result(None)
            if self._last is turn:
                self._last = None
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies

    async def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._conn._sock.fileno()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    def _drop(self) -> None:
        self._generation += 1
        self._conn.disconnect()

    def close(self) -> None:
        self._drop()
