"""What the mcapi client costs: its get-account calls per second against a hand-signed httpx loop.

    python bench/client_overhead.py [--rounds 5] [--seconds 2] [--concurrency 8] [--json]

One emulator (``mcapi emulator serve --demo`` in a subprocess on a loopback port, its quota raised
so that no call meets 429) serves both contestants in the same run, their calls alternating one
by one (the order swapped each turn), each contestant timed over its own calls: the server's
throughput drifts by tens of percent from one second to the next (its journal, the database's
checkpoints, the collector of another process), and a drift then falls on both alike, where whole
rounds of one contestant after the other measured mostly the drift:

* ``raw``: an ``httpx.Client`` loop that signs each call by hand (date, request id, HMAC-SHA1,
  four headers) and decodes the JSON answer - the least a correct client must do;
* ``mcapi``: ``Client.call("/api/account/get-account")`` - the auth flow, the pacer, the core's
  classification through the catalogue, the ``Result`` with its rate-limit headers, the event
  machinery and logging checks. (Its httpx client reads an answer for cookies only when the
  answer sets one; a plain ``httpx.Client``, as in ``raw``, does that work for every answer.)

The same pair runs again with asyncio (``httpx.AsyncClient`` vs ``AsyncClient``): short blocks
in which ``--concurrency`` tasks each make 4 calls of one contestant, the contestants' blocks
alternating; a contestant's calls per second is its calls over the time its blocks took. Then both
pairs again on API 2.0, with the demo's API 2.0 application:

* ``raw 2.0``: an ``httpx`` loop with a fixed ``Authorization: Bearer`` token, fetched once
  before the clock starts;
* ``mcapi 2.0``: ``Client`` built from the client id and secret (its token auth flow, which gets
  the token on the first call and checks its expiry on each).

Each figure is the median of the rounds; the ratio mcapi / raw is printed with the target
(>= 0.9). Bounded: about ``4 * rounds * seconds`` seconds plus the server's start.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import serve_demo
from mcapi.client import AsyncClient, Client, Credentials, OAuthCredentials

GET_ACCOUNT = "/api/account/get-account"
TARGET = 0.9


@dataclass(frozen=True)
class Served:
    """A running emulator: the demo credentials and the admin API's address and token."""

    creds: Credentials
    oauth: OAuthCredentials
    base_url: str
    admin_token: str

    def journal(self, status: int) -> list[dict[str, Any]]:
        """The emulator's journal entries with this status (what it answered, and why)."""
        answer = httpx.get(
            f"{self.base_url}/_emulator/journal",
            params={"status": status, "limit": 20},
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10,
        )
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return entries


@contextmanager
def emulator(quota: dict[str, int] | None = None) -> Iterator[Served]:
    """``mcapi emulator serve --demo`` on a free loopback port, its quota set."""
    with serve_demo(quota) as (server, env):
        creds = Credentials.from_env({**env, "MCAPI_BASE_URL": server.base_url})
        oauth = OAuthCredentials.from_env({**env, "MCAPI_BASE_URL": server.base_url})
        yield Served(creds, oauth, server.base_url, env["MCAPI_ADMIN_TOKEN"])


def signed(creds: Credentials, key: bytes) -> dict[str, str]:
    """The four headers of a signed call, by hand."""
    date = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime())
    request_id = str(uuid.uuid4())
    text = f"{date}:{request_id}:{GET_ACCOUNT}:{creds.app_key}".encode()
    signature = base64.b64encode(hmac.new(key, text, hashlib.sha1).digest()).decode()
    return {
        "x-mc-date": date,
        "x-mc-req-id": request_id,
        "x-mc-app-id": creds.app_id,
        "Authorization": f"MC {creds.access_key}:{signature}",
        "Content-Type": "application/json",
    }


#: One contestant's call: the raw loop's body, or the mcapi client's call.
SyncCall = Callable[[], object]
AsyncCall = Callable[[], Awaitable[object]]


def raw_call(http: httpx.Client, url: str, headers: Callable[[], dict[str, str]]) -> SyncCall:
    """The raw loop's call: ``headers()`` gives each call's headers (signed afresh on 1.0, the
    fixed Bearer token on 2.0)."""

    def call() -> None:
        answer = http.post(url, content=b'{"data":[]}', headers=headers())
        assert answer.status_code == 200 and answer.json()["data"], answer.text

    return call


def client_call(client: Client) -> SyncCall:
    def call() -> None:
        result = client.call(GET_ACCOUNT)
        assert result.ok and result.data

    return call


def paired(raw: SyncCall, ours: SyncCall, seconds: float) -> tuple[float, float]:
    """Calls per second of each contestant, their calls alternating one by one (the order
    swapped each turn): a slower or faster moment of the server falls on both alike."""
    spent = [0.0, 0.0]
    calls = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        order = ((0, raw), (1, ours)) if calls % 2 == 0 else ((1, ours), (0, raw))
        for slot, call in order:
            started = time.perf_counter()
            call()
            spent[slot] += time.perf_counter() - started
        calls += 1
    return calls / spent[0], calls / spent[1]


async def paired_async(
    raw: AsyncCall, ours: AsyncCall, seconds: float, tasks: int, calls_per_task: int = 4
) -> tuple[float, float]:
    """As :func:`paired`, for ``tasks`` concurrent tasks: in short blocks, each of which has every
    task make ``calls_per_task`` calls of one contestant, the contestants' blocks alternating (the
    order swapped each turn). A contestant's calls per second is its calls over the time its
    blocks took: its throughput at that concurrency, a slower or faster moment of the server
    falling on both alike. (Tasks of both contestants mixed on one loop would charge each call
    with the other contestant's work done meanwhile.)"""
    spent = [0.0, 0.0]
    calls = [0, 0]
    end = time.perf_counter() + seconds

    async def block(call: AsyncCall) -> None:
        for _ in range(calls_per_task):
            await call()

    turn = 0
    while time.perf_counter() < end:
        order = ((0, raw), (1, ours)) if turn % 2 == 0 else ((1, ours), (0, raw))
        for slot, call in order:
            started = time.perf_counter()
            await asyncio.gather(*(block(call) for _ in range(tasks)))
            spent[slot] += time.perf_counter() - started
            calls[slot] += tasks * calls_per_task
        turn += 1
    return calls[0] / spent[0], calls[1] / spent[1]


def bearer(oauth: OAuthCredentials) -> dict[str, str]:
    """The headers of a 2.0 call with a token fetched once, by hand."""
    form = {
        "client_id": oauth.client_id,
        "client_secret": oauth.client_secret,
        "grant_type": "client_credentials",
    }
    answer = httpx.post(f"{oauth.base_url}/oauth/token", data=form, timeout=10)
    token = answer.raise_for_status().json()["access_token"]
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _headers(served: Served, api2: bool) -> Callable[[], dict[str, str]]:
    """Each raw call's headers: a Bearer token fetched once (2.0), or signed afresh (1.0)."""
    if api2:
        fixed = bearer(served.oauth)
        return lambda: fixed
    key = base64.b64decode(served.creds.secret_key)
    return lambda: signed(served.creds, key)


def run_sync(served: Served, api2: bool, seconds: float) -> tuple[float, float]:
    with httpx.Client() as http, Client(served.oauth if api2 else served.creds) as client:
        raw = raw_call(http, served.base_url + GET_ACCOUNT, _headers(served, api2))
        return paired(raw, client_call(client), seconds)


async def run_async(served: Served, api2: bool, seconds: float, tasks: int) -> tuple[float, float]:
    creds, oauth = served.creds, served.oauth
    async with httpx.AsyncClient() as http, AsyncClient(oauth if api2 else creds) as client:
        url = served.base_url + GET_ACCOUNT
        headers = _headers(served, api2)

        async def raw() -> None:
            answer = await http.post(url, content=b'{"data":[]}', headers=headers())
            assert answer.status_code == 200 and answer.json()["data"], answer.text

        async def ours() -> None:
            result = await client.call(GET_ACCOUNT)
            assert result.ok and result.data

        return await paired_async(raw, ours, seconds, tasks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="per contestant per round")
    parser.add_argument("--concurrency", type=int, default=8, help="tasks in the async runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = ("raw", "mcapi", "raw_async", "mcapi_async")
    names += ("raw2", "mcapi2", "raw2_async", "mcapi2_async")
    figures: dict[str, list[float]] = {k: [] for k in names}
    with emulator() as served:
        run_sync(served, False, 0.5)  # warm every path (connections, imports, caches)
        run_sync(served, True, 0.5)
        for _ in range(args.rounds):
            for api2, suffix in ((False, ""), (True, "2")):
                raw, ours = run_sync(served, api2, args.seconds)
                figures[f"raw{suffix}"].append(raw)
                figures[f"mcapi{suffix}"].append(ours)
                raw, ours = asyncio.run(run_async(served, api2, args.seconds, args.concurrency))
                figures[f"raw{suffix}_async"].append(raw)
                figures[f"mcapi{suffix}_async"].append(ours)
    median = {name: statistics.median(values) for name, values in figures.items()}
    ratios = {
        "sync": median["mcapi"] / median["raw"],
        "async": median["mcapi_async"] / median["raw_async"],
        "sync 2.0": median["mcapi2"] / median["raw2"],
        "async 2.0": median["mcapi2_async"] / median["raw2_async"],
    }
    if args.json:
        print(json.dumps({"calls_per_second": median, "ratios": ratios, "target": TARGET}))
    else:
        print(f"get-account calls/s, median of {args.rounds} rounds of {args.seconds:g} s each")
        tasks = f" ({args.concurrency} tasks)"
        rows = (
            ("1.0 sync ", "hand-signed ", "raw", "mcapi", "mcapi.Client     ", ""),
            ("1.0 async", "hand-signed ", "raw_async", "mcapi_async", "mcapi.AsyncClient", tasks),
            ("2.0 sync ", "fixed Bearer", "raw2", "mcapi2", "mcapi.Client     ", ""),
            ("2.0 async", "fixed Bearer", "raw2_async", "mcapi2_async", "mcapi.AsyncClient", tasks),
        )
        for kind, how, raw, ours, name, note in rows:
            print(
                f"  {kind}  raw httpx, {how} {median[raw]:8.1f}   {name} {median[ours]:8.1f}{note}"
            )
        for kind, ratio in ratios.items():
            verdict = "meets" if ratio >= TARGET else "MISSES"
            print(f"  ratio mcapi / raw ({kind}): {ratio:.3f}  ({verdict} the target >= {TARGET})")
    return 0 if min(ratios.values()) >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
