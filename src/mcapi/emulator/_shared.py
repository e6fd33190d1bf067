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
import collections
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


class _Waiter:
    """A caller's place in the reply stream: how many replies it expects, those read so far."""

    __slots__ = ("expected", "future", "replies")

    def __init__(self, expected: int, future: asyncio.Future[list[Any]]) -> None:
        self.expected = expected
        self.future = future
        self.replies: list[Any] = []


class AwaitedConnection:
    """A redis-py connection of its own whose replies are awaited on the running event loop, so
    that the loop answers other calls while Redis works. Commands go out together, in one write,
    one turn of the loop after the first of them (those of every call that got to its round trip
    meanwhile). Whenever the socket has data, every reply in it is read at once and handed to its
    caller (in the order the commands went out), so the callers a batch of replies answers all
    resume in the same turn of the loop, and their next commands go out together again. A caller
    cancelled meanwhile keeps its place: its replies are read and dropped. Should the connection
    fail, every caller waiting on it gets ``ConnectionError`` and the next caller connects again.
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
        #: Commands packed but not sent yet, and whether a send is scheduled.
        self._outbox: list[bytes] = []
        self._flushing = False
        #: The callers whose replies are to come, in the order their commands go out.
        self._pending: collections.deque[_Waiter] = collections.deque()
        #: The socket's file descriptor while the loop watches it for replies, else -1.
        self._watched = -1

    async def execute(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Send ``commands`` and return their replies, raising the first error reply."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            busy = bool(self._pending)
            if busy and self._loop is not None and not self._loop.is_closed():
                return self._execute_blocking(commands)  # in use by another loop
            if busy:  # left so by a loop closed meanwhile
                self._fail("its event loop was closed")
            self._loop = loop
        waiter = _Waiter(len(commands), loop.create_future())
        self._outbox.extend(map(self._pack, commands))
        self._pending.append(waiter)
        if not self._flushing:
            self._flushing = True
            # Sent a turn later than it could be: the calls the loop starts meanwhile add their
            # commands to the same write (a write costs Redis and this process far more than a
            # command in it; idle, a turn of the loop takes microseconds).
            loop.call_soon(loop.call_soon, self._flush)
        return _raise_first_error(await waiter.future)

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
        if not outbox:  # dropped meanwhile
            return
        try:  # one write for the turn (redis-py would make one per command)
            self._conn.send_packed_command([b"".join(outbox)], check_health=False)
        except Exception as exc:  # the callers waiting for these replies see the connection fail
            self._fail(str(exc))
            return
        if self._watched < 0 and self._loop is not None:
            fd = self._conn._sock.fileno()
            self._loop.add_reader(fd, self._read)
            self._watched = fd

    def _read(self) -> None:
        """Every reply the socket has, each to its caller (called when the socket is readable)."""
        import redis

        conn, pending = self._conn, self._pending
        try:
            while pending and conn.can_read(timeout=0):
                try:
                    reply = conn.read_response()
                except redis.ResponseError as exc:
                    reply = exc
                waiter = pending[0]
                waiter.replies.append(reply)
                if len(waiter.replies) == waiter.expected:
                    pending.popleft()
                    if not waiter.future.done():  # else cancelled: its replies are dropped
                        waiter.future.set_result(waiter.replies)
        except Exception as exc:  # the connection broke
            self._fail(str(exc))
            return
        if not pending:
            self._unwatch()

    def _unwatch(self) -> None:
        fd, self._watched = self._watched, -1
        if fd >= 0 and self._loop is not None:
            with contextlib.suppress(RuntimeError, OSError):  # a loop closed meanwhile
                self._loop.remove_reader(fd)

    def _fail(self, why: str) -> None:
        """Drop the connection: every caller waiting on it gets ``ConnectionError``."""
        import redis

        self._unwatch()
        self._outbox.clear()
        self._flushing = False  # a send scheduled meanwhile finds nothing; the next one is new
        pending, self._pending = self._pending, collections.deque()
        self._conn.disconnect()
        error = redis.ConnectionError(f"the connection to Redis was dropped ({why})")
        for waiter in pending:
            if not waiter.future.done():
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    waiter.future.set_exception(error)

    def close(self) -> None:
        self._fail("closed")


def _raise_first_error(replies: list[Any]) -> list[Any]:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    return replies


@functools.cache
def _digest(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()
