"""Throughput of ``mcapi collect siem`` against a raw download loop, and the collector's memory.

    python bench/collect_throughput.py [--users 100] [--days 2] [--format json|key_value]
                                       [--rounds 3] [--memory] [--json]

A child process serves an emulator with a generated tenant (its clock running, quota raised).
Then, in alternating rounds, two more children read every SIEM file of the tenant:

* **raw**: the mcapi client follows the ``mc-siem-token`` chain with ``download()`` and writes each
  file to disk as it came, unparsed: the least a collector can do;
* **collect**: ``mcapi collect siem --output DIR`` (parses every file, writes one JSON line per
  record, fsyncs, checkpoints each file).

Both are timed from process start to exit (so both pay the interpreter's start), on the same
server in the same run; the report gives records per second of each (the record count is the
collector's) and the ratio collect / raw of the best round of each (target: at least 0.8).

``--memory`` measures the peak resident memory (``ru_maxrss`` from ``wait4``) of ``mcapi collect
siem`` over a tenant of ``--users`` people with 1 day and with 7 days of SIEM files (two servers,
one after the other): it should stay under 100 MB and be flat as the backlog grows, since the
collector holds one file at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLI = "from mcapi.cli import main; main()"
SIEM = "/api/audit/get-siem-logs"


def serve(args: argparse.Namespace) -> None:
    """The server child: an emulator with a generated tenant on a loopback port."""
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
    generate(
        emulator.store, account.id, seed=args.seed, users=args.users, days=args.days,
        now=emulator.clock.now(),
    )  # fmt: skip
    sock = bind_socket("127.0.0.1", 0)
    env = {
        "MCAPI_BASE_URL": f"http://127.0.0.1:{sock.getsockname()[1]}",
        "MCAPI_APP_ID": creds.app_id, "MCAPI_APP_KEY": creds.app_key,
        "MCAPI_ACCESS_KEY": creds.access_key, "MCAPI_SECRET_KEY": creds.secret_key,
    }  # fmt: skip
    print(json.dumps(env), flush=True)
    build_server(emulator.app).run(sockets=[sock])


def raw(args: argparse.Namespace) -> None:
    """The raw child: download every file with the client, unparsed."""
    from mcapi.client import Client

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    token: str | None = None
    with Client.from_env() as client:
        while True:
            item: dict[str, Any] = {"type": "MTA", "fileFormat": args.format}
            if token:
                item["token"] = token
            got = client.download(SIEM, [item], out)
            if not got.is_file:
                break
            token = got.siem_token


def _start_server(args: argparse.Namespace, days: int, tmp: Path) -> tuple[Any, dict[str, str]]:
    command = [
        sys.executable, __file__, "--serve", "--db", str(tmp / f"bench-{days}.db"),
        "--users", str(args.users), "--days", str(days), "--seed", str(args.seed),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        raise RuntimeError("the emulator process exited before it was ready")
    return child, json.loads(line)


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Seconds from start to exit, peak RSS (KiB) and stdout of a child."""
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None
    output = child.stdout.read().decode()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        assert child.stderr is not None
        raise RuntimeError(f"{command[3:5]} failed: {child.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss, output


def _collect(env: dict[str, str], out: Path, file_format: str) -> tuple[float, int, int]:
    shutil.rmtree(out, ignore_errors=True)
    seconds, rss, output = _timed(
        [sys.executable, "-c", CLI, "collect", "siem", "-o", str(out), "--format", file_format,
         "--quiet"], env,
    )  # fmt: skip
    records = int(json.loads(output)["streams"]["siem"]["records"])
    return seconds, rss, records


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server, keys = _start_server(args, args.days, tmp)
        env = {**os.environ, **keys, "MCAPI_CONFIG": str(tmp / "none.toml")}
        try:
            raw_times, collect_times, records = [], [], 0
            for _ in range(args.rounds):
                shutil.rmtree(tmp / "raw", ignore_errors=True)
                seconds, _, _ = _timed(
                    [sys.executable, __file__, "--raw", "--out", str(tmp / "raw"),
                     "--format", args.format], env,
                )  # fmt: skip
                raw_times.append(seconds)
                seconds, _, records = _collect(env, tmp / "collect", args.format)
                collect_times.append(seconds)
            files = len(list((tmp / "raw").iterdir()))
        finally:
            server.terminate()
            server.wait(timeout=15)
    best_raw, best_collect = min(raw_times), min(collect_times)
    return {
        "users": args.users, "days": args.days, "format": args.format, "files": files,
        "records": records, "rounds": args.rounds,
        "raw_seconds": [round(t, 2) for t in raw_times],
        "collect_seconds": [round(t, 2) for t in collect_times],
        "raw_records_per_s": round(records / best_raw),
        "collect_records_per_s": round(records / best_collect),
        "ratio_collect_to_raw": round(best_raw / best_collect, 3),
    }  # fmt: skip


def memory(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"users": args.users, "format": args.format}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for days in (1, 7):
            server, keys = _start_server(args, days, tmp)
            env = {**os.environ, **keys, "MCAPI_CONFIG": str(tmp / "none.toml")}
            try:
                seconds, rss, records = _collect(env, tmp / f"collect-{days}", args.format)
            finally:
                server.terminate()
                server.wait(timeout=15)
            report[f"{days}d"] = {
                "records": records, "seconds": round(seconds, 1),
                "peak_rss_mb": round(rss / 1024, 1),
            }  # fmt: skip
    report["growth_7d_vs_1d_mb"] = round(
        report["7d"]["peak_rss_mb"] - report["1d"]["peak_rss_mb"], 1
    )
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--format", choices=("json", "key_value"), default="json")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="peak RSS at 1 and 7 days")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return 0
    if args.raw:
        raw(args)
        return 0
    if args.memory:
        report = memory(args)
        ok = report["7d"]["peak_rss_mb"] <= 100
    else:
        report = throughput(args)
        ok = report["ratio_collect_to_raw"] >= 0.8
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
