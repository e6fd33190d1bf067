"""The PostgreSQL checkpoint store: one owner per stream through a lease, taken over when it
expires; two collector processes on one store never write the same stream at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mcapi.collect import LeaseLost, PostgresCheckpoints
from tests.collect.conftest import Tenant, cli_env, read_output
from tests.conftest import postgres_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a schema of their own, dropped afterwards."""
    with postgres_schema("collect", "no PostgreSQL to test the lease store") as url:
        yield url


def _expire(store: PostgresCheckpoints, stream: str) -> None:
    """Move the lease's end into the past: what the database clock would do after the TTL."""
    with store._engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE mcapi_collect_checkpoints SET lease_until = now() - interval '1 second' "
                "WHERE stream = :s"
            ),
            {"s": stream},
        )


def test_one_owner_at_a_time_and_take_over_after_expiry(pg_url: str) -> None:
    a = PostgresCheckpoints(pg_url, lease_seconds=30, owner="a")
    b = PostgresCheckpoints(pg_url, lease_seconds=30, owner="b")
    try:
        assert a.acquire("siem") and a.acquire("siem")  # renewing is taking again
        assert not b.acquire("siem")
        assert b.acquire("audit")  # other streams are free
        a.save("siem", {"state": {"token": "t1"}})
        with pytest.raises(LeaseLost):
            b.save("siem", {"state": {"token": "b's"}})
        assert b.load("siem") == {"state": {"token": "t1"}}
        assert a.owner_of("siem") == "a"
        _expire(a, "siem")
        assert b.acquire("siem")  # taken over
        with pytest.raises(LeaseLost):
            a.save("siem", {"state": {"token": "late"}})  # the old owner can no longer move it
        assert not a.acquire("siem")
        b.save("siem", {"state": {"token": "t2"}})
        b.release("siem")
        assert a.acquire("siem")
        assert set(a.all()) == {"siem"}
    finally:
        a.close()
        b.close()


def _command(out: Path, url: str) -> list[str]:
    return [
        sys.executable, "-c", "from mcapi.cli import main; main()", "collect", "siem", "audit",
        "-o", str(out), "--state", url, "--lease", "3", "--follow", "--interval", "0.2",
    ]  # fmt: skip


def test_two_collectors_on_one_store_share_without_writing_a_stream_twice(
    tenant: Tenant, tmp_path: Path, pg_url: str
) -> None:
    env = cli_env(tenant, tmp_path)
    reference = tmp_path / "reference"
    done = subprocess.run(
        [sys.executable, "-c", "from mcapi.cli import main; main()", "collect", "siem", "audit",
         "-o", str(reference), "--quiet"], env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0
    out = tmp_path / "shared"
    first = subprocess.Popen(_command(out, pg_url), env=env, stderr=subprocess.DEVNULL)
    # the first owns both streams before the second starts
    store = PostgresCheckpoints(pg_url, owner="observer")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        store.owner_of("siem") and store.owner_of("audit")
    ):  # waiting for a process: real time
        time.sleep(0.05)
    owner = store.owner_of("siem")
    second = subprocess.Popen(_command(out, pg_url), env=env, stderr=subprocess.PIPE)
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(second.stderr.readline, b"")))
    reader.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(b"owns this stream" in x for x in lines):
        time.sleep(0.05)  # the second waits for the leases
    assert store.owner_of("siem") == owner
    first.send_signal(signal.SIGKILL)  # the owner dies mid-run; its leases run out
    first.wait(timeout=30)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        taken = store.owner_of("siem") not in (None, owner)
        caught = store.load("siem") or {}
        if taken and caught.get("caught_up_at"):
            break
        time.sleep(0.1)
    second.send_signal(signal.SIGTERM)
    second.wait(timeout=60)
    reader.join(timeout=10)
    store.close()
    errors = b"".join(lines)
    assert second.returncode == 0, errors.decode()
    assert b"another collector owns this stream" in errors
    for stream in ("siem", "audit"):
        got = [(r["id"], r["record"]) for r in read_output(out, stream)]
        want = [(r["id"], r["record"]) for r in read_output(reference, stream)]
        assert len({i for i, _ in got}) == len(got), f"{stream} written twice"
        assert sorted(got, key=lambda r: r[0]) == sorted(want, key=lambda r: r[0])
