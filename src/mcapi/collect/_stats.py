"""What the collector tells people: per-stream counters and the events behind them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CollectEvent", "StreamStats"]


@dataclass(frozen=True, slots=True)
class CollectEvent:
    """One thing that happened to a stream, for logs and the live display.

    ``kind`` is one of ``batch`` (records stored), ``caught_up``, ``wait`` (a pause and its
    reason), ``retry`` (a batch or file fetched again), ``quarantine``, ``error`` (the stream
    stopped), ``lease`` (waiting for another process's lease), ``stopped``.
    """

    stream: str
    kind: str
    message: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class StreamStats:
    """Running totals of one stream (read by the live display and the summary)."""

    stream: str
    unit: str = "pages"
    records: int = 0  # committed: durable in the sink and checkpointed
    written: int = 0  # handed to the sink, committed or not (what the live display shows)
    skipped: int = 0  # duplicates recognised by id and not written again
    units: int = 0  # files or pages
    bytes: int = 0  # size of the files fetched (file streams)
    batches: int = 0
    quarantined: int = 0
    file_retries: int = 0  # SIEM files fetched again after a parse failure or a broken download
    batch_retries: int = 0  # batches fetched again after the client gave up
    client_retries: int = 0  # attempts the client repeated after a 5xx or a broken connection
    quota_waits: int = 0
    refreshes: int = 0  # bindings refreshed or logged in again
    sink_retries: int = 0
    quota_remaining: int | None = None
    last_wait: str | None = None
    #: when the client's current wait (for quota, or before a retry) ends (monotonic seconds)
    wait_until: float | None = None
    caught_up: bool = False
    error: str | None = None
    exit_error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)

    def wait_left(self, now: float | None = None) -> float:
        """Seconds left of the client's current wait (0 when it is not waiting)."""
        if self.wait_until is None:
            return 0.0
        return max(0.0, self.wait_until - (now if now is not None else time.monotonic()))

    def rate(self, now: float | None = None) -> float:
        """Records written per second since the stream started."""
        elapsed = (now if now is not None else time.monotonic()) - self.started
        return self.written / elapsed if elapsed > 0 else 0.0

    @property
    def recoveries(self) -> int:
        """Every failure the stream recovered from."""
        return (
            self.file_retries
            + self.batch_retries
            + self.client_retries
            + self.quota_waits
            + self.refreshes
            + self.sink_retries
            + self.quarantined
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "records": self.records,
            "duplicates_skipped": self.skipped,
            self.unit: self.units,
            "bytes": self.bytes,
            "quarantined": self.quarantined,
            "recoveries": self.recoveries,
            "file_retries": self.file_retries,
            "batch_retries": self.batch_retries,
            "client_retries": self.client_retries,
            "quota_waits": self.quota_waits,
            "refreshes": self.refreshes,
            "sink_retries": self.sink_retries,
            "quota_remaining": self.quota_remaining,
            "caught_up": self.caught_up,
            "error": self.error,
        }


Listener = Callable[[CollectEvent], None]
