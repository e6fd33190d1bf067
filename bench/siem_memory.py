"""Memory of the emulator while a SIEM collector reads a week of log files: it must stay flat.

    python bench/siem_memory.py [--users 500] [--days 7] [--format json|key_value] [--compress]
                                [--deadline 300] [--max-growth-mb 64] [--json]

A child process builds an emulator on a SQLite file, gives the demo account ``--days`` days of a
``--users``-people tenant with the seeded generator (archive, logs and the SIEM stream: a week
is about 336 files of 30 minutes), raises the account's quota, and serves it with uvicorn on a
loopback port. This process then behaves like a SIEM collector: no token first, then each
``mc-siem-token`` in turn, streaming every file (``httpx`` ``stream``; bytes are counted and
dropped) until the emulator answers ``isLastToken``, or ``--deadline`` seconds have passed.

It reports the child's resident memory (``VmRSS``) right after start, the highest value sampled
while files were streaming, the kernel's own high-water mark for that period (``VmHWM``, reset
after start through ``/proc/<pid>/clear_refs`` where permitted), and the growth against two
baselines: the bytes streamed (what a server that buffered the whole backlog would hold) and the
largest single file (what one that built each file in memory would hold at least). The exit
status is 1 when the growth passes ``--max-growth-mb``. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from mcapi._signing import format_date, new_request_id, signed_headers

PATH = "/api/audit/get-siem-logs"
MB = 1024 * 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def serve(args: argparse.Namespace) -> None:
    """The child: an emulator with a generated tenant on a loopback port."""
    from mcapi.emulator import Emulator, EmulatorConfig
    from mcapi.emulator._data import generate
    from mcapi.emulator._serve import bind_socket, build_server

    emulator = Emulator(
        f"sqlite:///{args.db}", kdf_n=2**10, config=EmulatorConfig(skew_reference="either")
    )
    creds = emulator.load_demo()
    account = emulator.store.find_account(creds.account_code)
    assert account is not None
    emulator.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    started = time.perf_counter()
    summary = generate(
        emulator.store, account.id, seed=args.seed, users=args.users, days=args.days,
        now=emulator.clock.now(),
    )  # fmt: skip
    generated = time.perf_counter() - started
    sock = bind_socket("127.0.0.1", 0)
    ready = {
        "port": sock.getsockname()[1], "app_id": creds.app_id, "app_key": creds.app_key,
        "access_key": creds.access_key, "secret_key": creds.secret_key,
        "generated": summary.counts(), "generate_seconds": round(generated, 2),
    }  # fmt: skip
    print(json.dumps(ready), flush=True)
    build_server(emulator.app).run(sockets=[sock])


def collect(
    base_url: str, ready: dict[str, Any], pid: int, args: argparse.Namespace
) -> dict[str, Any]:
    """The collector: follow the token chain, sampling the server's memory after every chunk."""
    body: dict[str, Any] = {"fileFormat": args.format, "compress": args.compress}
    token: str | None = None
    files, streamed, largest, peak_sampled = 0, 0, 0, 0
    deadline = time.monotonic() + args.deadline
    finished = False
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=120) as client:
        while time.monotonic() < deadline:
            item = {**body, **({"token": token} if token else {})}
            headers = signed_headers(
                access_key=ready["access_key"], secret_key=ready["secret_key"],
                app_id=ready["app_id"], app_key=ready["app_key"], path=PATH,
                date=format_date(time.time()), request_id=new_request_id(),
            )  # fmt: skip
            with client.stream("POST", PATH, json={"data": [item]}, headers=headers) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.read()[:300]!r}")
                if response.headers["content-type"].startswith("application/json"):
                    answer = json.loads(response.read())
                    if answer["meta"].get("isLastToken"):
                        finished = True
                        break
                    raise RuntimeError(f"unexpected answer {answer}")
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    peak_sampled = max(peak_sampled, _status_kb(pid, "VmRSS"))
                token = response.headers["mc-siem-token"]
            files += 1
            streamed += size
            largest = max(largest, size)
    return {
        "files": files,
        "finished": finished,
        "seconds": round(time.perf_counter() - started, 1),
        "streamed_mb": round(streamed / MB, 1),
        "largest_file_mb": round(largest / MB, 2),
        "peak_sampled_kb": peak_sampled,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("json", "key_value"), default="json")
    parser.add_argument("--compress", action="store_true")
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds of reading at most")
    parser.add_argument("--max-growth-mb", type=float, default=64.0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, __file__, "--serve", "--db", str(Path(tmp) / "bench.db")]
        command += ["--users", str(args.users), "--days", str(args.days), "--seed", str(args.seed)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                raise RuntimeError("the emulator process exited before it was ready")
            ready = json.loads(line)
            time.sleep(0.5)  # let the server settle into its loop
            after_start = _status_kb(child.pid, "VmRSS")
            hwm_reset = _reset_peak(child.pid)
            result = collect(f"http://127.0.0.1:{ready['port']}", ready, child.pid, args)
            hwm = _status_kb(child.pid, "VmHWM")
        finally:
            child.terminate()
            child.wait(timeout=15)
    peak = max(result["peak_sampled_kb"], hwm if hwm_reset else 0)
    growth_mb = (peak - after_start) / 1024
    report = {
        "tenant": {"users": args.users, "days": args.days, **ready["generated"]},
        "generate_seconds": ready["generate_seconds"],
        "format": args.format + (" (zip)" if args.compress else ""),
        **{k: v for k, v in result.items() if k != "peak_sampled_kb"},
        "rss_after_start_mb": round(after_start / 1024, 1),
        "rss_peak_sampled_mb": round(result["peak_sampled_kb"] / 1024, 1),
        "rss_hwm_while_reading_mb": round(hwm / 1024, 1) if hwm_reset else None,
        "growth_mb": round(growth_mb, 1),
        "growth_vs_streamed": round(growth_mb / max(result["streamed_mb"], 1e-9), 4),
        "growth_vs_largest_file": round(growth_mb / max(result["largest_file_mb"], 1e-9), 2),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        peak_mb = max(report["rss_peak_sampled_mb"], report["rss_hwm_while_reading_mb"] or 0)
        lines = (
            f"tenant: {args.users} users, {args.days} days, generated in "
            f"{report['generate_seconds']} s: {ready['generated']}",
            f"read {result['files']} files ({report['format']}), {result['streamed_mb']} MB in "
            f"{result['seconds']} s; all read: {result['finished']}; "
            f"largest file {result['largest_file_mb']} MB",
            f"emulator RSS after start {report['rss_after_start_mb']} MB, peak while reading "
            f"{peak_mb} MB (growth {report['growth_mb']} MB)",
            f"growth / bytes streamed = {report['growth_vs_streamed']} (a server buffering the "
            "backlog: >= 1)",
            f"growth / largest file = {report['growth_vs_largest_file']} (a server building each "
            "file in memory: >= 1)",
        )
        print("\n".join(lines))
    return 0 if growth_mb <= args.max_growth_mb and result["files"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
