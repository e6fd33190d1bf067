"""What the live display of ``mcapi collect`` shows: SIEM files and their bytes, and each wait of
the client (for the quota, before a retry) with its code and a countdown, drawn on a forced
terminal."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console
from rich.filesize import decimal

from mcapi.cli._collect_cmd import _table
from mcapi.collect import CollectEvent, Collector
from mcapi.emulator._faults import FaultRule
from tests.collect.conftest import Tenant
from tests.collect.test_collect import collector

SIEM = "/api/audit/get-siem-logs"


def drawn(c: Collector) -> str:
    """The table as a terminal shows it (rich forced to draw for a terminal)."""
    console = Console(force_terminal=True, width=220, record=True, file=io.StringIO())
    console.print(_table(c.stats))
    return console.export_text()


def reference_siem_bytes(tenant: Tenant) -> tuple[int, int]:
    """(files, bytes) of every SIEM file, fetched one after the other by a plain client."""
    files = size = 0
    token = None
    with tenant.client() as client:
        while True:
            item = {"type": "MTA", "fileFormat": "json", **({"token": token} if token else {})}
            with client.call_stream(SIEM, [item]) as stream:
                if not stream.is_file:
                    return files, size
                size += sum(len(chunk) for chunk in stream.iter_bytes())
                files += 1
                token = stream.siem_token


def run_with_display(tenant: Tenant, out: Path, shown: dict[str, str]) -> Collector:
    """Collect siem; at each wait or retry event, draw the table as the live display would."""
    c = collector(tenant, out, ["siem"])

    def listen(event: CollectEvent) -> None:
        tenant.events.append(event)
        if event.kind in ("wait", "retry"):
            shown.setdefault(event.kind, drawn(c))

    c.listener = listen
    with tenant.client(event_hook=c.on_attempt) as client:
        c.run(client)
    c.sink.close()
    return c


def test_files_bytes_and_each_wait_with_its_code_and_a_countdown(
    tenant: Tenant, tmp_path: Path
) -> None:
    files, size = reference_siem_bytes(tenant)
    assert files > 3
    tenant.emu.faults.add(FaultRule.forced_quota(SIEM, call_number=2, reset_ms=30_000))
    tenant.fault(
        {"match": {"path": SIEM, "call_number": 4, "times": 1},
         "effect": {"status": 500, "sub_code": "0006"}}
    )  # fmt: skip
    shown: dict[str, str] = {}
    c = run_with_display(tenant, tmp_path, shown)
    stats = c.stats["siem"]
    assert stats.caught_up and stats.error is None
    assert (stats.quota_waits, stats.client_retries) == (1, 1)
    assert re.search(r"quota spent \(429 0008\): (29|30) s left", shown["wait"]), shown["wait"]
    assert re.search(r"retry 1/3 after 500 0006: \d+ s left", shown["retry"]), shown["retry"]
    assert (stats.units, stats.bytes, stats.to_dict()["bytes"]) == (files, size, size)
    final = drawn(c)
    assert f"{files} files, {decimal(size)}" in final
    assert "s left" not in final  # the waits are over once files came again
    [wait] = [e for e in tenant.events if e.kind == "wait"]
    [retry] = [e for e in tenant.events if e.kind == "retry"]
    assert wait.message.startswith("waiting 30.0s for quota: ")
    assert retry.message.startswith("retry 1/3 after 500 0006 in ")
