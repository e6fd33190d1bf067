"""Crash safety: ``mcapi collect`` killed with SIGKILL at 20 random instants, restarted each
time, writes exactly what an uninterrupted run writes: record for record, none twice."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcapi.emulator import Emulator, EmulatorConfig
from mcapi.testing import serve
from tests.collect.conftest import KDF_N, Tenant, cli_env, make_tenant, read_output

RUNS = (
    ("json", ("siem", "audit")),
    ("key_value", ("siem",)),
)


def _command(out: Path, file_format: str, streams: tuple[str, ...]) -> list[str]:
    return [
        sys.executable, "-c", "from mcapi.cli import main; main()", "collect", *streams,
        "--output", str(out), "--format", file_format, "--quiet", "--max-bytes", "200000",
        "--commit-records", "500",
    ]  # fmt: skip


def _size(out: Path) -> int:
    return sum(p.stat().st_size for p in out.glob("*.jsonl")) if out.exists() else 0


def _complete_lines(out: Path, stream: str) -> int:
    """The records a killed run left whole (a kill may cut its last line, which the next run
    drops before it writes)."""
    return sum(path.read_bytes().count(b"\n") for path in out.glob(f"{stream}*.jsonl"))


def _records(out: Path, stream: str) -> list[tuple[str, dict[str, object]]]:
    return [(r["id"], r["record"]) for r in read_output(out, stream)]


@pytest.fixture
def big_tenant() -> Iterator[Tenant]:
    """150 people, 3 days (about 28,000 SIEM records): ten short runs do not finish it."""
    emulator = Emulator("sqlite://", kdf_n=KDF_N, config=EmulatorConfig(skew_reference="either"))
    emulator.clock.freeze()
    make_tenant(emulator, users=150, days=3)
    try:
        with serve(emulator) as base_url:
            yield Tenant(emulator, emulator.load_demo(), base_url)
    finally:
        emulator.close()


def test_sigkill_at_20_instants_loses_and_doubles_nothing(
    big_tenant: Tenant, tmp_path: Path
) -> None:
    env = cli_env(big_tenant, tmp_path)
    rng = random.Random(20261201)
    kills = 0
    progress: list[dict[str, object]] = []
    for file_format, streams in RUNS:
        reference = tmp_path / f"reference-{file_format}"
        done = subprocess.run(_command(reference, file_format, streams), env=env, timeout=300)
        assert done.returncode == 0
        crashed = tmp_path / f"crashed-{file_format}"
        for _ in range(10):
            process = subprocess.Popen(
                _command(crashed, file_format, streams), env=env, stderr=subprocess.PIPE
            )
            # a random instant once the run is writing: real time, since a process is watched
            before = _size(crashed)
            deadline = time.monotonic() + 60
            while process.poll() is None and _size(crashed) <= before:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.25))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
            _, errors = process.communicate(timeout=60)
            partial: dict[str, object] = {s: _complete_lines(crashed, s) for s in streams}
            partial["exit"] = process.returncode
            if process.returncode not in (0, -signal.SIGKILL):
                partial["stderr"] = errors.decode()[-2000:]
            progress.append(partial)
        final = subprocess.run(_command(crashed, file_format, streams), env=env, timeout=300)
        assert final.returncode == 0
        for stream in streams:
            got = _records(crashed, stream)
            want = _records(reference, stream)
            ids = [record_id for record_id, _ in got]
            assert len(ids) == len(set(ids)), f"{stream} ({file_format}) wrote a record twice"
            assert sorted(got, key=lambda r: r[0]) == sorted(want, key=lambda r: r[0])
            assert len(want) > 50
    assert kills == 20, progress  # every instant fell inside a run
