"""Chaos soak of the collector: about 30% of calls fail, and no record is lost or doubled.

    python bench/collect_chaos.py [--users 200] [--days 4] [--seed 11] [--json]

An emulator with a generated tenant (``--users`` people, ``--days`` days: 200 x 4 is about 50,000
SIEM records) is served on a loopback port with its clock frozen. Fault rules make SIEM and audit
calls fail: 500 0006 (15%), connection resets (8%), truncated answers (8%), forced 429s on every
25th SIEM call, and one 418 (the binding expiring mid-run; the client holds the password and
refreshes it). The collector runs ``siem`` (json) and ``audit`` into a directory; every wait
(backoff, ``X-RateLimit-Reset``) advances the emulator's clock instead of sleeping. Then the
faults are removed and a reference run collects the same streams, at the same clock, into another
directory.

The report: records collected, the share of calls that failed (from the emulator's fault and
quota counters), the recoveries the collector counted, and the records lost and duplicated
against the reference. Exit status 1 when any record is lost or duplicated.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from mcapi.client import Client
from mcapi.collect import Collector, DirectorySink, FileCheckpoints, make_source
from mcapi.emulator import Emulator, EmulatorConfig
from mcapi.emulator._data import generate
from mcapi.emulator._faults import FaultRule
from mcapi.testing import serve

SIEM = "/api/audit/get-siem-logs"


def _records(directory: Path, stream: str) -> list[tuple[str, bytes]]:
    out = []
    for path in sorted(directory.glob(f"{stream}*.jsonl")):
        for line in path.read_bytes().splitlines():
            record = orjson.loads(line)
            out.append((record["id"], orjson.dumps(record["record"], option=orjson.OPT_SORT_KEYS)))
    return out


def run_chaos(users: int = 200, days: int = 4, seed: int = 11) -> dict[str, Any]:
    """Run the soak; returns the report (see the module doc)."""
    emu = Emulator("sqlite://", kdf_n=2**10, config=EmulatorConfig(skew_reference="either"))
    emu.clock.freeze()
    demo = emu.load_demo()
    account = emu.store.find_account(demo.account_code)
    assert account is not None
    emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    generate(emu.store, account.id, seed=seed, users=users, days=days, now=emu.clock.now())
    rules = [  # the first rule that fires wins: the one 418 comes first
        {"id": "binding-expired", "match": {"path": SIEM, "call_number": 60},
         "effect": {"status": 418, "sub_code": "0001"}},
        {"id": "500s", "match": {"path": "/api/audit/*", "probability": 0.15, "seed": seed},
         "effect": {"status": 500, "sub_code": "0006"}},
        {"id": "resets", "match": {"path": "/api/audit/*", "probability": 0.08, "seed": seed + 1},
         "effect": {"transport": "reset"}},
        {"id": "truncated", "match": {"path": "/api/audit/*", "probability": 0.08,
         "seed": seed + 2}, "effect": {"transport": "truncated"}},
    ]  # fmt: skip
    for rule in rules:
        emu.faults.add(FaultRule.from_dict(rule))
    for number in range(25, 2000, 25):
        emu.faults.add(FaultRule.forced_quota(SIEM, call_number=number, reset_ms=800))
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        emu.clock.advance(seconds)
        time.sleep(0.0005)  # let answers in flight on the socket arrive

    work = Path(tempfile.mkdtemp(prefix="mcapi-chaos-"))
    streams = ("siem", "audit")

    def collect(out: Path) -> tuple[Collector, float]:
        sources = [make_source(s, quarantine=out / "q", clock=emu.clock.now) for s in streams]
        collector = Collector(
            sources, DirectorySink(out), FileCheckpoints(out / ".cp"), sleep=sleep,
            clock=emu.clock.now, backoff=0.5, max_batch_retries=8,
        )  # fmt: skip
        started = time.perf_counter()
        with Client(
            base_url=base_url, app_id=demo.app_id, app_key=demo.app_key,
            access_key=demo.access_key, secret_key=demo.secret_key, email=demo.admin_email,
            password=demo.admin_password, clock=emu.clock.now, sleep=sleep,
            random=random.Random(seed), event_hook=collector.on_attempt,
        ) as client:  # fmt: skip
            collector.run(client)
        collector.sink.close()
        return collector, time.perf_counter() - started

    with serve(emu) as base_url:
        chaos, seconds = collect(work / "chaos")
        calls = len(emu.journal.entries(path=SIEM)) + len(
            emu.journal.entries(path="/api/audit/get-audit-events")
        )
        # the forced quotas are fault rules too; their denials are counted as quota waits
        fault_state = [r for r in emu.faults.state() if r.get("at") != "quota"]
        emu.faults.clear()
        reference, _ = collect(work / "reference")
    emu.close()
    failed_calls = sum(int(r["applied"]) for r in fault_state)
    quota_denials = sum(s.quota_waits for s in chaos.stats.values())
    report: dict[str, Any] = {"users": users, "days": days, "seconds": round(seconds, 1)}
    lost = duplicated = total = 0
    for stream in streams:
        got = _records(work / "chaos", stream)
        want = _records(work / "reference", stream)
        ids = [i for i, _ in got]
        duplicated += len(ids) - len(set(ids))
        lost += len(set(want) - set(got))
        total += len(set(got))
        report[stream] = chaos.stats[stream].to_dict()
    report.update(
        records=total,
        calls_journaled=calls,
        failed_calls=failed_calls + quota_denials,
        failed_share=round((failed_calls + quota_denials) / max(1, calls), 3),
        faults={r["id"]: r["applied"] for r in fault_state},
        recoveries=sum(s.recoveries for s in chaos.stats.values()),
        lost=lost,
        duplicated=duplicated,
        reference_records=sum(s.records for s in reference.stats.values()),
        emulator_seconds_waited=round(sum(waited), 1),
        errors={s.stream: s.error for s in chaos.stats.values() if s.error},
    )
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run_chaos(args.users, args.days, args.seed)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['records']} records in {report['seconds']}s; "
            f"{report['failed_calls']} of {report['calls_journaled']} calls failed "
            f"({report['failed_share']:.0%}); recoveries {report['recoveries']}; "
            f"lost {report['lost']}, duplicated {report['duplicated']}"
        )
        print(json.dumps({k: report[k] for k in ("faults", "siem", "audit", "errors")}, indent=2))
    sys.exit(1 if report["lost"] or report["duplicated"] or report["errors"] else 0)


if __name__ == "__main__":
    main()
