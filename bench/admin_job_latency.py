"""Signed calls answered while a large generation runs: the admin job runs off the event loop.

    python bench/admin_job_latency.py [--users 2000] [--days 2] [--json]

An emulator on a SQLite file (WAL) with the demo tenant is served on a loopback port; one thread
asks ``POST /_emulator/accounts/CUSA12345/generate?wait=3600`` for ``--users`` people over
``--days`` days, while the main thread makes signed get-account calls one after another (20 a
second at most) until the generation is over. It prints how long the generation took, how many
calls were answered meanwhile and their median and largest latency. The exit status is 1 when
fewer than ``--min-calls`` calls (default 10) were answered during the generation.

Measured 2026-12-02 (2 shared cores, the load generator on the same machine), ``--users 2000
--days 2``: the generation took 17.8 s and 192 calls were answered meanwhile (median 11.1 ms,
largest 305 ms). Before generation ran as a job (commit 6b3711a, same command, run with that
tree's ``src`` on ``PYTHONPATH``): 11.6 s, and no call was answered during it (the one call made
waited for the whole generation). The generation itself is slower now: the calls answered
meanwhile share the process (and its GIL) with it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator
from mcapi.emulator._serve import serve_in_thread

ACCOUNT = "/api/account/get-account"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--min-calls", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        emulator = Emulator(f"sqlite:///{Path(tmp) / 'bench.db'}", kdf_n=2**10)
        creds = emulator.load_demo()
        generation: dict[str, Any] = {}
        over = threading.Event()
        latencies: list[float] = []
        try:
            with serve_in_thread(emulator) as base_url:

                def generate() -> None:
                    started = time.perf_counter()
                    try:
                        answer = httpx.post(
                            f"{base_url}/_emulator/accounts/CUSA12345/generate?wait=3600",
                            json={"seed": 1, "users": args.users, "days": args.days},
                            headers={"Authorization": f"Bearer {creds.admin_token}"},
                            timeout=3600,
                        )
                        generation["status"] = answer.status_code
                    finally:
                        generation["seconds"] = time.perf_counter() - started
                        over.set()

                worker = threading.Thread(target=generate)
                worker.start()
                with httpx.Client(base_url=base_url, timeout=3600) as http:
                    while not over.wait(0.05):
                        headers = signed_headers(
                            access_key=creds.access_key, secret_key=creds.secret_key,
                            app_id=creds.app_id, app_key=creds.app_key, path=ACCOUNT,
                            date=format_date(emulator.clock.now()), request_id=new_request_id(),
                        )  # fmt: skip
                        started = time.perf_counter()
                        answer = http.post(ACCOUNT, json={"data": []}, headers=headers)
                        if not over.is_set():  # answered while the generation still ran
                            latencies.append(time.perf_counter() - started)
                        answer.raise_for_status()
                worker.join()
        finally:
            emulator.close()

    report = {
        "users": args.users,
        "days": args.days,
        "generate_status": generation.get("status"),
        "generate_seconds": round(generation["seconds"], 1),
        "calls_during": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            f"generate {args.users} users x {args.days} days: HTTP {report['generate_status']} "
            f"in {report['generate_seconds']} s; {report['calls_during']} signed calls answered "
            f"meanwhile (median {report['median_ms']} ms, largest {report['max_ms']} ms)"
        )
    return 0 if generation.get("status") == 200 and len(latencies) >= args.min_calls else 1


if __name__ == "__main__":
    sys.exit(main())
