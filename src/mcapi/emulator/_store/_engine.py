"""Engine set-up and connection discipline shared by every part of the store.

Theory of operation, SQLite (the default):

- The driver runs in autocommit mode (``isolation_level=None``): a lone statement is its own
  atomic transaction and takes no lock longer than itself, so the hot path (one binding look-up
  per signed call) never waits on a reader's transaction and needs no BEGIN/COMMIT round.
- Multi-statement writes go through :meth:`StoreBase.begin`, which opens ``BEGIN IMMEDIATE``: the
  write lock is taken up front, so two writers never deadlock upgrading a read lock (the classic
  ``database is locked`` of deferred transactions); others wait on the busy timeout.
- A file database uses WAL (readers do not block the writer) and a connection pool. An in-memory
  database (``sqlite://``) exists only inside one connection, so it gets a ``StaticPool`` (that one
  connection, shared by all threads) and a lock that serialises the store's operations on it.

Read cache: the hottest reads (a binding's auth context, get-account's facts) are
cached by :meth:`StoreBase.cached` and dropped whenever the database may have changed: every
statement that is not a SELECT, and every commit, bumps a generation counter (this process's
writes, seen at once), and for a file database ``PRAGMA data_version`` on a connection of its own
changes when another process commits; it is read at most once per
:attr:`StoreBase.watch_interval` (a millisecond), so another process's change shows within that
time. An in-memory database lives in one connection behind the store's lock, so the counter alone
sees every change. A PostgreSQL deployment is shared by several processes: its cache is on only
once :meth:`StoreBase.share_changes` gives it a Redis change counter. Every statement that is not
a SELECT, and every commit, then ``INCR``s that counter after it ran (so before the write returns
to its caller). A call of the deployment reads the counter in the one round trip it makes at its
start (``mcapi.emulator._shared``), and its cached reads take that reading; other cached reads
``GET`` it, at most once per :attr:`StoreBase.watch_interval` as for SQLite: a change made
through any process is seen by every other on its next call, and elsewhere within that
millisecond. What depends on the clock (a binding's
expiry, a lockout's end) is cached as data and judged at read time, never as a verdict. Should
Redis fail on a read, the cache is dropped and the read goes to the database.

PostgreSQL: reads and single-statement writes run on an AUTOCOMMIT view of the engine (no BEGIN /
ROLLBACK round trips); :meth:`StoreBase.begin` is an ordinary READ COMMITTED transaction, and the
operations that must count-then-insert lock the row they depend on (``SELECT ... FOR UPDATE``,
which SQLAlchemy leaves out on SQLite, where BEGIN IMMEDIATE already serialises writers).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

import redis
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from mcapi.emulator._shared import pinned
from mcapi.emulator._store._migrate import upgrade
from mcapi.emulator._store._passwords import DEFAULT_N
from mcapi.emulator._store._schema import metadata

__all__ = ["StoreBase"]

_SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_CACHE_LIMIT = 50_000
_T = TypeVar("_T")


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _create_private(path: str) -> None:
    """Create the database file readable by its owner only (0600), unless it exists: it holds
    secret keys and password hashes, and SQLite gives its -wal and -shm files the same mode."""
    with contextlib.suppress(OSError):  # exists already, or cannot be: SQLite then says why
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _sqlite_engine(url: URL) -> tuple[Engine, bool]:
    memory = _is_memory(url)
    if not memory and url.database and not url.database.startswith("file:"):
        _create_private(url.database)
    kwargs: dict[str, Any] = {
        "connect_args": {
            "check_same_thread": False,
            "isolation_level": None,
            "timeout": _SQLITE_BUSY_TIMEOUT_SECONDS,
        },
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    return engine, memory


class StoreBase:
    """The engine and the two ways to use it: :meth:`connect` (autocommit) and :meth:`begin`."""

    def __init__(self, url: str = "sqlite:///mcapi-emulator.db", *, kdf_n: int = DEFAULT_N) -> None:
        parsed = make_url(url)
        self.kdf_n = kdf_n
        self._sqlite = parsed.get_backend_name() == "sqlite"
        self._guard: contextlib.AbstractContextManager[Any]
        if self._sqlite:
            self._engine, memory = _sqlite_engine(parsed)
            self._auto_engine = self._engine
            self._guard = threading.RLock() if memory else contextlib.nullcontext()
        else:
            self._engine = sa.create_engine(parsed, pool_size=10, max_overflow=20)
            self._auto_engine = self._engine.execution_options(isolation_level="AUTOCOMMIT")
            self._guard = contextlib.nullcontext()
        self._cache_on = self._sqlite
        self._cache: dict[Hashable, Any] = {}
        self._cache_version: tuple[int, int, int] = (-1, -1, -1)
        self._changes: redis.Redis | None = None
        self._changes_key = ""
        self._cache_lock = threading.Lock()
        self._generation = 0
        self._watch: sqlite3.Connection | None = None
        #: Seconds between two reads of SQLite's ``data_version`` or of the Redis change counter
        #: (changes by other processes; this process's own writes are seen at once).
        self.watch_interval = 0.001
        self._watched_at = float("-inf")
        self._data_version = 0
        self._shared_version = 0
        if self._sqlite and not memory and parsed.database:
            self._watch = sqlite3.connect(parsed.database, check_same_thread=False)
        sa.event.listen(self._engine, "before_cursor_execute", self._on_statement)
        sa.event.listen(self._engine, "after_cursor_execute", self._after_statement)
        sa.event.listen(self._engine, "commit", self._on_commit)

    def share_changes(self, redis_url: str, key: str) -> None:
        """Turn the read cache on for a database shared by several processes: every write bumps
        the Redis counter ``key`` and every cached read checks it (see the module's text)."""
        self._changes = redis.Redis.from_url(redis_url)
        self._changes_key = key
        self._cache_on = True
        self._cache_version = (-1, -1, -1)
        self._watched_at = float("-inf")

    @property
    def pinned_key(self) -> str:
        """The change counter, which a call of the deployment reads at its start
        (``mcapi.emulator._shared``): the call's cached reads take that reading."""
        return self._changes_key

    @property
    def epoch(self) -> int:
        """Always 0: this process's own writes move :attr:`_generation`, part of the version."""
        return 0

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip()[:6].upper().startswith("SELECT"):
            self._generation += 1

    def _after_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Autocommit: the row is visible to other processes now; in a transaction, the commit's
        # bump below is the one that counts (this one only makes others reload early).
        if self._changes is not None and not statement.lstrip()[:6].upper().startswith("SELECT"):
            self._changes.incr(self._changes_key)

    def _on_commit(self, _conn: Any) -> None:
        # A transaction's rows become visible to other connections now, not at its statements.
        self._generation += 1
        if self._changes is not None:
            self._changes.incr(self._changes_key)

    def _version(self) -> tuple[int, int, int]:
        if self._changes is not None:
            found, raw = pinned(self)
            if found:  # the counter as the current call read it at its start
                return (self._generation, self._data_version, int(raw or 0))
        if self._watch is not None or self._changes is not None:
            now = time.monotonic()
            if now - self._watched_at >= self.watch_interval:
                if self._watch is not None:
                    row = self._watch.execute("PRAGMA data_version").fetchone()
                    self._data_version = int(row[0])
                if self._changes is not None:
                    self._shared_version = int(self._changes.get(self._changes_key) or 0)
                self._watched_at = now
        return (self._generation, self._data_version, self._shared_version)

    def cached(self, key: Hashable, load: Callable[[], _T]) -> _T:
        """``load()``'s result, from the read cache while the database has not changed."""
        if not self._cache_on:
            return load()
        with self._cache_lock:
            try:
                version = self._version()
            except redis.RedisError:
                # No change counter to trust: the database answers, and what was cached before
                # is not trusted once Redis is back (a write meanwhile may not have counted).
                self._cache.clear()
                self._cache_version = (-1, -1, -1)
                return load()
            if version != self._cache_version or len(self._cache) > _CACHE_LIMIT:
                self._cache.clear()
                self._cache_version = version
            try:
                return self._cache[key]  # type: ignore[no-any-return]
            except KeyError:
                pass
        value = load()
        with self._cache_lock:
            # Kept under the version read before the load: a change made meanwhile moves the
            # version on, and the next read drops this entry.
            if self._cache_version == version:
                self._cache[key] = value
        return value

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for modules that add tables to the shared metadata)."""
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection whose every statement commits on its own: reads and one-statement writes."""
        with self._guard, self._auto_engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Run the block in one process at a time across every process sharing a PostgreSQL
        database (a session advisory lock named ``name`` in this schema), for create-if-absent
        work that spans several statements. SQLite runs each write transaction alone already, and
        the block runs as it is."""
        if self._sqlite:
            yield
            return
        key = sa.text("SELECT hashtextextended(:name || current_schema(), 0)")
        with self._auto_engine.connect() as conn:
            lock_id = conn.execute(key, {"name": f"mcapi:{name}:"}).scalar_one()
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, committed on exit, rolled back on an exception."""
        with self._guard, self._engine.begin() as conn:
            if self._sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn

    def ping(self) -> None:
        """Raise unless the database answers ``SELECT 1`` (the readiness probe)."""
        with self.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def create_all(self) -> None:
        """Bring the schema to this mcapi's newest migration, once, under a lock (see
        :mod:`mcapi.emulator._store._migrate`): creates a fresh database's tables, upgrades or
        adopts an existing one, and lets several processes start at once."""
        with self._guard:
            upgrade(self._engine)

    def reset(self) -> None:
        """Delete every row of every table (children first), keeping the tables."""
        with self.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())

    def close(self) -> None:
        """Release the engine's connections (an in-memory database is lost)."""
        if self._changes is not None:
            self._changes.close()
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self._engine.dispose()
