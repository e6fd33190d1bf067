"""Peak memory of ``mcapi call --all-pages``: flat as the result grows, against holding the pages.

    python bench/all_pages_memory.py [--users 100] [--days 10] [--page-size 500] [--json]

The demo emulator is served (``mcapi emulator serve --demo`` with an unlimited quota) and given
``--days`` days of a ``--users``-people tenant. message-finder/search is then read page by page
over a window of one day (1x the records) and of ``--days`` days (about ``--days`` times the
records), each run in its own process whose peak resident memory (``ru_maxrss`` from ``wait4``)
is measured:

* ``mcapi call --all-pages`` (stdout to a file): writes each record as it arrives;
* the baseline, in the same run: the same pages read by the same client, every record kept in a
  list and printed at the end, as ``--all-pages`` did before it streamed.

It prints each peak, the ratio of the large run's peak to the small run's for both, and the
bytes of JSON written. The exit status is 1 when the streaming ratio passes ``--max-ratio``
(default 1.5) or the two runs did not write the same records. Linux (``wait4``).

Measured 2026-12-01 (2 shared cores), ``--users 200 --days 10``: 4,026 records (2.0 MB of
JSONL) and 40,038 records (20.2 MB): ``--all-pages`` peaked at 39.4 and 41.6 MB (x1.06), the
baseline at 44.5 and 119.3 MB (x2.68).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import MCAPI, serve_demo

SEARCH = "/api/message-finder/search"

#: The baseline: what --all-pages did before it streamed (every page kept, printed at the end).
BASELINE = """
import json, sys
from mcapi.client import Client
data, size = json.loads(sys.argv[1]), int(sys.argv[2])
with Client.from_env() as client:
    pages = list(client.pages(sys.argv[3], [data], page_size=size))
records = [r for page in pages for item in page.data for r in item["trackedEmails"]]
for record in records:
    sys.stdout.write(json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\\n")
"""


def fmt(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def measure(argv: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    """Run ``argv`` with stdout to ``out``; its peak RSS (MB), seconds, lines and bytes."""
    started = time.perf_counter()
    with out.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    assert process.stderr is not None
    err = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[-1]} failed: {err}")
    lines = sum(1 for _ in out.open("rb"))
    return {
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "seconds": round(seconds, 1),
        "records": lines,
        "mb_written": round(out.stat().st_size / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()

    report: dict[str, Any] = {"users": args.users, "days": args.days}
    with serve_demo() as (server, served), tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        httpx.post(
            f"{server.base_url}/_emulator/accounts/CUSA12345/generate?wait=1800",
            json={"seed": 5, "users": args.users, "days": args.days},
            headers={"Authorization": f"Bearer {served['MCAPI_ADMIN_TOKEN']}"},
            timeout=1800,
        ).raise_for_status()
        report["generate_seconds"] = round(time.perf_counter() - started, 1)
        env = {
            **os.environ,
            **{k: v for k, v in served.items() if k.startswith("MCAPI_")},
            "MCAPI_CONFIG": str(Path(tmp) / "no-profiles.toml"),
        }
        now = time.time()
        windows = {"1x": 1, f"{args.days}x": args.days}
        for label, days in windows.items():
            data = json.dumps({"start": fmt(now - days * 86400), "end": fmt(now + 3600)})
            size = str(args.page_size)
            stream = [*MCAPI, "call", SEARCH, "--data", data, "--page-size", size, "--all-pages"]
            baseline = [sys.executable, "-c", BASELINE, data, size, SEARCH]
            report[f"stream_{label}"] = measure(stream, env, Path(tmp) / f"s{label}.jsonl")
            report[f"baseline_{label}"] = measure(baseline, env, Path(tmp) / f"b{label}.jsonl")
            same = (Path(tmp) / f"s{label}.jsonl").read_bytes() == (
                Path(tmp) / f"b{label}.jsonl"
            ).read_bytes()
            report[f"same_records_{label}"] = same

    big = f"{args.days}x"
    stream_ratio = report[f"stream_{big}"]["peak_rss_mb"] / report["stream_1x"]["peak_rss_mb"]
    base_ratio = report[f"baseline_{big}"]["peak_rss_mb"] / report["baseline_1x"]["peak_rss_mb"]
    records_ratio = report[f"stream_{big}"]["records"] / max(report["stream_1x"]["records"], 1)
    report["records_ratio"] = round(records_ratio, 2)
    report["stream_peak_ratio"] = round(stream_ratio, 2)
    report["baseline_peak_ratio"] = round(base_ratio, 2)
    same = all(v for k, v in report.items() if k.startswith("same_records_"))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"tenant: {args.users} users, {args.days} days (generated in "
            f"{report['generate_seconds']} s); {SEARCH}, pages of {args.page_size}"
        )
        for label in windows:
            s, b = report[f"stream_{label}"], report[f"baseline_{label}"]
            print(
                f"{label:>4}: {s['records']} records, {s['mb_written']} MB of JSONL: peak RSS "
                f"--all-pages {s['peak_rss_mb']} MB ({s['seconds']} s), baseline holding the "
                f"pages {b['peak_rss_mb']} MB ({b['seconds']} s)"
            )
        print(
            f"{records_ratio:.1f}x the records: --all-pages peak x{stream_ratio:.2f}, "
            f"baseline peak x{base_ratio:.2f}; same output: {same}"
        )
    return 0 if stream_ratio <= args.max_ratio and same else 1


if __name__ == "__main__":
    sys.exit(main())
