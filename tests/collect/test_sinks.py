"""Sinks: a Splunk HEC receiver that accepts, refuses and times out; stdout; rotation."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest

from mcapi.collect import (
    Collector,
    DirectorySink,
    FileCheckpoints,
    HecSink,
    OutRecord,
    StdoutSink,
    make_source,
)
from tests.collect.conftest import Tenant, read_output

TOKEN = "00000000-0000-0000-0000-000000000001"


class Receiver:
    """A small HEC endpoint on loopback: ``mode`` is ``accept``, ``refuse`` (503, code 9,
    what Splunk answers when busy) or ``hang`` (answers after ``hang_seconds``, dropping the
    events, as a receiver that never accepted them)."""

    def __init__(self) -> None:
        self.mode = "accept"
        self.hang_seconds = 1.0
        self.events: list[dict[str, object]] = []
        self.posts = 0
        self.refused = 0
        self.tokens: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts += 1
                receiver.tokens.add(self.headers.get("Authorization", ""))
                if receiver.mode == "refuse":
                    receiver.refused += 1
                    self._answer(503, {"text": "Server is busy", "code": 9})
                    return
                if receiver.mode == "hang":
                    time.sleep(receiver.hang_seconds)
                    self._answer(503, {"text": "Server is busy", "code": 9})
                    return
                decoder = json.JSONDecoder()
                text, at = body.decode(), 0
                while at < len(text):
                    event, at = decoder.raw_decode(text, at)
                    receiver.events.append(event)
                    while at < len(text) and text[at].isspace():
                        at += 1
                self._answer(200, {"text": "Success", "code": 0})

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the "hang" mode)

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/collector/event"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def _run(
    tenant: Tenant, sink: object, state: Path, streams: list[str], **options: object
) -> Collector:
    sources = [make_source(s, quarantine=state / "q", clock=tenant.emu.clock.now) for s in streams]
    c = Collector(
        sources, sink, FileCheckpoints(state), sleep=tenant.sleep,  # type: ignore[arg-type]
        clock=tenant.emu.clock.now, max_sink_retries=3, **options,  # type: ignore[arg-type]
    )  # fmt: skip
    with tenant.client(event_hook=c.on_attempt) as client:
        c.run(client)
    return c


def _ids(receiver: Receiver) -> list[str]:
    return [str(e["event"]["id"]) for e in receiver.events]  # type: ignore[index]


def test_hec_gets_every_record_in_hec_format(
    tenant: Tenant, tmp_path: Path, receiver: Receiver
) -> None:
    sink = HecSink(receiver.url, TOKEN, batch_size=100)
    c = _run(tenant, sink, tmp_path / "state", ["siem", "audit"])
    sink.close()
    ids = _ids(receiver)
    assert len(ids) == len(set(ids)) == sum(s.records for s in c.stats.values())
    assert receiver.tokens == {f"Splunk {TOKEN}"}
    first = receiver.events[0]
    assert first["sourcetype"] in ("mimecast:siem", "mimecast:audit")
    assert isinstance(first["time"], float) and first["event"]["record"]  # type: ignore[index]


def test_hec_refusing_then_accepting_loses_and_doubles_nothing(
    tenant: Tenant, tmp_path: Path, receiver: Receiver
) -> None:
    reference = HecSink(receiver.url, TOKEN)
    _run(tenant, reference, tmp_path / "reference", ["siem"])
    reference.close()
    want = sorted(_ids(receiver))
    receiver.events.clear()
    receiver.mode = "refuse"
    sink = HecSink(receiver.url, TOKEN, batch_size=200)
    state = tmp_path / "state"
    c = _run(tenant, sink, state, ["siem"])
    # the receiver refused everything: the stream stopped and nothing was checkpointed
    assert c.stats["siem"].error and "refused" in c.stats["siem"].error
    assert c.stats["siem"].sink_retries == 3
    saved = FileCheckpoints(state).load("siem")
    assert saved is None or saved.get("state") is None
    receiver.mode = "accept"
    c = _run(tenant, sink, state, ["siem"])
    sink.close()
    assert c.stats["siem"].error is None
    assert sorted(_ids(receiver)) == want


def test_hec_timing_out_is_not_checkpointed(
    tenant: Tenant, tmp_path: Path, receiver: Receiver
) -> None:
    reference = _run(tenant, DirectorySink(tmp_path / "ref"), tmp_path / "ref-state", ["audit"])
    receiver.mode = "hang"
    receiver.hang_seconds = 1.0
    sink = HecSink(receiver.url, TOKEN, timeout=0.2)
    state = tmp_path / "state"
    c = _run(tenant, sink, state, ["audit"])
    assert c.stats["audit"].error and "ReadTimeout" in c.stats["audit"].error
    saved = FileCheckpoints(state).load("audit") or {}
    assert saved.get("records", 0) == 0  # only windows without records moved the checkpoint
    receiver.mode = "accept"
    c = _run(tenant, sink, state, ["audit"])
    sink.close()
    ids = _ids(receiver)
    assert len(ids) == len(set(ids)) == reference.stats["audit"].records > 0


def test_stdout_sink_writes_jsonl(tenant: Tenant, tmp_path: Path) -> None:
    out = io.BytesIO()
    c = _run(tenant, StdoutSink(out), tmp_path / "state", ["audit"])
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == c.stats["audit"].records > 0
    assert all(line["stream"] == "audit" and line["id"].startswith("audit:") for line in lines)


def test_directory_sink_rotates_by_size(tenant: Tenant, tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path / "out", max_bytes=100_000)
    # a file is rotated at the first checkpoint past the size: checkpoint every 200 records
    c = _run(tenant, sink, tmp_path / "state", ["siem"], commit_records=200)
    sink.close()
    rotated = sink.rotated("siem")
    assert len(rotated) >= 5
    assert [p.name for p in rotated[:2]] == ["siem-1.jsonl", "siem-2.jsonl"]
    records = read_output(tmp_path / "out", "siem")
    assert len(records) == len({r["id"] for r in records}) == c.stats["siem"].records


def _records(n: int, start: int = 0) -> list[OutRecord]:
    return [OutRecord(f"siem:f:{i}", "siem", {"file": "f"}, {"n": i}) for i in range(start, n)]


def test_directory_sink_reads_back_what_followed_the_checkpoint(tmp_path: Path) -> None:
    """A crash after writing past the checkpoint, in the middle of a line: on start the half line
    is cut and the ids written after the checkpoint's position are given back."""
    sink = DirectorySink(tmp_path, max_bytes=10**9)
    sink.open_stream("siem", None)
    sink.write("siem", _records(10))
    position = sink.commit("siem")
    sink.write("siem", _records(15, 10))
    sink.commit("siem")
    sink.close()
    with open(tmp_path / "siem.jsonl", "ab") as handle:
        handle.write(b'{"id": "siem:f:15", "str')  # the crash cut this write
    reopened = DirectorySink(tmp_path)
    assert reopened.open_stream("siem", position) == {f"siem:f:{i}" for i in range(10, 15)}
    assert (tmp_path / "siem.jsonl").read_bytes().endswith(b"}\n")
    reopened.close()


def test_directory_sink_reads_back_across_a_rotation(tmp_path: Path) -> None:
    sink = DirectorySink(tmp_path, max_bytes=100)
    sink.open_stream("siem", None)
    sink.write("siem", _records(3))
    position = sink.commit("siem")
    sink.write("siem", _records(5, 3))
    sink.commit("siem")
    sink.checkpointed("siem")  # past 100 bytes: rotated to siem-1.jsonl
    sink.write("siem", _records(7, 5))
    sink.commit("siem")
    sink.close()
    assert [p.name for p in sink.rotated("siem")] == ["siem-1.jsonl"]
    reopened = DirectorySink(tmp_path, max_bytes=100)
    ids = reopened.open_stream("siem", position)
    assert ids == {f"siem:f:{i}" for i in range(3, 7)}
    reopened.close()
