"""Where records go: a directory of JSONL files, stdout, or a Splunk HTTP Event Collector.

Theory of operation
-------------------
The collector talks to a sink in four steps per stream: ``open_stream(stream, position)`` once
(recovery), then per batch ``write(stream, records)``, ``commit(stream)`` and, after the
checkpoint is saved, ``checkpointed(stream)``. ``commit`` returns only when everything written
so far is durable (or raises :class:`SinkError`), and returns the sink's position, which the
checkpoint keeps.

:class:`DirectorySink` writes ``DIR/<stream>.jsonl``; ``commit`` flushes and fsyncs it. When the
file passes ``max_bytes`` it is renamed ``<stream>-<N>.jsonl`` (N = 1, 2, ...), but only in
``checkpointed``, so at most one rotation separates the file a checkpoint names from the current
one. On ``open_stream`` the sink cuts a half-written last line (a crash in the middle of a
write), then reads back the ids of every record after the checkpoint's position: those were
written by a run that died before its checkpoint, and the collector skips them when they come
again. So the directory sink gives exactly-once output across crashes.

:class:`StdoutSink` and :class:`HecSink` cannot read back what they delivered: after a crash
between delivery and checkpoint the records of that one batch are delivered again (each with the
same ``id``, so the consumer can drop them). :class:`HecSink` posts batches in the Splunk HTTP
Event Collector format and counts a batch as accepted only on an HTTP 200 whose JSON ``code`` is
0; a refusal or a timeout raises :class:`SinkError`, and what was not accepted stays pending, so
a retry sends only the rest and nothing is checkpointed past what the receiver accepted.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import orjson

from mcapi.collect._records import OutRecord

__all__ = ["DirectorySink", "HecSink", "Sink", "SinkError", "StdoutSink"]

Position = dict[str, Any] | None


class SinkError(RuntimeError):
    """The sink did not accept the records (disk error, receiver refused or timed out)."""


class Sink(Protocol):
    """What the collector writes to; see the module doc."""

    def open_stream(self, stream: str, position: Position) -> set[str]:
        """Recover after a crash; the ids written after ``position``."""
        ...

    def write(self, stream: str, records: Sequence[OutRecord]) -> None: ...

    def commit(self, stream: str) -> Position:
        """Make everything written durable; the position to checkpoint."""
        ...

    def checkpointed(self, stream: str) -> None:
        """The checkpoint of the last commit is saved (the sink may rotate now)."""
        ...

    def close(self) -> None: ...


class _File:
    """One stream's current file, opened for appending."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] = open(path, "ab")  # noqa: SIM115 - kept open across batches
        self.size = self.handle.tell()


class DirectorySink:
    """JSONL files, one per stream, rotated by size (see the module doc)."""

    def __init__(self, directory: str | os.PathLike[str], *, max_bytes: int = 256 * 2**20) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._files: dict[str, _File] = {}

    def current(self, stream: str) -> Path:
        return self.directory / f"{stream}.jsonl"

    def rotated(self, stream: str) -> list[Path]:
        """The rotated files of a stream, oldest first."""
        pattern = re.compile(rf"^{re.escape(stream)}-(\d+)\.jsonl$")
        found = []
        for path in self.directory.glob(f"{stream}-*.jsonl"):
            match = pattern.match(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return [path for _, path in sorted(found)]

    def files(self, stream: str) -> list[Path]:
        """Every file of a stream in write order."""
        current = self.current(stream)
        return [*self.rotated(stream), *([current] if current.exists() else [])]

    def open_stream(self, stream: str, position: Position) -> set[str]:
        current = self.current(stream)
        if current.exists():
            _cut_partial_line(current)
        rotations = len(self.rotated(stream))
        ids: set[str] = set()
        if position is not None:
            seen_rotations, offset = int(position["rotations"]), int(position["offset"])
            tail: list[tuple[Path, int]] = []
            if rotations > seen_rotations:  # rotated after the checkpoint: read on from there
                tail.append((self.directory / f"{stream}-{seen_rotations + 1}.jsonl", offset))
                tail.append((current, 0))
            else:
                tail.append((current, offset))
            for path, start in tail:
                ids.update(_ids_from(path, start))
        else:
            for path in self.files(stream):
                ids.update(_ids_from(path, 0))
        self._files[stream] = _File(current)
        return ids

    def write(self, stream: str, records: Sequence[OutRecord]) -> None:
        file = self._files[stream]
        payload = b"".join(record.to_json() for record in records)
        try:
            file.handle.write(payload)
        except OSError as exc:
            raise SinkError(f"cannot write {file.path}: {exc}") from exc
        file.size += len(payload)

    def commit(self, stream: str) -> Position:
        file = self._files[stream]
        try:
            file.handle.flush()
            os.fsync(file.handle.fileno())
        except OSError as exc:
            raise SinkError(f"cannot sync {file.path}: {exc}") from exc
        return {"rotations": len(self.rotated(stream)), "offset": file.size}

    def checkpointed(self, stream: str) -> None:
        file = self._files[stream]
        if file.size < self.max_bytes:
            return
        file.handle.close()
        target = self.directory / f"{stream}-{len(self.rotated(stream)) + 1}.jsonl"
        os.replace(file.path, target)
        self._files[stream] = _File(file.path)

    def close(self) -> None:
        for file in self._files.values():
            file.handle.close()
        self._files.clear()


def _cut_partial_line(path: Path) -> None:
    """Drop a last line without its newline: a write the crash cut short."""
    with open(path, "rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        step = 64 * 1024
        end = size
        while end > 0:
            start = max(0, end - step)
            handle.seek(start)
            chunk = handle.read(end - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        else:
            keep = 0
        if keep != size:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())


def _ids_from(path: Path, offset: int) -> set[str]:
    ids: set[str] = set()
    if not path.exists():
        return ids
    with open(path, "rb") as handle:
        handle.seek(offset)
        for line in handle:
            if line.endswith(b"\n"):
                ids.add(str(orjson.loads(line)["id"]))
    return ids


class StdoutSink:
    """JSONL on standard output, for piping (delivered at least once; see the module doc)."""

    def __init__(self, out: IO[bytes] | None = None) -> None:
        self._out = out if out is not None else sys.stdout.buffer
        self._lock = threading.Lock()

    def open_stream(self, stream: str, position: Position) -> set[str]:
        return set()

    def write(self, stream: str, records: Sequence[OutRecord]) -> None:
        payload = b"".join(record.to_json() for record in records)
        with self._lock:
            try:
                self._out.write(payload)
            except (OSError, ValueError) as exc:
                raise SinkError(f"cannot write to stdout: {exc}") from exc

    def commit(self, stream: str) -> Position:
        with self._lock:
            try:
                self._out.flush()
            except (OSError, ValueError) as exc:
                raise SinkError(f"cannot flush stdout: {exc}") from exc
        return None

    def checkpointed(self, stream: str) -> None:
        return None

    def close(self) -> None:
        return None


class HecSink:
    """Batches posted to a Splunk HTTP Event Collector (``/services/collector/event``).

    Each record becomes ``{"time", "host", "source", "sourcetype", "event"}`` with ``event``
    the JSON line the directory sink would write; ``sourcetype`` is ``mimecast:<stream>``.
    ``batch_size`` records go in one POST (events concatenated, as HEC accepts them).
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        batch_size: int = 500,
        timeout: float = 30.0,
        host: str | None = None,
        index: str | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: bool = True,
    ) -> None:
        self.url = url
        self.batch_size = batch_size
        self.host = host
        self.index = index
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            verify=verify,
            headers={"Authorization": f"Splunk {token}"},
        )
        self._pending: dict[str, list[bytes]] = {}
        self.accepted = 0

    def _event(self, record: OutRecord) -> bytes:
        event: dict[str, Any] = {
            "source": f"mcapi:{record.stream}",
            "sourcetype": f"mimecast:{record.stream}",
            "event": {
                "id": record.id,
                "stream": record.stream,
                "source": record.source,
                "record": record.record,
            },
        }
        if record.time is not None:
            event["time"] = record.time
        if self.host:
            event["host"] = self.host
        if self.index:
            event["index"] = self.index
        return orjson.dumps(event)

    def open_stream(self, stream: str, position: Position) -> set[str]:
        self._pending[stream] = []
        return set()

    def write(self, stream: str, records: Sequence[OutRecord]) -> None:
        self._pending[stream].extend(self._event(r) for r in records)

    def commit(self, stream: str) -> Position:
        pending = self._pending[stream]
        while pending:
            batch = pending[: self.batch_size]
            try:
                answer = self._http.post(self.url, content=b"\n".join(batch))
            except httpx.HTTPError as exc:
                raise SinkError(f"HEC at {self.url}: {type(exc).__name__}: {exc}") from exc
            code = _hec_code(answer)
            if answer.status_code != 200 or code != 0:
                raise SinkError(
                    f"HEC at {self.url} refused {len(batch)} events: HTTP {answer.status_code} "
                    f"{answer.text[:200]}"
                )
            del pending[: len(batch)]  # accepted: never sent again
            self.accepted += len(batch)
        return None

    def checkpointed(self, stream: str) -> None:
        return None

    def close(self) -> None:
        self._http.close()


def _hec_code(answer: httpx.Response) -> int | None:
    try:
        body = answer.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None
