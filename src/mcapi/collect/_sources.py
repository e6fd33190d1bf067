"""One source per stream: how a batch of records is fetched and where the stream stands after it.

Theory of operation
-------------------
A source is pure bookkeeping around client calls: ``next_batch(state)`` takes the source's part
of the checkpoint (``None`` the first time) and returns a :class:`Batch`: the records, the state
to save once they are durable, and whether the stream is caught up. It writes nothing and saves
nothing; the collector does, in that order.

**SIEM** (:class:`SiemSource`): the state is the ``mc-siem-token`` of the last file stored. One
batch is one file: ``get-siem-logs`` with that token answers the next file (its own token in the
``mc-siem-token`` header) or ``meta.isLastToken`` (caught up). A ``fail`` entry such as
``err_audit_siem_invalid_token`` raises ``FunctionFailed``: it is never taken for "no more data".
A file that cannot be unzipped or parsed, or breaks off while downloading, is fetched again up to
``file_attempts`` times; then it is kept in the quarantine folder with the token and the error
and the batch moves the state past it, so bad data never stalls the stream.

**Time windows** (:class:`WindowSource`: audit events, TTP URL, attachment and impersonation
logs): the state is ``since`` (epoch seconds, the end of the last window stored) and ``recent``
(the ids, with their times, of records in the last ``margin`` seconds before it). The next window
is ``[since - margin, min(since + window, now)]`` (both ends inclusive, whole seconds), fetched
page after page. Records whose id is in ``recent`` were stored by the previous window and are
skipped; so events that share the boundary second, or that the platform indexed up to ``margin``
seconds late, are neither lost nor doubled. ``recent`` is bounded by the records of ``margin``
seconds. A window that reaches ``now`` means caught up.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from mcapi._errors import ProtocolError, TransportError
from mcapi.client import Client, RateLimit
from mcapi.collect._checkpoint import write_atomic
from mcapi.collect._records import BadFile, OutRecord, content_ids, parse_siem_file, parse_time

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_WINDOW",
    "STREAMS",
    "Batch",
    "Quarantined",
    "SiemSource",
    "Source",
    "WindowSource",
    "make_source",
]

SIEM_PATH = "/api/audit/get-siem-logs"
#: Seconds each time window reaches back over the previous one.
DEFAULT_MARGIN = 300
#: Seconds of events one window asks for at most.
DEFAULT_WINDOW = 6 * 3600
#: How far back a time-window stream starts when it has no checkpoint.
DEFAULT_LOOKBACK = 7 * 86400


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A SIEM file kept aside: where, which token asked for it, and why it was refused."""

    path: Path
    token: str | None
    next_token: str
    filename: str | None
    error: str
    attempts: int


@dataclass(slots=True)
class Batch:
    """What one step of a source produced."""

    records: list[OutRecord]
    state: dict[str, Any]
    caught_up: bool
    label: str
    units: int = 1  # files or pages fetched
    size: int = 0  # bytes of the files fetched
    quarantined: Quarantined | None = None
    rate_limit: RateLimit | None = None
    retried_files: int = 0
    position_time: float | None = None


class Source(Protocol):
    """A stream's source (see the module doc)."""

    name: str
    path: str
    unit: str  # "files" or "pages"

    def next_batch(self, client: Client, state: Mapping[str, Any] | None) -> Batch:
        """The next batch after ``state`` (the source's part of the checkpoint)."""
        ...


@dataclass
class SiemSource:
    """``get-siem-logs``, one file per batch (see the module doc)."""

    file_format: str = "json"
    compress: bool = False
    quarantine: Path = field(default_factory=lambda: Path("quarantine"))
    file_attempts: int = 3
    name: str = "siem"
    path: str = SIEM_PATH
    unit: str = "files"

    def _request(self, token: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "MTA", "fileFormat": self.file_format}
        if self.compress:
            item["compress"] = True
        if token:
            item["token"] = token
        return item

    def next_batch(self, client: Client, state: Mapping[str, Any] | None) -> Batch:
        token = (state or {}).get("token")
        error = ""
        content = b""
        filename: str | None = None
        next_token: str | None = None
        rate: RateLimit | None = None
        for attempt in range(1, self.file_attempts + 1):
            with client.call_stream(self.path, [self._request(token)]) as stream:
                rate = RateLimit.from_headers(stream.headers)
                if not stream.is_file:
                    assert stream.result is not None
                    stream.result.raise_for_failures()
                    if stream.is_last_token:
                        return Batch([], dict(state or {}), True, "caught up", 0, rate_limit=rate)
                    raise ProtocolError(
                        f"{self.path} answered JSON without a file, a fail entry or "
                        "meta.isLastToken; not taking it for 'no more data'",
                        endpoint=self.path,
                        request_id=stream.request_id,
                    )
                filename, next_token = stream.filename, stream.siem_token
                if not next_token:
                    raise ProtocolError(
                        f"{self.path} sent a file without an mc-siem-token header; the stream "
                        "cannot move past it",
                        endpoint=self.path,
                        request_id=stream.request_id,
                    )
                parts: list[bytes] = []
                try:
                    for chunk in stream.iter_bytes():
                        parts.append(chunk)
                except TransportError as exc:
                    error = f"download broke off: {exc}"
                    content = b"".join(parts)
                    continue
            content = b"".join(parts)
            try:
                records = parse_siem_file(content, filename=filename, token=next_token)
            except BadFile as exc:
                error = str(exc)
                continue
            times = [r.time for r in records if r.time is not None]
            return Batch(
                records,
                {"token": next_token, "file": filename},
                False,
                filename or next_token,
                rate_limit=rate,
                retried_files=attempt - 1,
                position_time=max(times) if times else None,
                size=len(content),
            )
        assert next_token is not None
        kept = self._quarantine(content, token, next_token, filename, error)
        return Batch(
            [],
            {"token": next_token, "file": filename},
            False,
            filename or next_token,
            quarantined=kept,
            rate_limit=rate,
            retried_files=self.file_attempts - 1,
            size=len(content),
        )

    def _quarantine(
        self, content: bytes, token: str | None, next_token: str, filename: str | None, error: str
    ) -> Quarantined:
        folder = self.quarantine / self.name
        folder.mkdir(parents=True, exist_ok=True)
        stem = filename or ("token-" + hashlib.sha256(next_token.encode()).hexdigest()[:20])
        target = folder / stem
        write_atomic(target, content)
        meta = {
            "file": filename,
            "requested_with_token": token,
            "mc_siem_token": next_token,
            "error": error,
            "attempts": self.file_attempts,
            "size": len(content),
            "kept_at": datetime.now(UTC).isoformat(),
        }
        write_atomic(folder / f"{stem}.error.json", orjson.dumps(meta, option=orjson.OPT_INDENT_2))
        return Quarantined(target, token, next_token, filename, error, self.file_attempts)


def _fmt(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class WindowSource:
    """A paged function read in overlapping time windows (see the module doc)."""

    name: str = "audit"
    path: str = "/api/audit/get-audit-events"
    start_field: str = "startDateTime"
    end_field: str = "endDateTime"
    extra: Mapping[str, Any] = field(default_factory=dict)
    list_field: str | None = None  # records under data[i][list_field]; None: data items
    time_field: str = "eventTime"
    id_field: str | None = "id"  # the platform's id; None: content ids
    margin: int = DEFAULT_MARGIN
    window: int = DEFAULT_WINDOW
    lookback: int = DEFAULT_LOOKBACK
    since: float | None = None
    page_size: int = 500
    clock: Callable[[], float] = field(default=lambda: datetime.now(UTC).timestamp())
    unit: str = "pages"

    def _records(self, data: Sequence[Any]) -> Iterable[Mapping[str, Any]]:
        for item in data:
            if not isinstance(item, Mapping):
                continue
            if self.list_field is None:
                yield item
            else:
                inner = item.get(self.list_field)
                if isinstance(inner, list):
                    yield from (r for r in inner if isinstance(r, Mapping))

    def next_batch(self, client: Client, state: Mapping[str, Any] | None) -> Batch:
        now = int(self.clock())
        if state and "since" in state:
            since = int(state["since"])
        else:
            since = int(self.since if self.since is not None else now - self.lookback)
        recent: dict[str, float] = dict((state or {}).get("recent", {}))
        start = since - self.margin
        end = max(since, min(since + self.window, now))
        item = {self.start_field: _fmt(start), self.end_field: _fmt(end), **self.extra}
        rows: list[Mapping[str, Any]] = []
        pages = 0
        token: str | None = None
        rate: RateLimit | None = None
        while True:
            result = client.call(self.path, [item], page_size=self.page_size, page_token=token)
            result.raise_for_failures()
            pages += 1
            rate = result.rate_limit or rate
            rows.extend(self._records(result.data))
            following = result.next_page_token
            if following is None:
                break
            if following == token:
                raise ProtocolError(
                    f"{self.path} answered the page token it was sent; stopping instead of looping",
                    endpoint=self.path,
                    request_id=result.request_id,
                )
            token = following
        # the platform's id where the record has one, else the content id
        hashed = content_ids(self.name, rows)
        ids = []
        for row, fallback in zip(rows, hashed, strict=True):
            own = row.get(self.id_field) if self.id_field else None
            has_own = isinstance(own, str | int) and own != ""
            ids.append(f"{self.name}:{own}" if has_own else fallback)
        source = {"page": self.path, "from": _fmt(start), "to": _fmt(end)}
        records: list[OutRecord] = []
        seen: set[str] = set()
        for record_id, row in zip(ids, rows, strict=True):
            when = parse_time(row.get(self.time_field))
            if record_id not in recent and record_id not in seen:
                records.append(OutRecord(record_id, self.name, source, row, when))
            seen.add(record_id)
            recent[record_id] = when if when is not None else float(end)
        edge = end - self.margin
        kept = {k: v for k, v in recent.items() if v >= edge}
        return Batch(
            records,
            {"since": end, "recent": kept},
            end >= now,
            f"{_fmt(start)}..{_fmt(end)}",
            units=pages,
            rate_limit=rate,
            position_time=float(end),  # every event up to here is stored
        )


#: The streams ``mcapi collect`` knows, by name.
STREAMS: tuple[str, ...] = ("siem", "audit", "ttp-url", "ttp-attachment", "ttp-impersonation")


def make_source(
    name: str,
    *,
    file_format: str = "json",
    compress: bool = False,
    quarantine: str | os.PathLike[str] = "quarantine",
    margin: int = DEFAULT_MARGIN,
    window: int = DEFAULT_WINDOW,
    lookback: int = DEFAULT_LOOKBACK,
    since: float | None = None,
    clock: Callable[[], float] | None = None,
    page_size: int = 500,
) -> Source:
    """The source of a stream named in :data:`STREAMS`."""
    if name == "siem":
        return SiemSource(file_format=file_format, compress=compress, quarantine=Path(quarantine))
    common: dict[str, Any] = {
        "margin": margin, "window": window, "lookback": lookback, "since": since,
        "page_size": page_size,
    }  # fmt: skip
    if clock is not None:
        common["clock"] = clock
    if name == "audit":
        return WindowSource(name="audit", **common)
    # Request fields and record shapes as public integrations send and read them (elastic
    # integrations, packages/mimecast/data_stream/ttp_{ap,ip}_logs): attachment logs carry no id
    # (so content ids), impersonation logs carry ``id`` and ``eventTime``.
    ttp: dict[str, dict[str, Any]] = {
        "ttp-url": {
            "path": "/api/ttp/url/get-logs", "list_field": "clickLogs", "time_field": "date",
            "id_field": None, "extra": {"oldestFirst": True},
        },
        "ttp-attachment": {
            "path": "/api/ttp/attachment/get-logs", "list_field": "attachmentLogs",
            "time_field": "date", "id_field": None,
            "extra": {"oldestFirst": True, "route": "all", "result": "all"},
        },
        "ttp-impersonation": {
            "path": "/api/ttp/impersonation/get-logs", "list_field": "impersonationLogs",
            "time_field": "eventTime", "id_field": "id", "extra": {"oldestFirst": True},
        },
    }  # fmt: skip
    if name not in ttp:
        raise ValueError(f"unknown stream {name!r}; known: {', '.join(STREAMS)}")
    return WindowSource(name=name, start_field="from", end_field="to", **ttp[name], **common)
