"""What a call of a shared deployment reads from Redis once, at its start.

Every call of a deployment shared through Redis needs the clock (``RedisClock``), the fault rules
(``RedisFaultEngine``) and the store's change counter (``StoreBase``, for its read cache). Read one
at a time they cost a round trip each, the rules twice (the quota step and the fault step).
:meth:`CallReads.begin` reads all three in one command (MGET) when the call starts and pins
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
import contextlib
import contextvars
import functools
import hashlib
from collections.abc import Callable, Sequence
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
    """One MGET per call: the keys of ``owners``, pinned to the call, awaited on ``awaited``."""

    def __init__(self, awaited: AwaitedConnection, owners: tuple[Pinnable, ...]) -> None:
        import redis

        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._owners = owners
        self._keys = tuple(owner.pinned_key for owner in owners)
        self._awaited = awaited

    async def begin(self) -> contextvars.Token[_Pinned | None]:
        """Read the keys and pin them to the current context; pass the token to :meth:`end`."""
        epochs = [owner.epoch for owner in self._owners]
        try:
            (values,) = await self._awaited.execute(("MGET", *self._keys))
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


class AwaitedConnection:
    """A redis-py connection of its own whose replies are awaited on the running event loop, so
    that the loop answers other calls while Redis works. Commands go out together, in one write,
    one turn of the loop after the first of them (those of every call that got to its round trip
    meanwhile), and each caller reads its replies in turn, when the socket has them. Should the
    connection fail, or a caller be cancelled before it read its replies, the connection is
    dropped: the callers behind it get ``ConnectionError`` and the next caller connects again.
    Closing needs no event loop."""

    def __init__(self, client: redis.Redis | str) -> None:
        if isinstance(client, str):
            import redis

            client = redis.Redis.from_url(client)
        from hiredis import pack_command  # the C packer of redis-py's "hiredis" extra

        self._pack: Callable[[tuple[Any, ...]], bytes] = pack_command
        self._pool: Any = client.connection_pool
        self._conn: Any = self._pool.make_connection()
        #: The event loop the connection serves (another loop's callers wait their replies on a
        #: connection of the pool instead, blocking, while this one is busy).
        self._loop: asyncio.AbstractEventLoop | None = None
        #: The turn of the last caller to send (a future done once it has read its replies).
        self._last: asyncio.Future[None] | None = None
        #: Moved on each time the connection is dropped.
        self._generation = 0
        #: Commands packed but not sent yet, and whether a send is scheduled.
        self._outbox: list[bytes] = []
        self._flushing = False
        #: The reader waiting for the socket: (loop, file descriptor, its future).
        self._waiting: tuple[asyncio.AbstractEventLoop, int, asyncio.Future[None]] | None = None

    async def execute(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send ``commands`` and return their replies, raising the first error reply."""
        import redis

        conn = self._conn
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            busy = self._last is not None or bool(self._outbox)
            if busy and self._loop is not None and not self._loop.is_closed():
                return self._execute_blocking(commands)  # in use by another loop
            if busy:  # left so by a loop closed meanwhile
                self._drop()
                self._last = None
            self._loop = loop
        self._outbox.extend(map(self._pack, commands))
        if not self._flushing:
            self._flushing = True
            # Sent a turn later than it could be: the calls the loop starts meanwhile add their
            # commands to the same write (a write costs Redis and this process far more than a
            # command in it; idle, a turn of the loop takes microseconds).
            loop.call_soon(loop.call_soon, self._flush)
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
                    if self._outbox and self._flushing:
                        await self._readable(loop)  # sent by then
                        continue
                    if conn.can_read(timeout=0):
                        break
                    await self._readable(loop)
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            if generation == self._generation:  # else dropped already, and maybe reconnected
                self._drop()
            raise
        finally:
            turn.set_result(None)
            if self._last is turn:
                self._last = None
        return _raise_first_error(replies)

    async def run_script(self, script: str, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run the Lua ``script`` and return its reply: sent by its digest (``EVALSHA``), by its
        text only when Redis has forgotten it (restarted, or its scripts flushed)."""
        import redis

        try:
            [reply] = await self.execute(("EVALSHA", _digest(script), len(keys), *keys, *args))
        except redis.exceptions.NoScriptError:
            [reply] = await self.execute(("EVAL", script, len(keys), *keys, *args))
        return reply

    def _execute_blocking(self, commands: tuple[tuple[Any, ...], ...]) -> list[Any]:
        import redis

        conn = self._pool.get_connection()
        try:
            conn.send_packed_command([b"".join(map(self._pack, commands))])
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
        finally:
            self._pool.release(conn)
        return _raise_first_error(replies)

    def _flush(self) -> None:
        self._flushing = False
        outbox, self._outbox = self._outbox, []
        try:  # one write for the turn (redis-py would make one per command)
            self._conn.send_packed_command([b"".join(outbox)], check_health=False)
        except Exception:  # the callers waiting for these replies see the connection dropped
            self._drop()
        else:
            self._wake()

    async def _readable(self, loop: asyncio.AbstractEventLoop) -> None:
        """Until the socket has data, the commands were sent, or the connection was dropped."""
        ready: asyncio.Future[None] = loop.create_future()
        if self._outbox and self._flushing:  # woken by the send
            self._waiting = (loop, -1, ready)
        else:
            fd = self._conn._sock.fileno()
            loop.add_reader(fd, self._wake)
            self._waiting = (loop, fd, ready)
        try:
            await ready
        finally:
            self._wake()

    def _wake(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            loop, fd, ready = waiting
            if fd >= 0:
                with contextlib.suppress(RuntimeError, OSError):  # a loop closed meanwhile
                    loop.remove_reader(fd)
            if not ready.done():
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    ready.set_result(None)

    def _drop(self) -> None:
        self._generation += 1
        self._outbox.clear()
        self._wake()
        self._conn.disconnect()

    def close(self) -> None:
        self._drop()


def _raise_first_error(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


@functools.cache
def _digest(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()
