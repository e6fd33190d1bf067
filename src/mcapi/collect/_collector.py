"""The collector: runs each stream's source into a sink and moves checkpoints that cannot lie.

Theory of operation
-------------------
Each stream runs in its own thread (the client is shared: one quota, one binding refresh) and
repeats one step:

1. take (or renew) the stream's lease in the checkpoint store; wait while another process has it;
2. ``source.next_batch(state)``: one SIEM file, or one time window of pages;
3. drop the records whose id the sink read back at start (written after the last checkpoint by a
   run that died) and write the rest;
4. ``sink.commit``: flushed and fsynced (or accepted by the receiver);
5. save the checkpoint (the source's new state and the sink's position), atomically;
6. ``sink.checkpointed`` (the sink may rotate its file now).

Steps 4-6 cost three fsyncs, so several batches share them: a commit follows at most
``commit_records`` records or ``commit_seconds`` seconds after the previous one, and always when
the stream catches up, before any wait and when it stops.

A crash anywhere leaves the checkpoint at the end of step 5 of some earlier batch, and everything
after it is either not written at all or read back and skipped in step 3: no record is lost and
none is written twice.

What the platform answers decides what happens. The client already refreshes an expired binding
(418), waits out a 429 and paces by the remaining quota, and retries 5xx and broken connections
within its budget. When it gives up on a transient failure, the collector fetches the batch again
after a backoff, ``max_batch_retries`` times in a row at most; any other error (401, 403, a 418
that cannot be refreshed...) and any ``fail`` entry (``err_audit_siem_invalid_token``) stops the
stream with the catalogue's meaning and remedy, leaving its checkpoint where it was. A stream
that stops does not stop the others.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcapi._errors import (
    FunctionFailed,
    MimecastError,
    ProtocolError,
    QuotaExceeded,
    ServerError,
    TransportError,
)
from mcapi.client import AttemptEvent, Client
from mcapi.collect._checkpoint import CheckpointStore, LeaseLost
from mcapi.collect._sinks import Sink, SinkError
from mcapi.collect._sources import Batch, Source
from mcapi.collect._stats import CollectEvent, Listener, StreamStats

__all__ = ["Collector", "explain"]


def explain(error: MimecastError) -> str:
    """One paragraph a person can act on: what was refused, what it means, what to do."""
    entry = error.entry
    if isinstance(error, FunctionFailed):
        head = "a fail entry in a 200 answer"
    elif error.status is not None:
        head = f"HTTP {error.status}" + (f" {error.sub_code}" if error.sub_code else "")
    else:
        head = type(error).__name__
    codes = ", ".join([head, *error.body_codes])
    text = f"{error.endpoint or 'the call'} was refused ({codes})"
    if error.messages:
        text += f": {'; '.join(error.messages)}"
    if entry is not None:
        text += f". {entry.meaning} Remedy: {entry.remedy}"
    if isinstance(error, FunctionFailed):
        text += " This is a refusal, not the end of the data: the checkpoint was not moved."
    return text


@dataclass
class _Pending:
    """What was written since the last checkpoint: the checkpoint to save at the next commit."""

    state: dict[str, Any] = field(default_factory=dict)
    records: int = 0
    units: int = 0
    batches: int = 0
    quarantined: int = 0
    position_time: float | None = None
    caught_up: bool = False
    started: float = field(default_factory=time.monotonic)

    def add(self, batch: Batch, written: int) -> _Pending:
        self.state = batch.state
        self.records += written
        self.units += batch.units
        self.batches += 1
        self.quarantined += 1 if batch.quarantined is not None else 0
        if batch.position_time is not None:
            self.position_time = batch.position_time
        self.caught_up = batch.caught_up
        return self


def _transient(error: MimecastError) -> bool:
    if isinstance(error, TransportError | ServerError | QuotaExceeded | ProtocolError):
        return True
    return error.entry is not None and error.entry.retryable


class Collector:
    """Collects ``sources`` into ``sink``, with checkpoints in ``store``.

    Options: ``follow`` (poll again every ``interval`` seconds after catching up, until
    :meth:`stop`), ``max_batch_retries`` (a batch fetched again after the client gave up on a
    transient failure), ``backoff``/``max_backoff`` (seconds, doubled per retry),
    ``max_sink_retries``, ``lease_poll`` (seconds between tries for a stream another process
    owns), ``commit_records``/``commit_seconds`` (several batches share one commit and
    checkpoint, at most this many records or seconds apart; a batch that catches up, a wait and
    a stop always commit), ``listener`` (called with every :class:`CollectEvent`), ``sleep``
    (how to wait; default: an interruptible wait on the stop flag; tests advance the emulator's
    clock instead) and ``clock`` (epoch seconds, for the checkpoints' times).
    """

    def __init__(
        self,
        sources: Sequence[Source],
        sink: Sink,
        store: CheckpointStore,
        *,
        follow: bool = False,
        interval: float = 60.0,
        max_batch_retries: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        max_sink_retries: int = 5,
        lease_poll: float = 5.0,
        commit_records: int = 10_000,
        commit_seconds: float = 2.0,
        listener: Listener | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"a stream is named twice: {names}")
        self.sources = list(sources)
        self.sink = sink
        self.store = store
        self.follow = follow
        self.interval = interval
        self.max_batch_retries = max_batch_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_sink_retries = max_sink_retries
        self.lease_poll = lease_poll
        self.commit_records = commit_records
        self.commit_seconds = commit_seconds
        self.listener = listener
        self.clock = clock
        self._sleep = sleep
        self._stop = threading.Event()
        self._by_path = {s.path: s.name for s in self.sources}
        self.stats = {s.name: StreamStats(s.name, unit=s.unit) for s in self.sources}

    # ---- control --------------------------------------------------------------------------------

    def stop(self) -> None:
        """Finish the batch in hand, checkpoint it and return (SIGINT/SIGTERM in follow mode)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _wait(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stop.wait(seconds)

    def _emit(self, stream: str, kind: str, message: str, **data: Any) -> None:
        if self.listener is not None:
            self.listener(CollectEvent(stream, kind, message, data))

    def on_attempt(self, event: AttemptEvent) -> None:
        """The client's ``event_hook``: counts its retries, quota waits and refreshes."""
        stream = self._by_path.get(event.path)
        if stream is None:
            return
        stats = self.stats[stream]
        code = " ".join(str(c) for c in (event.status, event.sub_code) if c is not None)
        if event.outcome == "retry":
            stats.client_retries += 1
            what = f"retry {event.retries}/{event.max_attempts - 1} after {code or 'no answer'}"
            stats.last_wait = what
            stats.wait_until = time.monotonic() + event.delay
            self._emit(stream, "retry", f"{what} in {event.delay:.1f}s: {event.reason}")
        elif event.outcome == "wait":
            stats.quota_waits += 1
            stats.last_wait = f"quota spent ({code})"
            stats.wait_until = time.monotonic() + event.delay
            self._emit(stream, "wait", f"waiting {event.delay:.1f}s for quota: {event.reason}")
        elif event.outcome in ("refresh", "relogin"):
            stats.refreshes += 1
            self._emit(stream, "wait", f"renewing the binding: {event.reason}")

    # ---- running --------------------------------------------------------------------------------

    def run(self, client: Client) -> dict[str, StreamStats]:
        """Run every stream to the end (caught up, stopped, or failed); returns the totals."""
        threads = [
            threading.Thread(
                target=self.run_stream, args=(client, source), name=f"collect-{source.name}"
            )
            for source in self.sources
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.stats

    def run_stream(self, client: Client, source: Source) -> StreamStats:
        """Run one stream in this thread (see the module doc)."""
        stats = self.stats[source.name]
        try:
            self._run(client, source, stats)
        except LeaseLost as exc:
            self._fail(source.name, stats, str(exc), exc, save=None)
        except Exception as exc:  # a stream's crash is reported, the other streams go on
            self._fail(source.name, stats, f"{type(exc).__name__}: {exc}", exc, save=None)
            raise
        finally:
            self.store.release(source.name)
        return stats

    def _take(self, name: str) -> bool:
        waited = False
        while not self._stop.is_set():
            if self.store.acquire(name):
                return True
            if not waited:
                self._emit(name, "lease", "another collector owns this stream; waiting")
                waited = True
            self.stats[name].last_wait = "another collector owns the stream"
            self._wait(self.lease_poll)
        return False

    def _run(self, client: Client, source: Source, stats: StreamStats) -> None:
        name = source.name
        if not self._take(name):
            return
        checkpoint: dict[str, Any] = self.store.load(name) or {}
        skip = self.sink.open_stream(name, checkpoint.get("sink"))
        state = checkpoint.get("state")
        pending: _Pending | None = None  # written since the last checkpoint, not yet committed
        failures = 0
        while not self._stop.is_set():
            if not self.store.acquire(name):  # the lease was taken over: stop writing
                self._emit(name, "lease", "lost the stream to another collector; waiting")
                if not self._take(name):
                    return
                checkpoint = self.store.load(name) or {}
                skip = self.sink.open_stream(name, checkpoint.get("sink"))
                state, pending = checkpoint.get("state"), None
            try:
                batch = source.next_batch(client, state)
            except MimecastError as exc:
                if pending is not None:  # what was written is checkpointed before any wait
                    saved = self._commit(name, source, pending, checkpoint, stats)
                    if saved is None:
                        return
                    checkpoint, pending = saved, None
                retry = not isinstance(exc, FunctionFailed) and _transient(exc)
                if retry and failures < self.max_batch_retries:
                    failures += 1
                    stats.batch_retries += 1
                    delay = min(self.max_backoff, self.backoff * 2 ** (failures - 1))
                    stats.last_wait = f"backoff after: {exc}"
                    stats.wait_until = time.monotonic() + delay
                    self._emit(name, "retry", f"fetching again in {delay:.1f}s: {exc}")
                    self._wait(delay)
                    continue
                self._fail(name, stats, explain(exc), exc, save=checkpoint)
                return
            failures = 0
            written = self._write(name, batch, skip, stats, checkpoint)
            if written is None:
                return
            state = batch.state
            pending = (pending or _Pending()).add(batch, written)
            if (
                batch.caught_up
                or pending.records >= self.commit_records
                or time.monotonic() - pending.started >= self.commit_seconds
            ):
                saved = self._commit(name, source, pending, checkpoint, stats)
                if saved is None:
                    return
                checkpoint, pending = saved, None
            if batch.caught_up:
                if not stats.caught_up:
                    self._emit(name, "caught_up", "caught up", records=stats.records)
                stats.caught_up = True
                if not self.follow:
                    return
                stats.last_wait = "following: next poll"
                stats.wait_until = time.monotonic() + self.interval
                self._wait(self.interval)
            else:
                stats.caught_up = False
        if pending is not None and self._commit(name, source, pending, checkpoint, stats) is None:
            return
        self._emit(name, "stopped", "stopped after checkpointing", records=stats.records)

    def _write(
        self,
        name: str,
        batch: Batch,
        skip: set[str],
        stats: StreamStats,
        checkpoint: Mapping[str, Any],
    ) -> int | None:
        """Write a batch's new records (not yet durable); how many, or None when it failed."""
        stats.wait_until = None  # a batch came: whatever the stream waited for is over
        fresh = [r for r in batch.records if r.id not in skip]
        stats.skipped += len(batch.records) - len(fresh)
        # Renew the lease right before writing: a process whose lease lapsed (another took the
        # stream over) must not write. The lease must be much longer than one batch takes.
        if not self.store.acquire(name):
            raise LeaseLost(f"the lease on stream {name!r} was taken over; not writing")
        if fresh:
            try:
                self.sink.write(name, fresh)
            except SinkError as exc:
                self._fail(name, stats, str(exc), exc, save=checkpoint)
                return None
        stats.written += len(fresh)
        stats.units += batch.units
        stats.bytes += batch.size
        stats.file_retries += batch.retried_files
        if batch.rate_limit is not None and batch.rate_limit.remaining is not None:
            stats.quota_remaining = batch.rate_limit.remaining
        if batch.quarantined is not None:
            stats.quarantined += 1
            kept = batch.quarantined
            self._emit(
                name,
                "quarantine",
                f"QUARANTINED {kept.filename or kept.next_token} after {kept.attempts} attempts: "
                f"{kept.error}; kept in {kept.path}; the stream moves on",
                path=str(kept.path),
                token=kept.token,
                error=kept.error,
            )
        if batch.units:
            self._emit(
                name,
                "batch",
                f"{len(fresh)} records from {batch.label}",
                records=len(fresh),
                skipped=len(batch.records) - len(fresh),
            )
        return len(fresh)

    def _commit(
        self,
        name: str,
        source: Source,
        pending: _Pending,
        checkpoint: Mapping[str, Any],
        stats: StreamStats,
    ) -> dict[str, Any] | None:
        """Make the pending records durable, then save the checkpoint after them; the
        checkpoint saved, or None when the sink kept refusing (the stream stops)."""
        position = None
        for attempt in range(self.max_sink_retries + 1):
            try:
                position = self.sink.commit(name)
                break
            except SinkError as exc:
                if attempt == self.max_sink_retries or self._stop.is_set():
                    self._fail(name, stats, f"the sink refused: {exc}", exc, save=checkpoint)
                    return None
                stats.sink_retries += 1
                delay = min(self.max_backoff, self.backoff * 2**attempt)
                stats.last_wait = f"sink: {exc}"
                self._emit(name, "retry", f"sink refused, trying again in {delay:.1f}s: {exc}")
                self._wait(delay)
        now = self.clock()
        saved: dict[str, Any] = {
            "stream": name,
            "state": pending.state,
            "sink": position,
            "position_time": pending.position_time
            if pending.position_time is not None
            else checkpoint.get("position_time"),
            "records": int(checkpoint.get("records", 0)) + pending.records,
            source.unit: int(checkpoint.get(source.unit, 0)) + pending.units,
            "quarantined": int(checkpoint.get("quarantined", 0)) + pending.quarantined,
            "updated_at": now,
            "caught_up_at": now if pending.caught_up else checkpoint.get("caught_up_at"),
            "last_error": None,
        }
        self.store.save(name, saved)
        self.sink.checkpointed(name)
        stats.records += pending.records
        stats.batches += pending.batches
        return saved

    def _fail(
        self,
        name: str,
        stats: StreamStats,
        message: str,
        error: BaseException,
        *,
        save: Mapping[str, Any] | None,
    ) -> None:
        stats.error = message
        stats.exit_error = error
        self._emit(name, "error", message)
        if save is not None:
            # The position stays; only the error is recorded, for `mcapi collect status`.
            with contextlib.suppress(LeaseLost):
                self.store.save(name, {**save, "stream": name, "last_error": message})
