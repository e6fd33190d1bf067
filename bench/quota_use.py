"""How well the client spends a quota: 16 concurrent tasks against L calls per window.

    python bench/quota_use.py [--limit 40] [--reset-ms 25] [--windows 6] [--tasks 16] [--json]

The emulator (``mcapi emulator serve --demo`` in a subprocess on a loopback port) gets the account
policy ``quota_limit = L`` and ``quota_reset_ms = R``: a bucket of L calls, one call added back
every R ms, so one *window* (the time to refill the whole quota) is ``L * R`` ms. Sixteen tasks
share one client (``AsyncClient``; then ``Client`` from sixteen threads) and call get-account as
fast as they may for ``--windows`` windows.

Printed per client:

* quota used: successful calls / calls the quota allowed in that time (``L`` at the start plus
  one per ``R`` ms elapsed) - target >= 95 %;
* 429 rate: answers 429 / all answers (from the client's attempt events) - target <= 1 %.

Any other answer (which should not happen) is reported with the emulator journal's reason.

The pacer (``mcapi.client.Pacer``) is what makes both possible: it reads ``X-RateLimit-Remaining``
and ``-Reset``, counts calls in flight, and holds callers until a call is added back instead of
letting them collide with the wall. Bounded: ``windows * L * R`` ms per client plus start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from client_overhead import GET_ACCOUNT, emulator
from mcapi._errors import MimecastError
from mcapi.client import AsyncClient, AttemptEvent, Client, Credentials

TARGET_USED = 0.95
TARGET_429 = 0.01


class Tally:
    """Answers seen by the event hook, and errors raised to the callers (thread-safe)."""

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.start = time.monotonic()

    def __call__(self, event: AttemptEvent) -> None:
        with self.lock:
            if event.status is not None:
                self.statuses[event.status] += 1

    def failed(self, error: MimecastError) -> None:
        with self.lock:
            self.errors.append(str(error))


def report(name: str, tally: Tally, end: float, limit: int, reset_ms: int) -> dict[str, Any]:
    # Counted from before the first call: the quota allowed is, if anything, overstated.
    elapsed = end - tally.start
    allowed = limit + int(elapsed * 1000 // reset_ms)
    ok = tally.statuses[200]
    answers = sum(tally.statuses.values())
    return {
        "client": name,
        "seconds": round(elapsed, 2),
        "calls_ok": ok,
        "calls_allowed": allowed,
        "quota_used": ok / allowed,
        "answers_429": tally.statuses[429],
        "rate_429": tally.statuses[429] / answers if answers else 0.0,
        "statuses": dict(tally.statuses),
        "errors": len(tally.errors),
    }


async def run_async(creds: Credentials, tasks: int, seconds: float, tally: Tally) -> float:
    async with AsyncClient(creds, event_hook=tally) as client:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            while time.monotonic() < stop:
                try:
                    await client.call(GET_ACCOUNT)
                except MimecastError as error:
                    tally.failed(error)

        await asyncio.gather(*(worker() for _ in range(tasks)))
    return time.monotonic()


def run_threads(creds: Credentials, tasks: int, seconds: float, tally: Tally) -> float:
    with Client(creds, event_hook=tally) as client:
        stop = time.monotonic() + seconds

        def worker() -> None:
            while time.monotonic() < stop:
                try:
                    client.call(GET_ACCOUNT)
                except MimecastError as error:
                    tally.failed(error)

        with ThreadPoolExecutor(tasks) as pool:
            for future in [pool.submit(worker) for _ in range(tasks)]:
                future.result()
    return time.monotonic()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=40, help="L: calls in the quota")
    parser.add_argument("--reset-ms", type=int, default=25, help="R: ms until one call returns")
    parser.add_argument("--windows", type=float, default=6, help="windows of L * R ms to run")
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seconds = args.windows * args.limit * args.reset_ms / 1000
    rows = []
    for name in ("AsyncClient", "Client"):
        # A fresh emulator each time, so each client starts with a full quota.
        with emulator({"quota_limit": args.limit, "quota_reset_ms": args.reset_ms}) as served:
            tally = Tally()
            if name == "AsyncClient":
                end = asyncio.run(run_async(served.creds, args.tasks, seconds, tally))
            else:
                end = run_threads(served.creds, args.tasks, seconds, tally)
            rows.append(report(name, tally, end, args.limit, args.reset_ms))
            odd = sorted(s for s in tally.statuses if s not in (200, 429))
            for status in odd:  # say why, from the emulator's own journal
                for entry in served.journal(status)[:5]:
                    print(f"  ! {name}: emulator answered {status}: {entry.get('reason')}")
            for text in tally.errors[:3]:
                print(f"  ! {name}: a call raised: {text[:200]}")
    if args.json:
        print(json.dumps({"rows": rows, "targets": {"used": TARGET_USED, "rate_429": TARGET_429}}))
    else:
        window = args.limit * args.reset_ms
        print(
            f"quota: {args.limit} calls, one back every {args.reset_ms} ms (window {window} ms); "
            f"{args.tasks} concurrent callers for {args.windows:g} windows"
        )
        for row in rows:
            print(
                f"  {row['client']:<12} used {row['quota_used']:7.2%} of the quota "
                f"({row['calls_ok']} of {row['calls_allowed']} calls)   "
                f"429: {row['rate_429']:6.2%} ({row['answers_429']} answers)"
            )
        print(f"  targets: used >= {TARGET_USED:.0%}, 429 <= {TARGET_429:.0%}")
    met = all(
        r["quota_used"] >= TARGET_USED and r["rate_429"] <= TARGET_429 and not r["errors"]
        for r in rows
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
