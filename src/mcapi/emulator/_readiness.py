"""Readiness: whether the emulator's dependencies answer (``GET /_emulator/ready``).

``/_emulator/health`` says the process answers; readiness says it can serve a call: the database
answers a ``SELECT 1`` and, when the deployment shares state through Redis, Redis answers
``PING``. A balancer or an orchestrator takes a process out of rotation while it answers 503.

Each probe runs in a worker thread with a time limit, so a database or Redis that does not answer
at all (a dropped packet rather than a refused connection) makes the route answer 503 within
:data:`PROBE_TIMEOUT` seconds instead of holding the request, and never blocks the event loop.
Redis is probed with a client of its own, opened and closed per probe, with short socket
timeouts: the limiter's client has none, and its pool must not keep a half-open connection.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import anyio

from mcapi.emulator._store import Store

__all__ = ["PROBE_TIMEOUT", "Readiness"]

#: Seconds one probe may take before its dependency counts as unreachable.
PROBE_TIMEOUT = 3.0


def _ping_redis(url: str, timeout: float) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


class Readiness:
    """The probes of one emulator: the database, and Redis when ``redis_url`` is set."""

    def __init__(self, store: Store, redis_url: str | None, timeout: float = PROBE_TIMEOUT):
        self.timeout = timeout
        self.probes: dict[str, Callable[[], None]] = {"database": store.ping}
        if redis_url:
            self.probes["redis"] = lambda: _ping_redis(redis_url, timeout)

    async def check(self) -> dict[str, str]:
        """``{name: "ok" or why it is unreachable}`` for every probe, run concurrently."""
        results: dict[str, str] = {}

        async def run(name: str, probe: Callable[[], None]) -> None:
            try:
                with anyio.fail_after(self.timeout if math.isfinite(self.timeout) else None):
                    await anyio.to_thread.run_sync(probe, abandon_on_cancel=True)
            except TimeoutError:
                results[name] = f"no answer within {self.timeout:g} s"
            except Exception as exc:  # any failure of a probe is the answer, not a crash
                text = " ".join(str(exc).split())[:300] or type(exc).__name__
                results[name] = f"{type(exc).__name__}: {text}"
            else:
                results[name] = "ok"

        async with anyio.create_task_group() as group:
            for name, probe in self.probes.items():
                group.start_soon(run, name, probe)
        return {name: results[name] for name in self.probes}

    async def answer(self) -> tuple[int, dict[str, object]]:
        """The route's status and body: 200 ``{"ready": true, "checks"}``, or 503 with
        ``"unreachable"`` naming each dependency that did not answer."""
        checks = await self.check()
        unreachable = [name for name, result in checks.items() if result != "ok"]
        body: dict[str, object] = {"ready": not unreachable, "checks": checks}
        if unreachable:
            body["unreachable"] = unreachable
        return (503 if unreachable else 200), body
