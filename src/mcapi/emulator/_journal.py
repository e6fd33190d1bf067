"""The request journal: the last N calls, each with the check that decided it and why, redacted.

Theory of operation
-------------------
Every request the emulator answers leaves one ``JournalEntry``: who called what, the answer
(status, sub code, body codes), the pipeline step that decided it (``check``, e.g. ``"signature"``)
and a sentence saying why (``reason``, e.g. ``"signature mismatch: x-mc-date 21 minutes off, window
15"``). The journal keeps the newest ``maxlen`` entries in a ``deque`` (older ones fall off), so it
costs bounded memory however long the emulator runs. ``RedisJournal`` keeps them in one capped
Redis stream instead, shared by every process of a deployment.

Nothing secret may reach the journal: ``Journal.record`` passes every field of an entry through
the rules of :mod:`mcapi.emulator._redaction` (the ``reason`` and the exchange's headers and bodies
through ``redact``, every text field bounded), and callers build the other fields from data that is
not secret (path, user email, app id, address, codes).

Every recorded entry gets an ``id``: a counter in memory, the stream entry's id in Redis.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import orjson
import redis

from mcapi._codes import CodeEntry, lookup
from mcapi.emulator._redaction import (
    MAX_FIELD_CHARS,
    body_text,
    clip,
    headers_kept,
    is_form,
    redact,
)
from mcapi.emulator._shared import AwaitedConnection


class JournalEntry(NamedTuple):
    """One answered request, as the journal keeps it (a named tuple: every request makes one, and
    a tuple is several times cheaper to build than a frozen dataclass)."""

    time: float
    request_id: str | None
    method: str
    path: str
    user: str | None
    app_id: str | None
    client_ip: str | None
    status: int
    sub_code: str | None = None
    body_codes: tuple[str, ...] = ()
    latency_ms: float = 0.0
    check: str | None = None
    reason: str | None = None
    fault: str | None = None
    #: The request's headers and body, the answer's headers and body (redacted, bounded); give
    #: bodies as bytes or text, ``record`` keeps them as text.
    request_headers: Mapping[str, str] | None = None
    request_body: str | bytes | None = None
    response_headers: Mapping[str, str] | None = None
    response_body: str | bytes | None = None
    #: Set by ``record``: a counter in memory, ``<process prefix>-<counter>`` in Redis.
    id: str = ""

    def to_dict(self, *, exchange: bool = True) -> dict[str, Any]:
        """JSON-ready: ``body_codes`` as a list; without the headers and bodies unless
        ``exchange``."""
        data = self._asdict()
        data["body_codes"] = list(self.body_codes)
        if not exchange:
            for name in _EXCHANGE:
                del data[name]
        return data


def entry_code(entry: JournalEntry) -> CodeEntry | None:
    """The catalogue's entry for what ``entry`` answered (its meaning and remedy), or None for a
    plain success and for a call that got no answer (status 0)."""
    body_code = entry.body_codes[0] if entry.body_codes else None
    if entry.status == 0 or (entry.status == 200 and body_code is None):
        return None
    return lookup(entry.status, entry.sub_code, body_code)


_EXCHANGE = ("request_headers", "request_body", "response_headers", "response_body")


def _cleaned(entry: JournalEntry) -> JournalEntry:
    """``entry`` with its ``reason`` redacted and its long text fields clipped."""
    if entry.reason:
        cleaned = redact(entry.reason)
        if cleaned != entry.reason:
            entry = entry._replace(reason=cleaned)
    limit = MAX_FIELD_CHARS
    if (
        len(entry.path) > limit
        or len(entry.request_id or "") > limit
        or len(entry.user or "") > limit
        or len(entry.app_id or "") > limit
        or len(entry.client_ip or "") > limit
        or len(entry.reason or "") > limit
    ):
        entry = entry._replace(
            path=clip(entry.path), request_id=clip(entry.request_id), user=clip(entry.user),
            app_id=clip(entry.app_id), client_ip=clip(entry.client_ip),
            reason=clip(entry.reason),
        )  # fmt: skip
    if (
        entry.request_headers is not None
        or entry.request_body is not None
        or entry.response_headers is not None
        or entry.response_body is not None
    ):
        entry = entry._replace(
            request_headers=headers_kept(entry.request_headers),
            request_body=body_text(entry.request_body, form=is_form(entry.request_headers)),
            response_headers=headers_kept(entry.response_headers),
            response_body=body_text(entry.response_body, form=is_form(entry.response_headers)),
        )
    return entry


class Journal:
    """The newest ``maxlen`` entries, oldest first; thread-safe."""

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen}")
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)
        self._next_id = 1

    @property
    def maxlen(self) -> int:
        return self._entries.maxlen or 0

    def __len__(self) -> int:
        return len(self._entries)

    def record(self, entry: JournalEntry) -> JournalEntry:
        """Keep ``entry`` (its ``reason`` redacted, long text fields clipped), dropping the oldest
        if full; returns it."""
        entry = _cleaned(entry)
        with self._lock:
            entry = entry._replace(id=str(self._next_id))
            self._next_id += 1
            self._entries.append(entry)
        return entry

    async def record_async(self, entry: JournalEntry) -> JournalEntry:
        """:meth:`record`, for a caller on the event loop (the shared journal awaits Redis)."""
        return self.record(entry)

    def get(self, entry_id: str) -> JournalEntry | None:
        """The entry with this ``id``, or None (never recorded, or fallen off)."""
        return next((e for e in reversed(self._snapshot()) if e.id == entry_id), None)

    def entries(
        self,
        *,
        limit: int | None = None,
        path: str | None = None,
        status: int | None = None,
        since: float | None = None,
        request_id: str | None = None,
    ) -> list[JournalEntry]:
        """Entries that pass every given filter, oldest first; ``limit`` keeps the newest ones.

        ``since`` is an emulator-clock time (entries at or after it); ``path`` is exact.
        """
        selected = [
            e
            for e in self._snapshot()
            if (path is None or e.path == path)
            and (status is None or e.status == status)
            and (since is None or e.time >= since)
            and (request_id is None or e.request_id == request_id)
        ]
        if limit is not None:
            selected = selected[-limit:] if limit > 0 else []
        return selected

    def _snapshot(self) -> list[JournalEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def to_dict(
        self, entries: Iterable[JournalEntry] | None = None, *, exchange: bool = True
    ) -> dict[str, Any]:
        """``{"maxlen": ..., "entries": [...]}`` for the admin API (all entries by default);
        without headers and bodies unless ``exchange``."""
        chosen = self.entries() if entries is None else entries
        return {"maxlen": self.maxlen, "entries": [e.to_dict(exchange=exchange) for e in chosen]}

    def to_jsonl(
        self, entries: Iterable[JournalEntry] | None = None, *, exchange: bool = True
    ) -> str:
        """One JSON object per line (all entries by default); empty string for none."""
        chosen = self.entries() if entries is None else entries
        return "".join(
            json.dumps(e.to_dict(exchange=exchange), ensure_ascii=False) + "\n" for e in chosen
        )


#: Appends one entry to both streams under one id (a script runs atomically, so the ids of the
#: two streams are the same and in the same order), each capped at ARGV[1] entries.
_XADD_BOTH = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], id, 'x', ARGV[3])
return id
"""


class RedisJournal(Journal):
    """The journal of a shared deployment: one Redis stream (``key``) capped at ``maxlen``
    entries, which every process appends to, so that a lookup through any process finds the calls
    every process answered. While Redis does not answer, entries are kept in this process's memory
    (and shown after the stream's), so the calls answered 500 0006 meanwhile are journalled.

    The headers and bodies of each entry go to a second stream (``key`` + ``:exchange``) under the
    same stream id (one script appends both), capped alike: ``entries()`` reads the first only (a
    listing, polled by the dashboard, would otherwise move up to tens of megabytes), and
    :meth:`get` reads both. An entry's ``id`` is its stream id.

    A call's entry is appended before its answer goes out, awaited on the event loop
    (:meth:`record_async`), so that the loop answers other calls meanwhile."""

    def __init__(
        self, redis_url: str, *, key: str, maxlen: int = 1000,
        awaited: AwaitedConnection | None = None,
    ) -> None:  # fmt: skip
        super().__init__(maxlen)
        self._client: redis.Redis = redis.Redis.from_url(redis_url)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._key = key
        self._exchange_key = f"{key}:exchange"
        self._cap = maxlen
        self._append = self._client.register_script(_XADD_BOTH)
        #: The connection a call's append is awaited on (shared with the deployment's other
        #: per-call round trips, so that they go out together).
        self._awaited = awaited or AwaitedConnection(self._client)

    @property
    def maxlen(self) -> int:
        return self._cap

    def __len__(self) -> int:
        try:
            shared = int(self._client.xlen(self._key))
        except self._errors:
            shared = 0
        return shared + super().__len__()

    @staticmethod
    def _payload(entry: JournalEntry) -> tuple[bytes, bytes]:
        """The entry without its exchange, and the exchange (headers and bodies), as JSON."""
        light = entry.to_dict(exchange=False)
        exchange = {name: getattr(entry, name) for name in _EXCHANGE}
        return _json(light), _json(exchange)

    def record(self, entry: JournalEntry) -> JournalEntry:
        entry = _cleaned(entry)
        light, exchange = self._payload(entry)
        try:
            stream_id: Any = self._append(
                keys=[self._key, self._exchange_key], args=[self._cap, light, exchange]
            )
        except self._errors:
            return super().record(entry)
        return entry._replace(id=_text(stream_id))

    async def record_async(self, entry: JournalEntry) -> JournalEntry:
        entry = _cleaned(entry)
        light, exchange = self._payload(entry)
        keys, args = (self._key, self._exchange_key), (self._cap, light, exchange)
        try:
            stream_id = await self._awaited.run_script(_XADD_BOTH, keys, args)
        except self._errors:
            return super().record(entry)
        return entry._replace(id=_text(stream_id))

    def get(self, entry_id: str) -> JournalEntry | None:
        if "-" not in entry_id:  # kept in memory while Redis did not answer
            return super().get(entry_id)
        try:
            with self._client.pipeline(transaction=False) as pipe:
                pipe.xrange(self._key, min=entry_id, max=entry_id)
                pipe.xrange(self._exchange_key, min=entry_id, max=entry_id)
                found, exchanges = pipe.execute()
        except self._errors:
            return None
        if not found:
            return None
        entry = self._decoded(*found[0])
        if exchanges:
            entry = entry._replace(**json.loads(exchanges[0][1][b"x"]))
        return entry

    @staticmethod
    def _decoded(stream_id: bytes, fields: Mapping[bytes, bytes]) -> JournalEntry:
        data = json.loads(fields[b"e"])
        data["body_codes"] = tuple(data["body_codes"])
        data["id"] = stream_id.decode()
        return JournalEntry(**data)

    def _snapshot(self) -> list[JournalEntry]:
        try:
            stream: Any = self._client.xrange(self._key)
        except self._errors:
            stream = []
        out = [self._decoded(i, f) for i, f in stream]
        return out + super()._snapshot()

    def clear(self) -> None:
        super().clear()
        self._client.delete(self._key, self._exchange_key)

    def close(self) -> None:
        self._awaited.close()
        self._client.close()


def _json(value: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # a lone surrogate (not UTF-8): escaped instead
        return json.dumps(value).encode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
