"""--follow: new data is collected as the platform produces it; SIGTERM/SIGINT finish the batch in
hand, checkpoint it and exit 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from mcapi.collect import CollectEvent, Collector, DirectorySink, FileCheckpoints, make_source
from mcapi.emulator.functions import function_table
from tests.collect.conftest import Tenant, cli_env, read_output


def test_follow_collects_files_produced_later(tenant: Tenant, tmp_path: Path) -> None:
    polls: list[CollectEvent] = []
    later: list[CollectEvent] = []  # batches after the first wait: files produced meanwhile

    def listener(event: CollectEvent) -> None:
        if event.kind == "batch" and event.stream == "siem":
            polls.append(event)
            if 1800 in tenant.sleeps:
                later.append(event)
        if tenant.sleeps.count(1800) >= 3:  # caught up, then three intervals of following
            collector.stop()

    source = make_source("siem", quarantine=tmp_path / "q")
    collector = Collector(
        [source], DirectorySink(tmp_path), FileCheckpoints(tmp_path / ".cp"), follow=True,
        interval=1800, sleep=tenant.sleep, clock=tenant.emu.clock.now, listener=listener,
    )  # fmt: skip
    with tenant.client() as client:
        collector.run(client)
    # the backlog, then new files for every 30 minutes the clock moved while following
    assert tenant.sleeps.count(1800) >= 3
    assert later and len(polls) > len(later)
    records = read_output(tmp_path, "siem")
    assert len(records) == len({r["id"] for r in records}) == collector.stats["siem"].records


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_finishes_the_batch_checkpoints_and_exits_0(
    tenant: Tenant, tmp_path: Path, number: signal.Signals
) -> None:
    env = cli_env(tenant, tmp_path)
    out = tmp_path / "out"
    command = [
        sys.executable, "-c", "from mcapi.cli import main; main()", "collect", "siem",
        "-o", str(out), "--follow", "--interval", "0.2", "--quiet",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    saved = out / ".checkpoints" / "siem.json"
    deadline = time.monotonic() + 120
    while not saved.exists() and time.monotonic() < deadline:  # waiting for a process: real time
        time.sleep(0.05)
    process.send_signal(number)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr.decode()
    summary = orjson.loads(stdout)["streams"]["siem"]
    checkpoint = orjson.loads(saved.read_bytes())
    data = (out / "siem.jsonl").read_bytes()
    assert data.endswith(b"\n") and len(data) == checkpoint["sink"]["offset"]
    assert checkpoint["records"] == summary["records"] == data.count(b"\n")


@pytest.mark.parametrize(
    ("stream", "path"),
    [
        ("ttp-attachment", "/api/ttp/attachment/get-logs"),
        ("ttp-impersonation", "/api/ttp/impersonation/get-logs"),
    ],
)
def test_ttp_attachment_and_impersonation_logs(
    tenant: Tenant, tmp_path: Path, stream: str, path: str
) -> None:
    if path not in function_table():
        pytest.skip(f"the emulator does not serve {path} yet (function table); runs once it does")
    source = make_source(stream, clock=tenant.emu.clock.now)
    collector = Collector(
        [source], DirectorySink(tmp_path), FileCheckpoints(tmp_path / ".cp"),
        sleep=tenant.sleep, clock=tenant.emu.clock.now,
    )  # fmt: skip
    with tenant.client() as client:
        collector.run(client)
    stats = collector.stats[stream]
    assert stats.error is None and stats.caught_up
    records = read_output(tmp_path, stream)
    assert len(records) == len({r["id"] for r in records}) == stats.records
    assert all(r["stream"] == stream and isinstance(r["record"], dict) for r in records)
