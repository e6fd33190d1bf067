"""Soak a shared deployment: several ``mcapi emulator serve`` processes on PostgreSQL + Redis under
mixed signed traffic, admin changes, and ``kill -9`` of one process at a time.

What it does, for ``--seconds`` (default 60):

* starts ``--processes`` (default 3) processes of one deployment on separate loopback ports: one
  fresh PostgreSQL schema and Redis namespace (dropped afterwards), one admin token, the demo
  tenant (``MCAPI_TEST_POSTGRES_URL`` / ``MCAPI_TEST_REDIS_URL``, default the local servers);
* ``--threads`` load threads (default 6) make signed calls spread over the processes: reads
  (get-account, find-groups) and writes (create-group with a description unique to the run). A
  write answered 200 with no ``fail`` is *acknowledged*: its group id is recorded. A call that
  meets a connection error (its process was killed) is sent again to the next process, with a new
  request id; a write cut that way is not counted as acknowledged;
* an admin thread, every second, through a process in turn: adds or clears fault rules (a 429
  answer on find-groups, ``times`` 3, and 50 ms latency on get-account), moves the clock a second
  forward, and changes the account's quota policy between two large limits;
* every ``--kill-every`` seconds (default: the run split so every process is killed at least once
  when time allows) one process, in turn, is killed with SIGKILL and started again on its port;
* at the end, the acknowledged groups are read back through find-groups (all pages) and every
  acknowledged id must be there.

It prints calls answered (by status), connection errors, 500s (target 0; the fault rules it adds
never answer 500), acknowledged writes and those lost (target 0), kills, and each process slot's
peak memory (``VmHWM`` from ``/proc``, read every half second and before each kill, the highest
over the slot's incarnations). It exits 1 if any 500 was answered or any acknowledged write is
lost, 2 if the deployment could not start. ``--json`` prints the summary as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MCAPI, UNLIMITED, free_port
from emulator_throughput import shared_deployment
from mcapi._signing import format_date, signed_headers

GET_ACCOUNT = "/api/account/get-account"
FIND_GROUPS = "/api/directory/find-groups"
CREATE_GROUP = "/api/directory/create-group"
ACCOUNT = "CUSA12345"
#: Two quota policies the admin thread switches between (neither is met by this load).
POLICIES = (UNLIMITED, {"quota_limit": 500_000_000, "quota_reset_ms": 1})


def peak_rss_kib(pid: int) -> int | None:
    """The process's peak resident set size (``VmHWM``), in KiB; None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


@dataclass
class Slot:
    """One process of the deployment: its port, and the incarnation running now."""

    index: int
    port: int
    argv: list[str]
    log: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    peak_kib: int = 0
    starts: int = 0
    up: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"process {self.index} exited at start:\n{self.log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/_emulator/health", timeout=1.0).status_code == 200:
                    self.up = True
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"process {self.index} did not answer within {timeout:g} s")
            time.sleep(0.05)

    def sample(self) -> None:
        if self.process is not None and self.process.poll() is None:
            kib = peak_rss_kib(self.process.pid)
            if kib is not None:
                self.peak_kib = max(self.peak_kib, kib)

    def kill(self) -> None:
        assert self.process is not None
        self.sample()
        self.up = False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.sample()
        self.up = False
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Tally:
    """What the load and admin threads saw, under one lock."""

    statuses: Counter[int] = field(default_factory=Counter)
    by_path: Counter[str] = field(default_factory=Counter)
    connection_errors: int = 0
    failed_items: int = 0
    five_hundreds: list[str] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)
    admin_changes: Counter[str] = field(default_factory=Counter)
    admin_errors: list[str] = field(default_factory=list)
    kills: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Soak:
    def __init__(self, slots: list[Slot], creds: dict[str, str], token: str, tag: str) -> None:
        self.slots = slots
        self.creds = creds
        self.admin = {"Authorization": f"Bearer {token}"}
        self.tag = tag
        self.tally = Tally()
        self.stop = threading.Event()
        self.counter = itertools.count(1)
        self.next_slot = itertools.count()

    # ---- signed calls ---------------------------------------------------------------------------

    def signed(self, client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
        """The call, sent to live processes in turn until one answers (a killed process's
        connection error sends it on, with a new request id)."""
        for attempt in range(len(self.slots) * 20):
            slot = self.slots[next(self.next_slot) % len(self.slots)]
            if not slot.up:
                time.sleep(0.01)
                continue
            headers = signed_headers(
                access_key=self.creds["MCAPI_ACCESS_KEY"],
                secret_key=self.creds["MCAPI_SECRET_KEY"],
                app_id=self.creds["MCAPI_APP_ID"],
                app_key=self.creds["MCAPI_APP_KEY"],
                path=path,
                date=format_date(time.time()),
                request_id=str(uuid.uuid4()),
            )
            try:
                return client.post(slot.base_url + path, json=body, headers=headers)
            except httpx.TransportError:
                with self.tally.lock:
                    self.tally.connection_errors += 1
                time.sleep(0.005 * attempt)
        raise RuntimeError(f"{path}: no process answered")

    def load(self, seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=30.0) as client:
            while not self.stop.is_set():
                roll = rng.random()
                body: dict[str, Any]
                if roll < 0.35:
                    path, body = GET_ACCOUNT, {"data": []}
                elif roll < 0.6:
                    path, body = FIND_GROUPS, {"data": [{"query": "soak"}]}
                else:
                    description = f"{self.tag}-{next(self.counter)}"
                    path, body = CREATE_GROUP, {"data": [{"description": description}]}
                try:
                    answer = self.signed(client, path, body)
                except RuntimeError:
                    continue
                self.record(path, answer, body)

    def record(self, path: str, answer: httpx.Response, body: dict[str, Any]) -> None:
        with self.tally.lock:
            self.tally.statuses[answer.status_code] += 1
            self.tally.by_path[path] += 1
            if answer.status_code == 500:
                self.tally.five_hundreds.append(f"{path}: {answer.text[:300]}")
                return
            if answer.status_code != 200:
                return
            envelope = answer.json()
            if envelope.get("fail"):
                self.tally.failed_items += 1
                return
            if path == CREATE_GROUP:
                group = envelope["data"][0]
                self.tally.acknowledged[group["id"]] = body["data"][0]["description"]

    # ---- admin changes, kills, memory -----------------------------------------------------------

    def admin_loop(self) -> None:
        with httpx.Client(timeout=30.0) as client:
            for step in itertools.count():
                if self.stop.wait(1.0):
                    return
                live = [s for s in self.slots if s.up]
                if not live:
                    continue
                slot = live[step % len(live)]
                change = ("fault", "clock", "policy", "clear")[step % 4]
                try:
                    if change == "fault":
                        for rule in (
                            {
                                "match": {"path": FIND_GROUPS, "times": 3},
                                "effect": {"status": 429, "reset_ms": 100},
                            },
                            {
                                "match": {"path": GET_ACCOUNT, "times": 5},
                                "effect": {"latency_ms": 50},
                            },
                        ):
                            answer = client.post(
                                slot.base_url + "/_emulator/faults", json=rule, headers=self.admin
                            )
                            answer.raise_for_status()
                    elif change == "clock":
                        client.post(
                            slot.base_url + "/_emulator/clock",
                            json={"advance": 1},
                            headers=self.admin,
                        ).raise_for_status()
                    elif change == "policy":
                        client.post(
                            f"{slot.base_url}/_emulator/accounts/{ACCOUNT}/policy",
                            json=POLICIES[(step // 4) % 2],
                            headers=self.admin,
                        ).raise_for_status()
                    else:
                        client.delete(
                            slot.base_url + "/_emulator/faults", headers=self.admin
                        ).raise_for_status()
                except httpx.TransportError:
                    continue  # the process was killed under the change: not an answer
                except httpx.HTTPStatusError as exc:
                    with self.tally.lock:
                        self.tally.admin_errors.append(f"{change}: {exc.response.status_code}")
                        if exc.response.status_code == 500:
                            self.tally.five_hundreds.append(f"admin {change}: {exc.response.text}")
                    continue
                with self.tally.lock:
                    self.tally.admin_changes[change] += 1

    def killer(self, every: float) -> None:
        for victim in itertools.cycle(self.slots):
            if self.stop.wait(every):
                return
            victim.kill()
            with self.tally.lock:
                self.tally.kills += 1
            victim.start()

    def sampler(self) -> None:
        while not self.stop.wait(0.5):
            for slot in self.slots:
                slot.sample()

    # ---- the read-back --------------------------------------------------------------------------

    def found_groups(self) -> set[str]:
        """Every group of this run, read back through find-groups, all pages."""
        found: set[str] = set()
        token: str | None = None
        with httpx.Client(timeout=60.0) as client:
            while True:
                pagination: dict[str, Any] = {"pageSize": 500}
                if token:
                    pagination["pageToken"] = token
                body = {"meta": {"pagination": pagination}, "data": [{"query": self.tag}]}
                answer = self.signed(client, FIND_GROUPS, body)
                answer.raise_for_status()
                envelope = answer.json()
                if envelope.get("fail"):
                    raise RuntimeError(f"find-groups failed: {envelope['fail']}")
                found.update(folder["id"] for folder in envelope["data"][0]["folders"])
                token = envelope.get("meta", {}).get("pagination", {}).get("next")
                if not token:
                    return found


def run(args: argparse.Namespace) -> dict[str, Any]:
    token = uuid.uuid4().hex
    tag = f"soak{uuid.uuid4().hex[:10]}"
    with tempfile.TemporaryDirectory() as tmp, shared_deployment() as (url, extra):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "MCAPI_ADMIN_TOKEN": token}
        slots = []
        for index in range(args.processes):
            port = free_port()
            argv = [*MCAPI, "emulator", "serve", "--port", str(port), "--db", url, *extra]
            if index == 0:
                argv.append("--demo")  # the first start creates the tenant, later ones keep it
            slots.append(Slot(index, port, argv, Path(tmp) / f"serve-{index}.log", env))
        try:
            for slot in slots:
                slot.start()
            banner = slots[0].log.read_text().splitlines()
            creds = dict(
                line.removeprefix("export ").split("=", 1)
                for line in banner
                if line.startswith("export ")
            )
            httpx.post(
                f"{slots[0].base_url}/_emulator/accounts/{ACCOUNT}/policy",
                json=UNLIMITED,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).raise_for_status()
            soak = Soak(slots, creds, token, tag)
            every = args.kill_every or max(args.seconds / (args.processes + 1), 2.0)
            threads = [
                threading.Thread(target=soak.load, args=(n,), daemon=True)
                for n in range(args.threads)
            ]
            threads += [
                threading.Thread(target=soak.admin_loop, daemon=True),
                threading.Thread(target=soak.killer, args=(every,), daemon=True),
                threading.Thread(target=soak.sampler, daemon=True),
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            soak.stop.wait(args.seconds)
            soak.stop.set()
            for thread in threads:
                thread.join(timeout=90)
            elapsed = time.monotonic() - started
            for slot in slots:
                if not slot.up:
                    slot.start()  # a kill that raced the end: the read-back wants every process
            with httpx.Client(timeout=10) as client:  # leave no fault rule in the way
                client.delete(slots[0].base_url + "/_emulator/faults", headers=soak.admin)
            found = soak.found_groups()
            for slot in slots:
                slot.sample()
        finally:
            for slot in slots:
                slot.stop()
    tally = soak.tally
    acknowledged = set(tally.acknowledged)
    lost = sorted(acknowledged - found)
    return {
        "seconds": round(elapsed, 1),
        "processes": args.processes,
        "threads": args.threads,
        "kill_every_seconds": round(every, 1),
        "calls_answered": sum(tally.statuses.values()),
        "calls_per_second": round(sum(tally.statuses.values()) / elapsed, 1),
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "calls_by_path": dict(tally.by_path),
        "failed_items": tally.failed_items,
        "connection_errors": tally.connection_errors,
        "five_hundreds": len(tally.five_hundreds),
        "five_hundred_samples": tally.five_hundreds[:5],
        "writes_acknowledged": len(acknowledged),
        "writes_found": len(acknowledged & found),
        "writes_lost": len(lost),
        "lost_samples": lost[:5],
        "kills": tally.kills,
        "admin_changes": dict(tally.admin_changes),
        "admin_errors": tally.admin_errors[:5],
        "peak_rss_mib": {f"process {s.index}": round(s.peak_kib / 1024, 1) for s in slots},
        "starts": {f"process {s.index}": s.starts for s in slots},
    }


def report(summary: dict[str, Any]) -> None:
    rows = [
        ("seconds", summary["seconds"]),
        (
            "processes (kill -9 every N s)",
            f"{summary['processes']} ({summary['kill_every_seconds']})",
        ),
        ("load threads", summary["threads"]),
        ("calls answered", f"{summary['calls_answered']:,} ({summary['calls_per_second']}/s)"),
        ("  by status", summary["statuses"]),
        ("  items failed in 200 answers", summary["failed_items"]),
        ("connection errors (sent on)", summary["connection_errors"]),
        ("500s (target 0)", summary["five_hundreds"]),
        ("writes acknowledged", summary["writes_acknowledged"]),
        ("writes lost (target 0)", summary["writes_lost"]),
        ("kills", summary["kills"]),
        ("admin changes", summary["admin_changes"]),
    ]
    for process, mib in summary["peak_rss_mib"].items():
        starts = summary["starts"][process]
        rows.append((f"peak RSS {process} ({starts} starts)", f"{mib} MiB"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for sample in summary["five_hundred_samples"]:
        print(f"500: {sample}")
    for sample in summary["lost_samples"]:
        print(f"lost: {sample}")
    for sample in summary["admin_errors"]:
        print(f"admin error: {sample}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load runs")
    parser.add_argument("--processes", type=int, default=3, help="processes of the deployment")
    parser.add_argument("--threads", type=int, default=6, help="load threads")
    parser.add_argument(
        "--kill-every", type=float, default=None, help="seconds between kills (default: derived)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args()
    if args.processes < 2:
        parser.error("--processes: at least 2 (one is killed while the others serve)")
    try:
        summary = run(args)
    except RuntimeError as exc:
        print(f"soak: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        report(summary)
    return 1 if summary["five_hundreds"] or summary["writes_lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
