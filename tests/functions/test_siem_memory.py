"""Reading every SIEM file keeps the emulator's memory flat (the in-process twin of
bench/siem_memory.py).

A collector follows ``mc-siem-token`` from the oldest file to ``isLastToken`` through the ASGI app
itself, with a minimal ASGI client that counts the body bytes and drops them (an HTTP client that
buffers responses would measure itself). ``tracemalloc`` traces every Python allocation of the
process while the files stream: the peak above the starting point must stay far below the
largest file (an emulator that built a file in memory would need at least that) and a sliver of
all the bytes streamed (one that buffered the backlog would need all of them).
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials

pytestmark = pytest.mark.anyio
PATH = "/api/audit/get-siem-logs"
#: A busy day of a small tenant: the busiest half hour's receipt file is nearly 400 KiB (a dozen
#: pieces of 32 KiB), all files (one per log type and half hour) about 22 MB.
USERS, DAYS, MESSAGES_PER_USER_DAY = 50, 1, 300


@dataclass
class Download:
    """What the collector kept of one answer: never the body of a file, only its size."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    size: int = 0
    pieces: int = 0
    largest_piece: int = 0
    json_body: bytearray = field(default_factory=bytearray)

    @property
    def is_file(self) -> bool:
        return self.headers.get("content-type", "").startswith("application/octet-stream")


async def fetch(emu: Emulator, creds: EmulatorCredentials, item: dict[str, Any]) -> Download:
    """POST get-siem-logs straight to the ASGI app, counting (not keeping) what it streams."""
    headers = signed_headers(
        access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
        app_key=creds.app_key, path=PATH, date=format_date(emu.clock.now()),
        request_id=new_request_id(),
    )  # fmt: skip
    body = json.dumps({"data": [item]}).encode()
    headers |= {"content-type": "application/json", "content-length": str(len(body)),
                "host": urlsplit(creds.base_url).netloc}  # fmt: skip
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": PATH, "raw_path": PATH.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 50000), "server": ("emulator.test", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    sent = False
    out = Download()

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out.status = message["status"]
            out.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            piece = message.get("body", b"")
            if not out.is_file:
                out.json_body += piece
            elif piece:
                out.size += len(piece)
                out.pieces += 1
                out.largest_piece = max(out.largest_piece, len(piece))

    await emu.app(scope, receive, send)
    assert out.status == 200, bytes(out.json_body)
    return out


def log_type(download: Download) -> str:
    """The log type a file's name names (``receipt_20251009120000000.json``)."""
    return download.headers["content-disposition"].split('"')[1].rpartition("_")[0]


async def test_reading_every_siem_file_keeps_memory_flat() -> None:
    # signed with the emulator clock, set in the past; a short journal: it keeps one entry per
    # call, and this walk makes hundreds of calls
    config = EmulatorConfig(skew_reference="emulator", journal_size=10)
    emu = Emulator("sqlite://", kdf_n=2**10, config=config)
    emu.clock.set(1_760_000_000.0)
    creds = emu.load_demo()
    account = emu.store.find_account(creds.account_code)
    assert account is not None
    emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    counts = emu.generate(
        creds.account_code, seed=7, users=USERS, days=DAYS,
        messages_per_user_day=MESSAGES_PER_USER_DAY,
    )  # fmt: skip
    request = {"fileFormat": "json"}
    tracemalloc.start()
    try:
        # the first slot's files first (every log type): the allocations every kind of file
        # makes once (compiled SQL, caches)
        first = await fetch(emu, creds, request)
        assert first.is_file
        token = first.headers["mc-siem-token"]
        seen = {log_type(first)}
        warmup = 1
        while len(seen) < 9 and warmup < 60:
            first = await fetch(emu, creds, {**request, "token": token})
            assert first.is_file
            token = first.headers["mc-siem-token"]
            seen.add(log_type(first))
            warmup += 1
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        started = time.perf_counter()
        files, streamed, largest, largest_piece = (
            warmup,
            first.size,
            first.size,
            first.largest_piece,
        )
        while True:
            answer = await fetch(emu, creds, {**request, "token": token})
            if not answer.is_file:
                assert json.loads(answer.json_body)["meta"]["isLastToken"] is True
                break
            files += 1
            streamed += answer.size
            largest = max(largest, answer.size)
            largest_piece = max(largest_piece, answer.largest_piece)
            token = answer.headers["mc-siem-token"]
        current, peak = tracemalloc.get_traced_memory()
        growth = peak - baseline
        # what the calls keep (replay cache, rate limiter: a little per call) is not a file;
        # the peak above it is what streaming one file needed at most
        transient = peak - max(current, baseline)
        seconds = time.perf_counter() - started
    finally:
        tracemalloc.stop()
        emu.close()
    report = (
        f"{files} files, {streamed / 2**20:.1f} MiB streamed in {seconds:.1f} s, largest file "
        f"{largest / 2**10:.0f} KiB, largest piece {largest_piece / 2**10:.0f} KiB, "
        f"peak growth {growth / 2**10:.0f} KiB, transient {transient / 2**10:.0f} KiB"
    )
    # one file per log type and half hour: at least receipt, process, delivery and journal
    assert files == counts["siem_files"] >= DAYS * 48 * 4, report
    assert largest > 8 * 32 * 1024, report  # the busiest files are many pieces long
    assert largest_piece <= 40 * 1024, report  # handed out in pieces of about 32 KiB
    assert transient < largest / 3, report  # no file is ever built whole
    assert growth < streamed / 50, report  # nor is the backlog buffered
