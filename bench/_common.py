"""Shared helpers of the benchmarks: servers in subprocesses, and a load generator.

The load generator
------------------
Python HTTP clients cost more CPU per request than a fast ASGI server spends answering it
(httpx: ~150-250 µs a request), so a benchmark driven by one would measure the client. This
one writes pre-built request bytes on raw sockets from an asyncio ``Protocol`` (uvloop when
installed) and parses answers with a minimal HTTP/1.1 reader (``Content-Length`` or chunked
bodies, reconnecting when the server says ``Connection: close``): ~15-25 µs of client CPU a
request. It runs in its own process (``multiprocessing`` spawn), keeps ``connections``
keep-alive connections with one request in flight each, builds every request afresh through a
picklable factory (a signed Mimecast call needs a new ``x-mc-req-id`` and signature each
time), and reports the requests completed inside the measuring window with their latencies, the
status codes seen, and its own CPU time, so a report can show whether the client was saturated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, cast

import httpx

__all__ = [
    "LoadResult",
    "Server",
    "StaticRequest",
    "free_port",
    "generate_load",
    "process_cpu_seconds",
    "start_server",
]

RequestFactory = Callable[[], bytes]


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux ``/proc``); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server subprocess: its base URL, process, and the lines it printed at start."""

    name: str
    base_url: str
    port: int
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)


@contextlib.contextmanager
def start_server(
    name: str,
    argv: Sequence[str],
    port: int,
    *,
    ready_path: str = "/",
    ready_line: str | None = None,
    timeout: float = 30.0,
    cwd: str | Path | None = None,
) -> Iterator[Server]:
    """Run ``argv`` (a server listening on ``port``), wait until ``ready_path`` answers any HTTP
    status (and ``ready_line`` was printed, when given), yield it, then stop it (SIGINT, then
    SIGKILL after 10 s)."""
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = Server(name, f"http://127.0.0.1:{port}", port, process)
    try:
        _wait_ready(server, ready_path, ready_line, timeout)
        # Keep reading what the server prints: a full pipe would block it (moto logs every
        # request), and the benchmark would measure the pipe.
        threading.Thread(target=_drain, args=(server,), daemon=True).start()
        yield server
    finally:
        process.send_signal(2)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def _drain(server: Server) -> None:
    stdout = server.process.stdout
    assert stdout is not None
    os.set_blocking(stdout.fileno(), True)
    with contextlib.suppress(ValueError, OSError):
        for line in stdout:
            if len(server.output) < 1000:
                server.output.append(line.rstrip("\n"))


def _wait_ready(server: Server, path: str, line: str | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    stdout = server.process.stdout
    assert stdout is not None
    if line is not None:
        os.set_blocking(stdout.fileno(), False)
        while not any(line in printed for printed in server.output):
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not start:\n" + "\n".join(server.output))
            chunk = stdout.readline()
            if chunk:
                server.output.append(chunk.rstrip("\n"))
            else:
                time.sleep(0.02)
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited at start:\n" + "\n".join(server.output))
        try:
            httpx.get(server.base_url + path, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not answer within {timeout:g} s") from None
            time.sleep(0.05)


@dataclass(frozen=True)
class StaticRequest:
    """The same request bytes every time."""

    raw: bytes

    def __call__(self) -> bytes:
        return self.raw


@dataclass
class LoadResult:
    """What the load generator measured inside its window."""

    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]
    errors: int
    #: the load generator's CPU time over its wall time (1.0 = one core saturated)
    client_cpu_share: float
    connects: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=1000, method="inclusive")[
            round(p * 10) - 1
        ]


# ---- the load generator (runs in a child process) ----------------------------------------------


class _Run:
    def __init__(self, factory: RequestFactory, warmup: float, duration: float) -> None:
        self.factory = factory
        self.begin = time.perf_counter() + warmup
        self.end = self.begin + duration
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.errors = 0
        self.connects = 0
        self.active = 0
        self.idle = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    def record(self, status: int, started: float, finished: float) -> None:
        if self.begin <= finished <= self.end:
            self.statuses[status] += 1
            self.latencies.append((finished - started) * 1000.0)

    def running(self) -> bool:
        return time.perf_counter() < self.end


class _Connection(asyncio.Protocol):
    def __init__(self, run: _Run, host: str, port: int, started: float) -> None:
        self.run, self.host, self.port = run, host, port
        self.started = started
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.run.connects += 1
        self.transport.write(self.run.factory())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer and not self.done:
            parsed = _parse_response(self.buffer)
            if parsed is None:
                return
            size, status, close = parsed
            del self.buffer[:size]
            now = time.perf_counter()
            self.run.record(status, self.started, now)
            if close or not self.run.running():
                self._finish(reconnect=close and self.run.running())
                return
            self.started = now
            assert self.transport is not None
            self.transport.write(self.run.factory())

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done:  # the server hung up with a request in flight
            self.run.errors += 1
            self._finish(reconnect=self.run.running())

    def _finish(self, *, reconnect: bool) -> None:
        self.done = True
        if self.transport is not None:
            self.transport.close()
        if reconnect:
            _connect(self.run, self.host, self.port)
        else:
            self.run.active -= 1
            if self.run.active == 0:
                self.run.idle.set()


def _connect(run: _Run, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    started = time.perf_counter()

    async def open_one() -> None:
        try:
            await loop.create_connection(lambda: _Connection(run, host, port, started), host, port)
        except OSError:
            run.errors += 1
            await asyncio.sleep(0.01)
            if run.running():
                _connect(run, host, port)
                return
            run.active -= 1
            if run.active == 0:
                run.idle.set()

    task = loop.create_task(open_one())
    run.tasks.add(task)
    task.add_done_callback(run.tasks.discard)


def _parse_response(buffer: bytearray) -> tuple[int, int, bool] | None:
    """(bytes the response takes, status, server closes) or None until it is complete."""
    head_end = buffer.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buffer[:head_end]).lower()
    status = int(head[9:12])
    close = b"\r\nconnection: close" in head or head.startswith(b"http/1.0")
    body_start = head_end + 4
    marker = head.find(b"\r\ncontent-length:")
    if marker >= 0:
        stop = head.find(b"\r\n", marker + 2)
        length = int(head[marker + 17 : stop if stop >= 0 else None])
        total = body_start + length
        return (total, status, close) if len(buffer) >= total else None
    if b"\r\ntransfer-encoding: chunked" in head:
        pos = body_start
        while True:
            line_end = buffer.find(b"\r\n", pos)
            if line_end < 0:
                return None
            chunk = int(bytes(buffer[pos:line_end]).split(b";")[0], 16)
            pos = line_end + 2 + chunk + 2
            if len(buffer) < pos:
                return None
            if chunk == 0:
                return pos, status, close
    return body_start, status, close  # no body (e.g. 204)


async def _drive(
    factory: RequestFactory,
    host: str,
    port: int | Sequence[int],
    connections: int,
    warmup: float,
    duration: float,
) -> _Run:
    run = _Run(factory, warmup, duration)
    run.active = connections
    ports = [port] if isinstance(port, int) else list(port)
    for index in range(connections):
        _connect(run, host, ports[index % len(ports)])
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.idle.wait(), timeout=warmup + duration + 10)
    return run


def _load_child(
    factory: RequestFactory,
    host: str,
    port: int | Sequence[int],
    connections: int,
    warmup: float,
    duration: float,
) -> LoadResult:
    try:
        import uvloop

        runner: Callable[[Any], _Run] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    wall_before = time.perf_counter()
    run = runner(_drive(factory, host, port, connections, warmup, duration))
    wall = time.perf_counter() - wall_before
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return LoadResult(
        requests=sum(run.statuses.values()),
        seconds=duration,
        latencies_ms=run.latencies,
        statuses=dict(run.statuses),
        errors=run.errors,
        client_cpu_share=cpu / wall if wall else 0.0,
        connects=run.connects,
    )


def generate_load(
    factory: RequestFactory,
    port: int | Sequence[int],
    *,
    host: str = "127.0.0.1",
    connections: int = 32,
    warmup: float = 5.0,
    duration: float = 10.0,
) -> LoadResult:
    """Drive ``host:port`` from a separate process; the result covers the last ``duration`` s.
    Several ports share the connections between them (one server process each)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        future = pool.submit(_load_child, factory, host, port, connections, warmup, duration)
        return future.result(timeout=warmup + duration + 60)


# ---- the demo emulator, served ------------------------------------------------------------------

#: ``mcapi`` run by this interpreter (the benchmarks need no installed console script).
MCAPI = [sys.executable, "-c", "from mcapi.cli import main; main()"]
#: A quota no benchmark meets, for measuring speed rather than the limiter.
UNLIMITED = {"quota_limit": 1_000_000_000, "quota_reset_ms": 1}


@contextlib.contextmanager
def serve_demo(
    policy: dict[str, int] | None = None,
    *,
    profile: str | None = None,
    db: str | None = None,
    extra: Sequence[str] = (),
) -> Iterator[tuple[Server, dict[str, str]]]:
    """``mcapi emulator serve --demo`` on a free loopback port with a fresh database (or ``db``,
    with ``extra`` options such as ``--redis``), the demo account's ``policy`` applied (default
    :data:`UNLIMITED`); yields the server and the ``MCAPI_*`` values it printed. ``profile``
    runs the server under cProfile into that file."""
    import tempfile

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        argv = [*MCAPI, "emulator", "serve", "--demo", "--port", str(port)]
        argv += ["--db", db or str(Path(tmp) / "bench.db")]
        argv += list(extra)
        if profile:
            driver = Path(tmp) / "serve.py"
            driver.write_text("from mcapi.cli import main\nmain()\n")
            argv = [sys.executable, "-m", "cProfile", "-o", profile, str(driver), *argv[3:]]
        with start_server(
            "emulator", argv, port, ready_path="/_emulator/health", ready_line="former@demo"
        ) as server:
            env = dict(
                line.removeprefix("export ").split("=", 1)
                for line in server.output
                if line.startswith("export ")
            )
            httpx.post(
                f"{server.base_url}/_emulator/accounts/CUSA12345/policy",
                json=policy or UNLIMITED,
                headers={"Authorization": f"Bearer {env['MCAPI_ADMIN_TOKEN']}"},
                timeout=10,
            ).raise_for_status()
            yield server, env


# ---- a bare Starlette app under the emulator's uvicorn settings --------------------------------


def serve_bare(port: int, path: str) -> None:
    """A Starlette app with one POST route answering a fixed envelope, served exactly as
    ``mcapi emulator serve`` serves the emulator (same ``build_server``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from mcapi.emulator._serve import bind_socket, build_server

    async def endpoint(request: Request) -> Response:
        await request.body()
        return JSONResponse({"meta": {"status": 200}, "data": [{"ok": True}], "fail": []})

    app = Starlette(routes=[Route(path, endpoint, methods=["POST"])])
    sock = bind_socket("127.0.0.1", port)
    with contextlib.suppress(KeyboardInterrupt):
        build_server(app).run(sockets=[sock])


if __name__ == "__main__":
    serve_bare(int(sys.argv[1]), sys.argv[2])
