"""Throughput of the emulator: signed get-account calls per second on ONE uvicorn worker.

    python bench/emulator_throughput.py [--warmup 5] [--duration 10] [--connections 16]
                                        [--only emulator,bare,moto] [--profile FILE] [--json]
    python bench/emulator_throughput.py --only "emulator,postgres,postgres x2"

Three servers run one after the other, each in its own process on a loopback port, each driven
by the same load generator (bench/_common.py: raw sockets on uvloop, in a separate process,
``--connections`` keep-alive connections with one request in flight each):

* ``emulator``: ``mcapi emulator serve --demo`` exactly as a user starts it (SQLite file database,
  the defaults of ``serve``), the demo account's quota raised through the admin policy route so
  no call is refused with 429; every request is a correctly signed ``/api/account/get-account``
  with a fresh ``x-mc-req-id``, so the whole pipeline runs (binding look-up, HMAC, replay cache,
  rate limiter, journal, the function);
* ``bare``: a Starlette app with one POST route answering a fixed JSON envelope, served by the
  same ``build_server`` (uvicorn, httptools, uvloop, access log off): the ceiling the HTTP stack
  sets;
* ``moto``: ``python -m moto.server`` answering STS GetCallerIdentity (form POST with a dummy
  SigV4 ``Authorization``, which moto needs to route the call to STS and does not verify).
  moto's werkzeug server closes the connection after every answer, so its clients reconnect
  each time; that is what any client of moto_server pays.

It prints requests per second, p50/p99 latency, the CPU share of the server and of the load
generator (a load generator near 100% would mean the figure measures the client), for the shared
rows the Redis server's CPU share and its CPU time per call (from ``INFO cpu``), and the ratios
emulator / moto_server (target >= 3) and emulator / bare route (target >= 0.5). ``--profile``
runs the emulator (and the postgres row's server) under cProfile and writes the profile to FILE
(its figures are then lower).

Two more targets, not run by default, measure a shared deployment (``--only
"emulator,postgres,postgres x2"``):

* ``postgres``: the same demo server on PostgreSQL + Redis (a fresh schema and Redis namespace,
  dropped afterwards; ``MCAPI_TEST_POSTGRES_URL`` / ``MCAPI_TEST_REDIS_URL``, default the local
  servers), ratio postgres / emulator (target >= 0.5);
* ``postgres x2``: two processes of that deployment on two ports, the load generator's
  connections split between them, ratio postgres x2 / postgres (target >= 1.3). On 2 cores the
  two servers share them with the load generator, PostgreSQL and Redis.

Both rows run on one two-process deployment, in ``--interleave`` (5) alternating slices: the
first process's port alone, then both ports (the order swapped each turn), so that the machine's
drift falls on both rows alike (``--interleave 0``: one row after the other, each on its own
deployment, as before).

Measured 2026-12-02 with ``--only "emulator,postgres,postgres x2"``, three runs in a row on 2 cores
with nothing else running: postgres / emulator 0.763, 0.732, 0.784 and postgres x2 / postgres
1.262, 1.204, 1.206 (1.369 with ``--connections 32``, 1.524 with 64); docs/emulator.md, section 7,
has the figures and those of the version before, which read Redis' replies one caller at a time.

Choices, measured on a 2-core machine: the load generator is raw sockets rather than httpx
because httpx's AsyncClient spends ~750 µs of CPU per request (~1,150 req/s from a whole core,
below what the bare route serves), while the raw generator spends ~17 µs (its CPU share is
printed with every figure). 16 connections is where the bare route peaked (4 to 64 tried; the
emulator is flat from 4 to 32 and moto_server from 1 to 32). Run it on an otherwise idle machine:
on 2 cores, the server and the load generator each need one.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    MCAPI,
    LoadResult,
    RequestFactory,
    StaticRequest,
    free_port,
    generate_load,
    process_cpu_seconds,
    serve_demo,
    start_server,
)

GET_ACCOUNT = "/api/account/get-account"
TARGET_VS_MOTO = 3.0
TARGET_VS_BARE = 0.5
TARGET_POSTGRES_VS_SQLITE = 0.5
TARGET_TWO_VS_ONE = 1.3
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
BODY = b'{"data": []}'


@dataclass
class SignedCall:
    """A signed Mimecast call, built afresh for every request (new request id and signature)."""

    host: str
    path: str
    app_id: str
    app_key: str
    access_key: str
    secret_key: str

    def __post_init__(self) -> None:
        self._key = base64.b64decode(self.secret_key)
        self._head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n"
            f"x-mc-app-id: {self.app_id}\r\n"
        ).encode()
        self._second = -1
        self._date = ""

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__post_init__()

    def __call__(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._date = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(second))
        request_id = str(uuid.uuid4())
        data = f"{self._date}:{request_id}:{self.path}:{self.app_key}".encode()
        signature = base64.b64encode(hmac.new(self._key, data, hashlib.sha1).digest()).decode()
        return (
            self._head
            + (
                f"x-mc-date: {self._date}\r\nx-mc-req-id: {request_id}\r\n"
                f"Authorization: MC {self.access_key}:{signature}\r\n\r\n"
            ).encode()
            + BODY
        )


def sts_request(port: int) -> StaticRequest:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    head = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nX-Amz-Date: 20260101T000000Z\r\n"
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/sts/"
        "aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=0000\r\n\r\n"
    )
    return StaticRequest(head.encode() + body)


def bare_request(port: int) -> StaticRequest:
    head = (
        f"POST {GET_ACCOUNT} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
    )
    return StaticRequest(head.encode() + BODY)


Target = Callable[[argparse.Namespace], Any]


@contextmanager
def emulator_target(args: argparse.Namespace) -> Iterator[tuple[int, int, SignedCall]]:
    with serve_demo(profile=args.profile) as (server, env):
        call = _signed_call(server.port, env)
        _check(server.base_url, call, "accountCode")
        yield server.port, server.process.pid, call


def _check(base_url: str, factory: Callable[[], bytes], expect: str) -> None:
    """One request through httpx first: a benchmark of error answers would be worthless."""
    raw = factory()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ")
    headers = dict(line.split(": ", 1) for line in lines[1:] if not line.lower().startswith("host"))
    answer = httpx.request(method, base_url + path, content=body, headers=headers, timeout=10)
    if answer.status_code != 200 or expect not in answer.text:
        raise SystemExit(f"{base_url}{path} answered {answer.status_code}: {answer.text[:300]}")


def _postgres_url() -> str:
    return os.environ.get("MCAPI_TEST_POSTGRES_URL") or DEFAULT_POSTGRES


def _redis_url() -> str:
    return os.environ.get("MCAPI_TEST_REDIS_URL") or DEFAULT_REDIS


@contextmanager
def shared_deployment() -> Iterator[tuple[str, list[str]]]:
    """A fresh PostgreSQL schema and Redis namespace; yields the database URL and the ``serve``
    options that put a process on them. Both are dropped afterwards."""
    import redis
    import sqlalchemy as sa

    name = f"bench_{uuid.uuid4().hex[:12]}"
    base = _postgres_url()
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{name}"
    try:
        yield url, ["--redis", _redis_url(), "--redis-namespace", name]
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        engine.dispose()
        client = redis.Redis.from_url(_redis_url())
        keys = list(client.scan_iter(match=f"mcapi:{name}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


def _signed_call(port: int, env: dict[str, str]) -> SignedCall:
    return SignedCall(
        f"127.0.0.1:{port}",
        GET_ACCOUNT,
        env["MCAPI_APP_ID"],
        env["MCAPI_APP_KEY"],
        env["MCAPI_ACCESS_KEY"],
        env["MCAPI_SECRET_KEY"],
    )


@contextmanager
def postgres_target(args: argparse.Namespace) -> Iterator[tuple[int, int, SignedCall]]:
    with (
        shared_deployment() as (url, extra),
        serve_demo(db=url, extra=extra, profile=args.profile) as (server, env),
    ):
        call = _signed_call(server.port, env)
        _check(server.base_url, call, "accountCode")
        yield server.port, server.process.pid, call


@contextmanager
def postgres_pair_target(
    args: argparse.Namespace,
) -> Iterator[tuple[list[int], list[int], SignedCall]]:
    """Two processes of one deployment on two ports; the connections are split between them."""
    with shared_deployment() as (url, extra), serve_demo(db=url, extra=extra) as (first, env):
        port = free_port()
        argv = [*MCAPI, "emulator", "serve", "--port", str(port), "--db", url, *extra]
        with start_server("emulator-2", argv, port, ready_path="/_emulator/health") as second:
            call = _signed_call(first.port, env)
            _check(first.base_url, call, "accountCode")
            _check(second.base_url, call, "accountCode")
            yield [first.port, port], [first.process.pid, second.process.pid], call


@contextmanager
def bare_target(args: argparse.Namespace) -> Iterator[tuple[int, int, StaticRequest]]:
    port = free_port()
    script = str(Path(__file__).resolve().parent / "_common.py")
    argv = [sys.executable, script, str(port), GET_ACCOUNT]
    with start_server("bare", argv, port, ready_path=GET_ACCOUNT) as server:
        request = bare_request(port)
        _check(server.base_url, request, '"ok"')
        yield port, server.process.pid, request


@contextmanager
def moto_target(args: argparse.Namespace) -> Iterator[tuple[int, int, StaticRequest]]:
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with start_server("moto_server", argv, port, ready_path="/moto-api/") as server:
        request = sts_request(port)
        _check(server.base_url, request, "GetCallerIdentityResult")
        yield port, server.process.pid, request


TARGETS = {
    "emulator": ("emulator get-account (signed)", emulator_target),
    "postgres": ("emulator on PostgreSQL + Redis", postgres_target),
    "postgres x2": ("emulator on PostgreSQL + Redis, 2 procs", postgres_pair_target),
    "bare": ("bare Starlette JSON route", bare_target),
    "moto": ("moto_server STS GetCallerIdentity", moto_target),
}


@dataclass
class Measured:
    """A row's load result and the CPU shares (of one core) of its server processes and, for a
    shared deployment, of the Redis server (``None`` where they could not be read)."""

    result: LoadResult
    server_share: float | None
    redis_share: float | None = None


def measure(name: str, args: argparse.Namespace) -> Measured:
    label, target = TARGETS[name]
    print(f"  {label}: {args.warmup:g} s warm-up + {args.duration:g} s ...", flush=True)
    context: Any = target(args)
    with context as (port, pid, factory):
        pids = [pid] if isinstance(pid, int) else pid
        return measured_load(
            factory, port, pids, args, warmup=args.warmup, duration=args.duration,
            redis=name in SHARED_PAIR,
        )  # fmt: skip


def measured_load(
    factory: RequestFactory, ports: int | list[int], pids: list[int], args: argparse.Namespace, *,
    warmup: float, duration: float, redis: bool,
) -> Measured:  # fmt: skip
    """The load generator's run against ``ports``, with the CPU the server processes ``pids``
    (and, with ``redis``, the Redis server) spent meanwhile."""
    redis_before = _redis_cpu() if redis else None
    cpu_before, wall_before = _cpu(pids), time.perf_counter()
    result = generate_load(
        factory, ports, connections=args.connections, warmup=warmup, duration=duration
    )
    cpu_after, wall = _cpu(pids), time.perf_counter() - wall_before
    redis_after = _redis_cpu() if redis else None
    return Measured(
        result, _share(cpu_before, cpu_after, wall), _share(redis_before, redis_after, wall)
    )


def _share(before: float | None, after: float | None, wall: float) -> float | None:
    return None if before is None or after is None else (after - before) / wall


def _redis_cpu() -> float | None:
    """CPU seconds the Redis server has used (INFO cpu), or None when it does not say."""
    import redis

    try:
        client = redis.Redis.from_url(_redis_url())
        try:
            info = client.info("cpu")
        finally:
            client.close()
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except (redis.RedisError, OSError, KeyError, ValueError):
        return None


SHARED_PAIR = ("postgres", "postgres x2")


def measure_interleaved(args: argparse.Namespace) -> dict[str, Measured]:
    """The ``postgres`` and ``postgres x2`` rows on one two-process deployment, in ``--interleave``
    alternating slices (the order swapped each turn): one process's port alone, then both ports.
    A slower or faster moment of the machine then falls on both rows alike, where one row after
    the other measured the drift of the single-process row as much as the second process."""
    slices = args.interleave
    per_slice = args.duration / slices
    print(
        f"  {TARGETS['postgres'][0]} / {TARGETS['postgres x2'][0]}: {slices} alternating slices "
        f"of {per_slice:g} s each (1 s warm-up each, {args.warmup:g} s before the first) ...",
        flush=True,
    )
    parts: dict[str, list[Measured]] = {name: [] for name in SHARED_PAIR}
    with postgres_pair_target(args) as (ports, pids, factory):
        for turn in range(slices):
            rows = [("postgres", ports[:1], pids[:1]), ("postgres x2", ports, pids)]
            for name, row_ports, row_pids in rows if turn % 2 == 0 else rows[::-1]:
                warmup = args.warmup if turn == 0 else 1.0
                measured = measured_load(
                    factory, row_ports, row_pids, args, warmup=warmup, duration=per_slice,
                    redis=True,
                )  # fmt: skip
                parts[name].append(measured)
    return {
        name: Measured(
            _merged([m.result for m in got]),
            _mean_of([m.server_share for m in got]),
            _mean_of([m.redis_share for m in got]),
        )
        for name, got in parts.items()
    }


def _merged(results: list[LoadResult]) -> LoadResult:
    """Slices of one row as one result: requests over the seconds measured, all latencies."""
    return LoadResult(
        requests=sum(r.requests for r in results),
        seconds=sum(r.seconds for r in results),
        latencies_ms=[ms for r in results for ms in r.latencies_ms],
        statuses={
            k: sum(r.statuses.get(k, 0) for r in results) for r in results for k in r.statuses
        },
        errors=sum(r.errors for r in results),
        client_cpu_share=_mean([r.client_cpu_share for r in results]),
        connects=sum(r.connects for r in results),
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _mean_of(values: list[float | None]) -> float | None:
    return None if not values or None in values else _mean([v for v in values if v is not None])


def _cpu(pids: list[int]) -> float | None:
    """CPU seconds of the server processes together (None where /proc is not there)."""
    seconds = [process_cpu_seconds(pid) for pid in pids]
    return None if None in seconds else sum(s for s in seconds if s is not None)


def _redis_per_call(measured: Measured) -> float | None:
    """Microseconds of Redis CPU per call answered (the load after the warm-up is steady, so the
    share over the whole slice stands for the share over the measured part)."""
    rate = measured.result.rate
    if measured.redis_share is None or not rate:
        return None
    return measured.redis_share / rate * 1e6


def report(results: dict[str, Measured], as_json: bool) -> int:
    rows: dict[str, dict[str, Any]] = {
        name: {
            "label": TARGETS[name][0],
            "requests_per_second": round(m.result.rate, 1),
            "p50_ms": round(m.result.percentile(50), 2),
            "p99_ms": round(m.result.percentile(99), 2),
            "server_cpu_share": None if m.server_share is None else round(m.server_share, 2),
            "client_cpu_share": round(m.result.client_cpu_share, 2),
            "redis_cpu_share": None if m.redis_share is None else round(m.redis_share, 2),
            "redis_us_per_call": None if (us := _redis_per_call(m)) is None else round(us, 1),
            "statuses": m.result.statuses,
            "errors": m.result.errors,
            "connects": m.result.connects,
        }
        for name, m in results.items()
    }
    ratios: dict[str, dict[str, Any]] = {}
    for name, other, target in (
        ("emulator", "moto", TARGET_VS_MOTO),
        ("emulator", "bare", TARGET_VS_BARE),
        ("postgres", "emulator", TARGET_POSTGRES_VS_SQLITE),
        ("postgres x2", "postgres", TARGET_TWO_VS_ONE),
    ):
        if name in rows and other in rows and rows[other]["requests_per_second"]:
            value = rows[name]["requests_per_second"] / rows[other]["requests_per_second"]
            # judged unrounded: 0.496 does not meet a target of 0.5
            ratios[f"{name}/{other}"] = {"ratio": round(value, 4), "target": target}
    failed = any(r["ratio"] < r["target"] for r in ratios.values())
    if as_json:
        print(json.dumps({"results": rows, "ratios": ratios, "met": not failed}, indent=2))
        return 1 if failed else 0
    shared = any(row["redis_cpu_share"] is not None for row in rows.values())
    redis_head = f" {'redis':>7} {'µs/call':>8}" if shared else ""
    print(
        f"\n{'target':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'server':>7} {'client':>7}"
        + redis_head
    )
    for row in rows.values():
        server = "-" if row["server_cpu_share"] is None else f"{row['server_cpu_share']:.0%}"
        redis_cells = ""
        if shared:
            share, per_call = row["redis_cpu_share"], row["redis_us_per_call"]
            redis_cells = (
                f" {'-' if share is None else f'{share:.0%}':>7}"
                f" {'-' if per_call is None else f'{per_call:.0f}':>8}"
            )
        print(
            f"{row['label']:40} {row['requests_per_second']:>9,.0f} {row['p50_ms']:>8.2f} "
            f"{row['p99_ms']:>8.2f} {server:>7} {row['client_cpu_share']:>7.0%}" + redis_cells
        )
        odd = {k: v for k, v in row["statuses"].items() if k != 200}
        if odd or row["errors"]:
            print(f"{'':40} non-200: {odd}  connection errors: {row['errors']}")
    print("(server/client: CPU share of one core; a client near 100% would cap the figure)")
    if shared:
        print(
            "(redis: the Redis server's CPU share of one core and its CPU time per call answered, "
            "from INFO cpu: anything else using that Redis server counts too)"
        )
    if "postgres x2" in rows:
        print(
            f"(postgres x2: two server processes, the load generator and PostgreSQL and Redis "
            f"share this machine's {os.cpu_count() or 1} cores)"
        )
    for name, ratio in ratios.items():
        verdict = "met" if ratio["ratio"] >= ratio["target"] else "NOT MET"
        print(f"{name}: {ratio['ratio']:.3f}x (target >= {ratio['target']:g}x) {verdict}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument(
        "--only",
        default="emulator,bare,moto",
        help=f"targets, comma-separated, from: {', '.join(TARGETS)}",
    )
    parser.add_argument(
        "--interleave", type=int, default=5, metavar="N",
        help="measure postgres and postgres x2 on one deployment in N alternating slices "
        "(0: one row after the other, each on its own deployment)",
    )  # fmt: skip
    parser.add_argument("--profile", metavar="FILE", help="cProfile the emulator into FILE")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = sorted(set(names) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    cores = os.cpu_count() or 1
    before = os.getloadavg()[0]
    print(
        f"one server process each (two for postgres x2), {args.connections} connections, "
        f"loopback, {cores} cores, "
        f"load average {before:.2f}",
        flush=True,
    )
    interleaved = args.interleave > 0 and all(name in names for name in SHARED_PAIR)
    results: dict[str, Measured] = {}
    for name in names:
        if interleaved and name in SHARED_PAIR:
            if not results.keys() & set(SHARED_PAIR):
                results.update(measure_interleaved(args))
            continue
        results[name] = measure(name, args)
    results = {name: results[name] for name in names}
    code = report(results, args.json)
    after = os.getloadavg()[0]
    if not args.json and max(before, after) > 0.5 * cores:
        print(
            f"note: the machine was busy (load average {before:.2f} -> {after:.2f} on {cores} "
            "cores); other processes took CPU from the servers, so the figures are low and noisy"
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
