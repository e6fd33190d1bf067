"""API 2.0's REST-style SIEM reads over the emulator's SIEM files: ``GET /siem/v1/events/cg``
(events, paged by ``nextPage``) and ``GET /siem/v1/batch/events/cg`` (download URLs of gzipped
JSON-lines files, one per log file, with ``isCaughtUp``).

Theory of operation
-------------------
Both read the files ``/api/audit/get-siem-logs`` hands out (``mcapi.emulator.functions._siem``):
the same 30-minute slots, log types and records, so one tenant's SIEM data is one source whatever
the API. A position in the stream is (slot, log type index, record offset); a ``nextPage`` token
carries the query (types and date range) and the position, with a check so that a token of
another account or an edited one is refused. Everything here is pure but for :func:`load_stream`,
:func:`present_types` and :func:`file_records`, which read the store.

An event is the 1.0 file's record with ``timestamp`` (epoch milliseconds), ``eventType`` (the 2.0
type name), ``accountId`` and, where the record has an action, ``subType`` added; a batch file's
line also has ``type`` (docs/api2.md, "SIEM REST endpoints").
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from mcapi.emulator._data import SIEM_SLOT_SECONDS, _siem_plan, siem_streams
from mcapi.emulator.functions import _siem
from mcapi.emulator.functions._siem_ttp import ttp_records

if TYPE_CHECKING:
    from mcapi.emulator._store import Account, Store

__all__ = [
    "BATCH_PAGE",
    "BATCH_PATH",
    "EVENTS_PAGE",
    "EVENTS_PATH",
    "EVENT_TYPES",
    "FILES_PREFIX",
    "PERMISSION",
    "URL_SECONDS",
    "BadQuery",
    "Query",
    "batch_page",
    "decode_cursor",
    "decode_file_token",
    "encode_cursor",
    "encode_file_token",
    "event_page",
    "file_records",
    "gzip_lines",
    "load_stream",
    "page_size",
    "parse_query",
    "present_types",
    "to_event",
    "to_file_line",
]

EVENTS_PATH = "/siem/v1/events/cg"
BATCH_PATH = "/siem/v1/batch/events/cg"
#: Where the download URLs a batch listing gives point (the emulator's own path).
FILES_PREFIX = "/siem/v1/batch/files/"
#: The permission the platform's API 2.0 reference names for both listings.
PERMISSION = "Security Events and Data Retrieval | Threat and Security Events (SIEM) | Read"

#: The 2.0 type names, each with the 1.0 log type whose files hold its records (``None``: the
#: emulator generates no records of it).
EVENT_TYPES: dict[str, str | None] = {
    "receipt": "receipt",
    "process": "process",
    "delivery": "delivery",
    "journal": "jrnl",
    "spam": "spam",
    "av": "av",
    "url protect": "ttp_url",
    "attachment protect": "ttp_ap",
    "impersonation protect": "ttp_ip",
    "internal email protect": None,
}
_BY_LOG_TYPE = {log: name for name, log in EVENT_TYPES.items() if log is not None}
#: pageSize: the default (the emulator's) and the largest (the platform's reference).
EVENTS_PAGE = (100, 100)
BATCH_PAGE = (100, 100)
#: How far back ``/siem/v1/events/cg`` reads (older starts are refused with 400).
EVENTS_LOOKBACK = 86400
#: How long a download URL stays valid after the listing that gave it.
URL_SECONDS = 3600


class BadQuery(ValueError):
    """A query parameter the endpoint refuses (answered 400)."""


@dataclass(frozen=True, slots=True)
class Query:
    """What a page reads: (type index into ``_siem.LOG_TYPES``, subtype or None for all) pairs,
    ``[start, end)`` in epoch seconds (``end`` None: up to the newest file), and where it
    resumes."""

    types: tuple[tuple[int, str | None], ...]
    start: float
    end: float | None
    position: tuple[int, int, int]


def _when(text: str, *, end: bool) -> float:
    """ISO 8601 (``2025-12-24T11:23:41.955Z``) or a date (``2025-12-24``: its midnight, or the
    next midnight for the end of a range)."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
            return day + 86400 if end else day
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        raise BadQuery(f"not a date or ISO 8601 time: {raw[:40]!r}") from None


def _types(params: dict[str, str]) -> tuple[tuple[int, str | None], ...]:
    """``type`` or ``types``: comma-separated names, each ``name`` or ``name:subtype``."""
    raw = params.get("types") or params.get("type") or ""
    names = [n.strip() for n in raw.split(",") if n.strip()] or list(EVENT_TYPES)
    found: set[tuple[int, str | None]] = set()
    for given in names:
        name, _, sub = given.partition(":")
        name = name.strip().lower()
        if name not in EVENT_TYPES:
            raise BadQuery(f"unknown type {name[:40]!r}; types: {', '.join(EVENT_TYPES)}")
        log = EVENT_TYPES[name]
        if log is not None:
            found.add((_siem.LOG_TYPES.index(log), sub.strip().lower() or None))
    whole = {index for index, sub in found if sub is None}
    return tuple(sorted((i, s) for i, s in found if s is None or i not in whole))


def page_size(params: dict[str, str], limits: tuple[int, int]) -> int:
    raw = params.get("pageSize")
    if raw is None:
        return limits[0]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= limits[1]:
        raise BadQuery(f"pageSize must be 1 to {limits[1]}")
    return int(raw)


def parse_query(
    params: dict[str, str], account_id: int, now: float, *, batch: bool
) -> tuple[Query, int]:
    """The query and page size of a request. A ``nextPage`` token carries the query; without it
    the range defaults to the last 24 hours (events) or the oldest kept file (batch)."""
    size = page_size(params, BATCH_PAGE if batch else EVENTS_PAGE)
    token = params.get("nextPage")
    if token:
        query = decode_cursor(token, account_id, batch=batch)
        if query is None:
            raise BadQuery("nextPage is not a token of this account and endpoint")
        return query, size
    oldest = now - (_siem.KEEP_SECONDS if batch else EVENTS_LOOKBACK)
    starts = params.get("dateRangeStartsAt")
    start = _when(starts, end=False) if starts else oldest
    ends = params.get("dateRangeEndsAt")
    end = _when(ends, end=True) if ends else None
    if end is not None and end <= start:
        raise BadQuery("dateRangeEndsAt must be after dateRangeStartsAt")
    if not batch and start < oldest:
        raise BadQuery("dateRangeStartsAt must be within the last 24 hours")
    start = max(start, oldest)
    slot = int(start // SIEM_SLOT_SECONDS)
    return Query(_types(params), start, end, (slot, 0, 0)), size


def _check(payload: str, account_id: int) -> str:
    return hashlib.sha256(f"siem-rest:{account_id}:{payload}".encode()).hexdigest()[:16]


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def encode_cursor(query: Query, account_id: int, *, batch: bool) -> str:
    body = json.dumps(
        [int(batch), list(query.types), query.start, query.end, list(query.position)],
        separators=(",", ":"),
    )
    return f"{_b64(body)}.{_check(body, account_id)}"


def decode_cursor(token: str, account_id: int, *, batch: bool) -> Query | None:
    """The query a ``nextPage`` token carries, or None when it is not one of this account's
    (or of the other endpoint)."""
    encoded, _, check = token.partition(".")
    try:
        body = _unb64(encoded)
        kind, types, start, end, position = json.loads(body)
        if check != _check(body, account_id) or kind != int(batch):
            return None
        slot, index, offset = (int(v) for v in position)
        pairs = tuple((int(t), None if sub is None else str(sub)) for t, sub in types)
        bounds = (float(start), None if end is None else float(end))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError):
        return None
    if not all(math.isfinite(b) for b in bounds if b is not None):
        return None
    if not all(0 <= t < len(_siem.LOG_TYPES) for t, _sub in pairs):
        return None
    return Query(pairs, bounds[0], bounds[1], (slot, index, offset))


def encode_file_token(account_id: int, slot: int, index: int, expires: int) -> str:
    """The token of a download URL: the file and when the URL stops working."""
    body = f"{account_id}:{slot}:{index}:{expires}"
    return f"{_b64(body)}.{_check(body, account_id)}"


def decode_file_token(token: str) -> tuple[int, int, int, int] | None:
    """(account id, slot, log type index, expiry) of a download token, or None."""
    encoded, _, check = token.partition(".")
    try:
        body = _unb64(encoded)
        account, slot, index, expires = (int(v) for v in body.split(":"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if check != _check(body, account) or not 0 <= index < len(_siem.LOG_TYPES):
        return None
    return account, slot, index, expires


def load_stream(store: Store, account: Account) -> _siem.SiemStream | None:
    """The account's SIEM stream (None: the generator made none)."""
    with store.connect() as conn:
        row = conn.execute(
            sa.select(siem_streams).where(siem_streams.c.account_id == account.id)
        ).first()
    if row is None:
        return None
    return _siem.SiemStream(
        account_id=account.id,
        account_code=account.account_code,
        seed=row.seed,
        users=row.users,
        domain=row.domain,
        start_slot=int(row.start // SIEM_SLOT_SECONDS),
        messages_per_user_day=row.messages_per_user_day,
    )


def present_types(store: Store, stream: _siem.SiemStream, slot: int) -> list[str]:
    """The log types the slot has a file of: its MTA types, and the TTP types with rows."""
    kinds = _siem.stream_present(stream, slot)
    with store.connect() as conn:
        kinds += [
            kind
            for kind in _siem_plan.TTP_TYPES
            if _siem_plan.ttp_present(conn, stream.account_id, kind, slot)
        ]
    return kinds


def file_records(
    store: Store, stream: _siem.SiemStream, slot: int, log_type: str
) -> Iterator[dict[str, Any]]:
    """The records of one file, as the 1.0 file holds them."""
    if log_type in _siem_plan.TTP_TYPES:
        return ttp_records(store, stream.account_id, stream.account_code, log_type, slot)
    return _siem.mta_records(stream, slot, log_type)


def to_event(record: dict[str, Any], log_type: str, account_code: str) -> dict[str, Any]:
    """A 2.0 event: the record, with ``timestamp`` (epoch ms), ``eventType``, ``accountId`` and,
    where the record has an action (``Act``), ``subType``."""
    moment = datetime.strptime(record["datetime"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    event = {
        **record,
        "timestamp": int(moment * 1000),
        "eventType": _BY_LOG_TYPE[log_type],
        "accountId": account_code,
    }
    if "Act" in record:
        event["subType"] = record["Act"]
    return event


def to_file_line(record: dict[str, Any], log_type: str, account_code: str) -> dict[str, Any]:
    """A line of a batch file: the event, with its type name in ``type`` as well."""
    event = to_event(record, log_type, account_code)
    return {**event, "type": event["eventType"]}


def _wanted(query: Query, index: int) -> set[str] | None:
    """The subtypes the query keeps of a type (None: every event of it)."""
    subs = {sub for i, sub in query.types if i == index}
    return None if None in subs else {s for s in subs if s is not None}


def _files(
    store: Store, stream: _siem.SiemStream, query: Query, last: int, start: tuple[int, int]
) -> Iterator[tuple[int, int]]:
    """The (slot, type index) of every file from ``start`` on, up to slot ``last``."""
    slot, index = start
    indexes = sorted({i for i, _sub in query.types})
    while slot <= last:
        kinds = present_types(store, stream, slot)
        for i in indexes:
            if i >= index and _siem.LOG_TYPES[i] in kinds:
                yield slot, i
        slot, index = slot + 1, 0


def _bounds(query: Query, stream: _siem.SiemStream, now: float) -> tuple[int, int, int]:
    """The first slot and offset to read and the last slot (produced, kept, within range)."""
    last = _siem.last_produced_slot(now)
    if query.end is not None:
        last = min(last, int((query.end - 1e-6) // SIEM_SLOT_SECONDS))
    first = max(query.position[0], stream.start_slot, _siem.first_kept_slot(now))
    return first, last, query.position[2] if first == query.position[0] else 0


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[dict[str, Any]]
    next_query: Query | None


def event_page(
    store: Store, stream: _siem.SiemStream | None, query: Query, size: int, now: float
) -> EventPage:
    """Up to ``size`` events from the query's position, oldest file first; ``next_query`` is the
    position of the next event, None when the range holds no more."""
    if stream is None:
        return EventPage([], None)
    first, last, skip = _bounds(query, stream, now)
    start = (first, query.position[1] if first == query.position[0] else 0)
    events: list[dict[str, Any]] = []
    for slot, index in _files(store, stream, query, last, start):
        log_type = _siem.LOG_TYPES[index]
        offset = skip if (slot, index) == (query.position[0], query.position[1]) else 0
        subs = _wanted(query, index)
        kept = 0
        for record in file_records(store, stream, slot, log_type):
            event = to_event(record, log_type, stream.account_code)
            at = event["timestamp"] / 1000
            if at < query.start or (query.end is not None and at >= query.end):
                continue
            if subs is not None and str(event.get("subType", "")).lower() not in subs:
                continue
            kept += 1
            if kept <= offset:
                continue
            if len(events) == size:  # one more exists: the next page starts at it
                resume = Query(query.types, query.start, query.end, (slot, index, kept - 1))
                return EventPage(events, resume)
            events.append(event)
    return EventPage(events, None)


@dataclass(frozen=True, slots=True)
class BatchPage:
    files: list[tuple[int, int]]
    next_query: Query
    caught_up: bool


def batch_page(
    store: Store, stream: _siem.SiemStream | None, query: Query, size: int, now: float
) -> BatchPage:
    """Up to ``size`` files (slot, type index) from the query's position; ``next_query`` resumes
    after them, and ``caught_up`` says no other file of the range exists yet."""
    if stream is None:
        return BatchPage([], query, True)
    first, last, _skip = _bounds(query, stream, now)
    start = (first, query.position[1] if first == query.position[0] else 0)
    found: list[tuple[int, int]] = []
    for slot, index in _files(store, stream, query, last, start):
        if len(found) == size:
            return BatchPage(found, replace_position(query, (slot, index, 0)), False)
        found.append((slot, index))
    if found:
        slot, index = found[-1]
        return BatchPage(found, replace_position(query, (slot, index + 1, 0)), True)
    return BatchPage(found, replace_position(query, (max(first, start[0]), start[1], 0)), True)


def replace_position(query: Query, position: tuple[int, int, int]) -> Query:
    return Query(query.types, query.start, query.end, position)


def gzip_lines(events: Sequence[dict[str, Any]] | Iterator[dict[str, Any]]) -> bytes:
    """A gzip file of JSON lines, one event a line (byte for byte the same every time)."""
    text = b"".join(json.dumps(e, separators=(",", ":")).encode() + b"\n" for e in events)
    return gzip.compress(text, mtime=0)
