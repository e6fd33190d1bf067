"""The request journal: the last N calls, each with the check that decided it and why, redacted.

Theory of operation
-------------------
Every request the emulator answers leaves one ``JournalEntry``: who called what, the answer
(status, sub code, body codes), the pipeline step that decided it (``check``, e.g. ``"signature"``)
and a sentence saying why (``reason``, e.g. ``"signature mismatch: x-mc-date 21 minutes off, window
15"``). The journal keeps the newest ``maxlen`` entries in a ``deque`` (older ones fall off), so it
costs bounded memory however long the emulator runs. ``RedisJournal`` keeps them in one capped
Redis stream instead, shared by every process of a deployment.

Nothing secret may reach the journal or a log. ``redact`` is the one gate: it takes a string (a
header value, a log line, a body as text) or a JSON-like mapping (headers, a parsed body) and
returns a copy where

* ``Authorization: MC <accessKey>:<signature>`` keeps the access key's first 4 characters and
  loses the signature: ``MC AbCd…:[redacted]``;
* ``Basic-Cloud``/``Basic-AD`` (and ``Basic``/``Bearer``) credentials are removed entirely;
* values of keys named like a secret (``secretKey``, ``password``, ``appKey``, ``applicationKey``,
  ``token``, ``mc-siem-token``, ``authorization``...) are replaced; ``accessKey`` values keep their
  first 4 characters. ``pageToken`` and ``pageSize`` are pagination, not secrets, and stay.

``Journal.record`` passes ``reason`` through ``redact``; callers build the other fields from data
that is not secret (path, user email, app id, address, codes).

A journal entry holds what callers sent (request id, app id, user name, path, a reason quoting a
header): ``record`` keeps at most ``MAX_FIELD_CHARS`` of each text field, with a marker saying how
much was left out, so that 1,000 entries of hostile headers stay a few megabytes at most.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, TypeVar, overload

import redis

from mcapi._constants import REDACTED
from mcapi.emulator._shared import AwaitedConnection

#: The most characters the journal keeps of one text field (a header value, a reason).
MAX_FIELD_CHARS = 1024
_T = TypeVar("_T")

# Names compared after lower-casing and dropping "-", "_" and ".".
_SECRET_NAME = re.compile(
    r"secret|password|passwd|passphrase|appkey|applicationkey|token|authorization"
)
_PARTIAL_NAME = re.compile(r"accesskey")
_PUBLIC_NAMES = frozenset({"pagetoken", "pagesize", "nextpagetoken"})

_MC_AUTH = re.compile(r"\bMC\s+([^\s:\"',;]*):[^\s\"',;]*")
_BASIC_AUTH = re.compile(r"\b(Basic-Cloud|Basic-AD|Basic|Bearer)\s+[^\s\"',;]+", re.IGNORECASE)
_SECRETISH = (
    r"[\w.-]*(?:secret|passw(?:or)?d|passphrase|app[-_.]?key|application[-_.]?key|token"
    r"|access[-_.]?key|authorization)[\w.-]*"
)
# key = value / "key": "value" / key: value, in free text (logs, bodies as text). Only secret-like
# names match, so the value of any other key (a message, a reason) is still scanned.
_KEY_VALUE = re.compile(
    rf"""(?P<key>["']?(?P<name>{_SECRETISH})["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s,;&}\]"']+)""",
    re.IGNORECASE,
)
_SCHEMES = frozenset({"mc", "basic-cloud", "basic-ad", "basic", "bearer"})


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(".", "")


def _kind(name: str) -> str | None:
    """ "secret", "partial" (access keys) or None for a key name."""
    normal = _normal(name)
    if normal in _PUBLIC_NAMES:
        return None
    if _PARTIAL_NAME.search(normal):
        return "partial"
    if _SECRET_NAME.search(normal):
        return "secret"
    return None


def _shorten(value: str) -> str:
    """An access key's first 4 characters, or nothing when that would be half of it."""
    return f"{value[:4]}…" if len(value) >= 8 else "…"


def _redact_pair(match: re.Match[str]) -> str:
    kind = _kind(match["name"])
    value = match["value"]
    if kind is None:
        return match[0]
    quote = value[0] if value[:1] in ("'", '"') else ""
    if kind == "partial":
        inner = value[1:-1] if quote else value
        return f"{match['key']}{quote}{_shorten(inner)}{quote}"
    if _normal(match["name"]) == "authorization" and not quote and value.lower() in _SCHEMES:
        return match[0]  # "Authorization: MC ..." is handled by the scheme patterns
    return f"{match['key']}{quote}{REDACTED}{quote}"


# Every pattern above needs one of these words; text without any (most reasons) is left as is
# after one scan instead of three substitutions.
_TRIGGER = re.compile(r"\bMC\s|basic|bearer|secret|passw|passphrase|key|token|authorization", re.I)


def _redact_text(text: str) -> str:
    if _TRIGGER.search(text) is None:
        return text
    text = _MC_AUTH.sub(lambda m: f"MC {_shorten(m[1])}:{REDACTED}", text)
    text = _BASIC_AUTH.sub(lambda m: f"{m[1]} {REDACTED}", text)
    return _KEY_VALUE.sub(_redact_pair, text)


def _redact_value(name: str, value: Any) -> Any:
    kind = _kind(name)
    if kind is None or value is None:
        return redact(value)
    if isinstance(value, str) and _normal(name) == "authorization":
        return _redact_text(value) if value.startswith("MC ") else REDACTED
    if kind == "partial" and isinstance(value, str):
        return _shorten(value)
    return REDACTED


@overload
def redact(value: str) -> str: ...
@overload
def redact(value: Mapping[str, Any]) -> dict[str, Any]: ...
@overload
def redact(value: _T) -> _T: ...
def redact(value: Any) -> Any:
    """A copy of ``value`` with every credential removed; see the module doc for the rules.

    Strings (and bytes) are scanned for credentials; mappings are walked, secret-named keys
    losing their values and every other string scanned; lists and tuples are walked; anything
    else is returned as it is.
    """
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, bytes):
        return _redact_text(value.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
    if isinstance(value, Mapping):
        return {str(k): _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v) for v in value)
    return value


@overload
def clip(value: str) -> str: ...
@overload
def clip(value: None) -> None: ...
def clip(value: str | None) -> str | None:
    """``value`` cut to ``MAX_FIELD_CHARS`` characters, with a marker naming what was cut."""
    if value is None or len(value) <= MAX_FIELD_CHARS:
        return value
    return f"{value[:MAX_FIELD_CHARS]}…[{len(value) - MAX_FIELD_CHARS} more characters]"


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``body_codes`` as a list."""
        data = self._asdict()
        data["body_codes"] = list(self.body_codes)
        return data


def _cleaned(entry: JournalEntry) -> JournalEntry:
    """``entry`` with its ``reason`` redacted and its long text fields clipped."""
    if entry.reason:
        cleaned = _redact_text(entry.reason)
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
    return entry


class Journal:
    """The newest ``maxlen`` entries, oldest first; thread-safe."""

    def __init__(self, maxlen: int = 1000) -> None:
        if maxlen < 1:
            raise ValueError(f"maxlen must be at least 1, got {maxlen}")
        self._lock = threading.Lock()
        self._entries: deque[JournalEntry] = deque(maxlen=maxlen)

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
            self._entries.append(entry)
        return entry

    async def record_async(self, entry: JournalEntry) -> JournalEntry:
        """:meth:`record`, for a caller on the event loop (the shared journal awaits Redis)."""
        return self.record(entry)

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

    def to_dict(self, entries: Iterable[JournalEntry] | None = None) -> dict[str, Any]:
        """``{"maxlen": ..., "entries": [...]}`` for the admin API (all entries by default)."""
        chosen = self.entries() if entries is None else entries
        return {"maxlen": self.maxlen, "entries": [e.to_dict() for e in chosen]}

    def to_jsonl(self, entries: Iterable[JournalEntry] | None = None) -> str:
        """One JSON object per line (all entries by default); empty string for none."""
        chosen = self.entries() if entries is None else entries
        return "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in chosen)


class RedisJournal(Journal):
    """The journal of a shared deployment: one Redis stream (``key``) capped at ``maxlen``
    entries, which every process appends to, so that a lookup through any process finds the calls
    every process answered. While Redis does not answer, entries are kept in this process's memory
    (and shown after the stream's), so the calls answered 500 0006 meanwhile are journalled.
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
        self._cap = maxlen
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

    def record(self, entry: JournalEntry) -> JournalEntry:
        entry = _cleaned(entry)
        data = json.dumps(entry.to_dict(), ensure_ascii=False)
        try:
            self._client.xadd(self._key, {"e": data}, maxlen=self._cap, approximate=False)
        except self._errors:
            return super().record(entry)
        return entry

    async def record_async(self, entry: JournalEntry) -> JournalEntry:
        entry = _cleaned(entry)
        data = json.dumps(entry.to_dict(), ensure_ascii=False)
        try:
            await self._awaited.execute(("XADD", self._key, "MAXLEN", self._cap, "*", "e", data))
        except self._errors:
            return super().record(entry)
        return entry

    def _snapshot(self) -> list[JournalEntry]:
        out = []
        try:
            stream: Any = self._client.xrange(self._key)
        except self._errors:
            stream = []
        for _, fields in stream:
            data = json.loads(fields[b"e"])
            data["body_codes"] = tuple(data["body_codes"])
            out.append(JournalEntry(**data))
        return out + super()._snapshot()

    def clear(self) -> None:
        super().clear()
        self._client.delete(self._key)

    def close(self) -> None:
        self._awaited.close()
        self._client.close()
