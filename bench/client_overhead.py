"""What the mcapi client costs: its get-account calls per second against a hand-signed httpx loop.

    python bench/client_overhead.py [--rounds 3] [--seconds 2] [--concurrency 8] [--json]

One emulator (``mcapi emulator serve --demo`` in a subprocess on a loopback port, its quota raised
so that no call meets 429) serves both contestants, in the same run, round after round
(alternating, so that drift of the machine hits both alike):

* ``raw``: an ``httpx.Client`` loop that signs each call by hand (date, request id, HMAC-SHA1,
  four headers) and decodes the JSON answer - the least a correct client must do;
* ``mcapi``: ``Client.call("/api/account/get-account")`` - the auth flow, the pacer, the core's
  classification through the catalogue, the ``Result`` with its rate-limit headers, the event
  machinery and logging checks. (Its httpx client reads an answer for cookies only when the
  answer sets one; a plain ``httpx.Client``, as in ``raw``, does that work for every answer.)

The same pair runs again with asyncio (``httpx.AsyncClient`` vs ``AsyncClient``, ``--concurrency``
tasks each). Then both pairs again on API 2.0, with the demo's API 2.0 application:

* ``raw 2.0``: an ``httpx`` loop with a fixed ``Authorization: Bearer`` token, fetched once
  before the clock starts;
* ``mcapi 2.0``: ``Client`` built from the client id and secret (its token auth flow, which gets
  the token on the first call and checks its expiry on each).

Each figure is the median of the rounds; the ratio mcapi / raw is printed with the target
(>= 0.9). Bounded: about ``8 * rounds * seconds`` seconds plus the server's start.
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
from collections.abc import Iterator
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


def run_raw(creds: Credentials, seconds: float) -> float:
    key = base64.b64decode(creds.secret_key)
    url = creds.base_url + GET_ACCOUNT
    calls = 0
    with httpx.Client() as http:
        end = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < end:
            answer = http.post(url, content=b'{"data":[]}', headers=signed(creds, key))
            assert answer.status_code == 200 and answer.json()["data"], answer.text
            calls += 1
    return calls / (time.perf_counter() - started)


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


def run_raw_bearer(oauth: OAuthCredentials, seconds: float) -> float:
    headers = bearer(oauth)
    url = oauth.base_url + GET_ACCOUNT
    calls = 0
    with httpx.Client() as http:
        end = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < end:
            answer = http.post(url, content=b'{"data":[]}', headers=headers)
            assert answer.status_code == 200 and answer.json()["data"], answer.text
            calls += 1
    return calls / (time.perf_counter() - started)


async def run_raw_bearer_async(oauth: OAuthCredentials, seconds: float, tasks: int) -> float:
    headers = bearer(oauth)
    url = oauth.base_url + GET_ACCOUNT
    calls = 0
    async with httpx.AsyncClient() as http:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal calls
            while time.perf_counter() < end:
                answer = await http.post(url, content=b'{"data":[]}', headers=headers)
                assert answer.status_code == 200 and answer.json()["data"], answer.text
                calls += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
    return calls / (time.perf_counter() - started)


def run_client(creds: Credentials | OAuthCredentials, seconds: float) -> float:
    calls = 0
    with Client(creds) as client:
        end = time.perf_counter() + seconds
        started = time.perf_counter()
        while time.perf_counter() < end:
            result = client.call(GET_ACCOUNT)
            assert result.ok and result.data
            calls += 1
    return calls / (time.perf_counter() - started)


async def run_raw_async(creds: Credentials, seconds: float, tasks: int) -> float:
    key = base64.b64decode(creds.secret_key)
    url = creds.base_url + GET_ACCOUNT
    calls = 0
    async with httpx.AsyncClient() as http:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal calls
            while time.perf_counter() < end:
                answer = await http.post(url, content=b'{"data":[]}', headers=signed(creds, key))
                assert answer.status_code == 200 and answer.json()["data"], answer.text
                calls += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
    return calls / (time.perf_counter() - started)


async def run_client_async(
    creds: Credentials | OAuthCredentials, seconds: float, tasks: int
) -> float:
    calls = 0
    async with AsyncClient(creds) as client:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal calls
            while time.perf_counter() < end:
                result = await client.call(GET_ACCOUNT)
                assert result.ok and result.data
                calls += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
    return calls / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0, help="per contestant per round")
    parser.add_argument("--concurrency", type=int, default=8, help="tasks in the async runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    names = ("raw", "mcapi", "raw_async", "mcapi_async")
    names += ("raw2", "mcapi2", "raw2_async", "mcapi2_async")
    figures: dict[str, list[float]] = {k: [] for k in names}
    with emulator() as served:
        creds, oauth = served.creds, served.oauth
        run_raw(creds, 0.5)  # warm every path (connections, imports, caches)
        run_client(creds, 0.5)
        run_raw_bearer(oauth, 0.5)
        run_client(oauth, 0.5)
        for _ in range(args.rounds):
            figures["raw"].append(run_raw(creds, args.seconds))
            figures["mcapi"].append(run_client(creds, args.seconds))
            figures["raw_async"].append(
                asyncio.run(run_raw_async(creds, args.seconds, args.concurrency))
            )
            figures["mcapi_async"].append(
                asyncio.run(run_client_async(creds, args.seconds, args.concurrency))
            )
            figures["raw2"].append(run_raw_bearer(oauth, args.seconds))
            figures["mcapi2"].append(run_client(oauth, args.seconds))
            figures["raw2_async"].append(
                asyncio.run(run_raw_bearer_async(oauth, args.seconds, args.concurrency))
            )
            figures["mcapi2_async"].append(
                asyncio.run(run_client_async(oauth, args.seconds, args.concurrency))
            )
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
