"""Several emulator processes over one deployment (one PostgreSQL database, one Redis namespace)
behave as one emulator: one clock, one set of fault rules counting the calls of all, one journal;
``serve --workers N`` runs N such processes on one port, and refuses a deployment they cannot
share."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from mcapi._signing import format_date, signed_headers
from mcapi.emulator import Emulator, EmulatorConfig
from mcapi.emulator._shared import AwaitedConnection
from tests.conftest import postgres_schema
from tests.emulator.conftest import Api, code_of

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.anyio]

ACCOUNT = "/api/account/get-account"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: the shared deployment was not tested")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL schema of the test's own."""
    with postgres_schema("shared", "the shared deployment was not tested") as url:
        yield url


@pytest.fixture
def pair(postgres_url: str, redis_url: str) -> Iterator[tuple[Emulator, Emulator]]:
    """Two processes of one deployment (each test its own Redis namespace and schema)."""
    namespace, token = f"t-{uuid.uuid4().hex}", uuid.uuid4().hex
    config = EmulatorConfig(skew_reference="either", redis_namespace=namespace, admin_token=token)
    first = Emulator(postgres_url, kdf_n=2**10, redis_url=redis_url, config=config)
    second = Emulator(postgres_url, kdf_n=2**10, redis_url=redis_url, config=config)
    yield first, second
    first.reset()
    first.close()
    second.close()


@pytest.fixture
async def apis(pair: tuple[Emulator, Emulator]) -> AsyncIterator[tuple[Api, Api]]:
    first, second = pair
    creds = first.load_demo()
    assert second.load_demo().account_code == creds.account_code
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first.app, client=("198.51.100.7", 50000)),
            base_url=creds.base_url,
        ) as one,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=second.app, client=("198.51.100.7", 50000)),
            base_url=creds.base_url,
        ) as two,
    ):
        yield Api(one, first, creds), Api(two, second, creds)


# ---- clock ------------------------------------------------------------------------------------


async def test_a_clock_move_through_one_process_applies_on_the_other(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    keys = await a.binding_for("reader@demo.example", ttl_seconds=3600)
    (await a.admin("POST", "/clock", {"freeze": True})).json()
    assert b.emu.clock.frozen
    assert b.emu.clock.now() == a.emu.clock.now()
    assert (await b.call(ACCOUNT, keys=keys)).status_code == 200
    moved = (await a.admin("POST", "/clock", {"advance": 3600})).json()
    assert b.emu.clock.now() == moved["now"]
    assert code_of(await b.call(ACCOUNT, keys=keys)) == "418 0001 err_xdk_binding_expired"
    assert (await b.admin("GET", "/clock")).json()["now"] == moved["now"]


async def test_buckets_follow_the_clock_set_back_on_every_process(apis: tuple[Api, Api]) -> None:
    """A quota spent a day ahead, then the clock set back a day through one process: on the
    other, the bucket refills from the new now (one call back a second later), rather than
    answering 429 until the day has come round again."""
    a, b = apis
    code = a.creds.account_code
    policy = {"quota_limit": 2, "quota_reset_ms": 1000}
    assert (await a.admin("POST", f"/accounts/{code}/policy", policy)).status_code == 200
    start = (await a.admin("POST", "/clock", {"freeze": True})).json()["now"]
    await a.admin("POST", "/clock", {"advance": 86400})
    assert [(await a.call(ACCOUNT)).status_code for _ in range(3)] == [200, 200, 429]
    await a.admin("POST", "/clock", {"set": start})
    assert (await b.call(ACCOUNT)).status_code == 429  # spent: nothing came back yet
    await a.admin("POST", "/clock", {"advance": 1})
    answered = await b.call(ACCOUNT)
    assert answered.status_code == 200, answered.text
    assert answered.headers["x-ratelimit-reset"] == "1000"


async def test_a_running_clock_keeps_one_offset_across_processes(
    pair: tuple[Emulator, Emulator],
) -> None:
    a, b = pair
    a.clock.advance(86400)
    assert not b.clock.frozen
    # both run from the same offset: B's reading lies between two readings of A's
    before = a.clock.now()
    seen = b.clock.now()
    after = a.clock.now()
    assert before <= seen <= after
    assert seen - b.clock.wall() > 86000
    b.clock.freeze()
    b.clock.resume()
    assert a.clock.now() - a.clock.wall() > 86000
    a.clock.set(2_000_000_000)
    assert b.clock.now() == 2_000_000_000
    b.reset()
    assert not a.clock.frozen
    assert abs(a.clock.now() - a.clock.wall()) < 3600


# ---- fault rules --------------------------------------------------------------------------------


async def test_a_fault_rule_added_through_one_process_answers_on_the_other(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    rule = {"match": {"path": ACCOUNT, "times": 2}, "effect": {"status": 500, "sub_code": "0006"}}
    rule_id = (await a.admin("POST", "/faults", rule)).json()["id"]
    # the window "fail twice, then succeed" counts the calls of both processes as one sequence
    assert (await b.call(ACCOUNT)).status_code == 500
    assert (await a.call(ACCOUNT)).status_code == 500
    assert (await b.call(ACCOUNT)).status_code == 200
    listed = (await b.admin("GET", "/faults")).json()["rules"]
    assert [(r["id"], r["calls"], r["applied"]) for r in listed] == [(rule_id, 3, 2)]
    await b.admin("DELETE", f"/faults/{rule_id}")
    assert a.emu.faults.list() == []


async def test_the_new_effect_fields_travel_through_the_shared_store(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    effects = [
        {"status": 502, "body": "html", "dribble_bps": 100_000},
        {"status": 500, "body": "malformed"},
        {"status": 500, "sub_code": "0006", "after_execution": True},
    ]
    for n, effect in enumerate(effects, 1):  # the 1st call gets the 1st effect, and so on
        rule = {"match": {"path": ACCOUNT, "call_number": n}, "effect": effect}
        await a.admin("POST", "/faults", rule)
    assert [r.to_dict()["effect"] for r in b.emu.faults.list()] == effects
    first = await b.call(ACCOUNT)
    assert first.status_code == 502 and first.headers["content-type"].startswith("text/html")
    second = await b.call(ACCOUNT)
    assert second.status_code == 500 and second.headers["content-type"] == "application/json"
    assert b'"meta"' in second.content and not second.content.rstrip().endswith(b"}")
    assert code_of(await a.call(ACCOUNT)) == "500 0006 err_xdk_external_resource"


async def test_ids_are_unique_across_processes_and_clear_applies_everywhere(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    rule = {"match": {"path": ACCOUNT}, "effect": {"status": 500, "sub_code": "0006"}}
    first = (await a.admin("POST", "/faults", rule)).json()["id"]
    second = (await b.admin("POST", "/faults", rule)).json()["id"]
    assert first != second
    taken = await b.http.post(
        "/_emulator/faults", json={**rule, "id": first},
        headers={"Authorization": f"Bearer {b.creds.admin_token}"},
    )  # fmt: skip
    assert taken.status_code == 400, taken.text
    assert [r.id for r in b.emu.faults.list()] == [first, second]
    await b.admin("DELETE", "/faults")
    assert a.emu.faults.list() == []
    assert (await a.call(ACCOUNT)).status_code == 200


async def test_a_forced_quota_through_one_process_counts_the_calls_of_both(
    apis: tuple[Api, Api],
) -> None:
    from mcapi.emulator import FaultRule

    a, b = apis
    a.emu.faults.add(FaultRule.forced_quota(ACCOUNT, call_number=3, reset_ms=1500))
    assert (await a.call(ACCOUNT)).status_code == 200
    assert (await b.call(ACCOUNT)).status_code == 200
    third = await b.call(ACCOUNT)
    assert code_of(third) == "429 0008 err_xdk_rate_limit_exceeded"
    assert third.headers["X-RateLimit-Reset"] == "1500"
    assert (await a.call(ACCOUNT)).status_code == 200
    [state] = a.emu.faults.state()
    assert (state["calls"], state["applied"]) == (4, 1)
    a.emu.reset()
    assert b.emu.faults.list() == []


def test_a_seeded_rule_draws_the_same_in_a_shared_deployment_as_in_one_process(
    pair: tuple[Emulator, Emulator],
) -> None:
    from mcapi.emulator import FaultEffect, FaultEngine, FaultRule

    a, b = pair
    rule = FaultRule(ACCOUNT, FaultEffect(status=500, sub_code="0006"), probability=0.5, seed=7)
    alone = FaultEngine()
    alone.add(rule)
    a.faults.add(rule)
    expected = [alone.match(ACCOUNT, None) is not None for _ in range(40)]
    engines = [a.faults, b.faults]
    shared = [engines[i % 2].match(ACCOUNT, None) is not None for i in range(40)]
    assert shared == expected
    assert 0 < sum(expected) < 40


def test_the_shared_engine_matches_as_the_memory_one(pair: tuple[Emulator, Emulator]) -> None:
    from mcapi.emulator import FaultEffect, FaultEngine, FaultRule

    a, b = pair
    e500 = FaultEffect(status=500, sub_code="0006")
    rules = [
        FaultRule("/api/audit/*", e500, user="Admin@Demo.Example", call_number=2),
        FaultRule(ACCOUNT, e500, times=2),
        FaultRule.forced_quota(ACCOUNT, call_number=1, reset_ms=10),
    ]
    alone = FaultEngine()
    for rule in rules:
        alone.add(rule)
        a.faults.add(rule)
    calls = [
        ("/api/audit/get-audit-events", "admin@demo.example", "fault"),
        ("/api/audit/get-audit-events", "reader@demo.example", "fault"),
        ("/api/audit/get-audit-events", "ADMIN@demo.example", "fault"),
        (ACCOUNT, None, "quota"),
        (ACCOUNT, None, "fault"),
        (ACCOUNT, None, "quota"),
        (ACCOUNT, None, "fault"),
        (ACCOUNT, None, "fault"),
    ]
    engines = [a.faults, b.faults]
    for n, (path, user, at) in enumerate(calls):
        expected = alone.match(path, user, at)  # type: ignore[arg-type]
        shared = engines[n % 2].match(path, user, at)  # type: ignore[arg-type]
        assert (shared and shared.id) == (expected and expected.id), (path, user, at)
    assert b.faults.state() == alone.state()


# ---- replay -------------------------------------------------------------------------------------


async def test_a_request_id_used_through_one_process_is_refused_by_the_other_and_takes_no_token(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    sent = a.headers(ACCOUNT)
    first = await a.http.post(ACCOUNT, json={"data": []}, headers=sent)
    assert first.status_code == 200
    again = await b.http.post(ACCOUNT, json={"data": []}, headers=sent)
    assert code_of(again) == "401 0004 err_xdk_invalid_signature"
    [entry] = b.emu.journal.entries(request_id=sent["x-mc-req-id"], status=401)
    assert entry.reason.startswith("replay: x-mc-req-id already used")
    # the quota check ran with the replay check in one script, which took nothing
    remaining = first.headers["X-RateLimit-Remaining"]
    assert again.headers["X-RateLimit-Remaining"] == remaining


async def test_a_call_refused_after_the_signature_check_still_spends_its_request_id(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    keys = await a.binding_for("reader@demo.example", ttl_seconds=3600)
    sent = a.headers(ACCOUNT, keys)
    a.emu.admin.lock_user("reader@demo.example")
    locked = await a.http.post(ACCOUNT, json={"data": []}, headers=sent)
    assert code_of(locked) == "401 0010 err_xdk_account_locked"
    a.emu.admin.unlock_user("reader@demo.example")
    again = await b.http.post(ACCOUNT, json={"data": []}, headers=sent)
    assert code_of(again) == "401 0004 err_xdk_invalid_signature"
    assert (await b.call(ACCOUNT, keys=keys)).status_code == 200


async def test_a_replayed_call_is_not_counted_by_a_quota_rule(apis: tuple[Api, Api]) -> None:
    from mcapi.emulator import FaultRule

    a, b = apis
    a.emu.faults.add(FaultRule.forced_quota(ACCOUNT, call_number=2, reset_ms=1500))
    sent = a.headers(ACCOUNT)
    assert (await a.http.post(ACCOUNT, json={"data": []}, headers=sent)).status_code == 200
    again = await b.http.post(ACCOUNT, json={"data": []}, headers=sent)
    assert code_of(again) == "401 0004 err_xdk_invalid_signature"
    assert code_of(await b.call(ACCOUNT)) == "429 0008 err_xdk_rate_limit_exceeded"
    [state] = a.emu.faults.state()
    assert (state["calls"], state["applied"]) == (2, 1)


# ---- the connection a call's round trips are awaited on ------------------------------------------


@pytest.fixture
def awaited(redis_url: str) -> Iterator[tuple[AwaitedConnection, str]]:
    """The connection, and a key of the test's own."""
    connection = AwaitedConnection(redis_url)
    key = f"mcapi:t-{uuid.uuid4().hex}:n"
    yield connection, key
    connection.close()
    redis.Redis.from_url(redis_url).delete(key)


def count_writes(connection: AwaitedConnection, command: bytes) -> list[int]:
    """The number of ``command`` in each write the connection makes from now on (a list that
    fills as it writes)."""
    sock = connection._conn._sock
    writes: list[int] = []
    original = sock.sendall

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(sock, name)

        def sendall(self, data: bytes) -> None:
            writes.append(data.count(command))
            original(data)

    connection._conn._sock = Counting()
    return writes


async def test_calls_in_flight_together_each_get_their_own_replies(
    awaited: tuple[AwaitedConnection, str],
) -> None:
    connection, key = awaited
    replies = await asyncio.gather(
        *(connection.execute(("INCR", key), ("GET", key)) for _ in range(20))
    )
    assert [number for number, _ in replies] == list(range(1, 21))
    assert all(value == str(number).encode() for number, value in replies)


async def test_calls_started_a_loop_turn_apart_share_one_write(
    awaited: tuple[AwaitedConnection, str],
) -> None:
    """The commands wait a turn of the event loop before they go out, so that a call the loop
    starts meanwhile joins the write (a write costs Redis and the process more than a command)."""
    connection, key = awaited
    assert await connection.execute(("PING",)) == [b"PONG"]  # connected (its handshake written)
    writes = count_writes(connection, b"INCR")

    async def a_turn_later() -> list[Any]:
        await asyncio.sleep(0)
        return await connection.execute(("INCR", key))

    replies = await asyncio.gather(connection.execute(("INCR", key)), a_turn_later())
    assert sorted(replies) == [[1], [2]]
    assert writes == [2]


async def test_callers_answered_by_one_read_send_their_next_commands_in_one_write(
    awaited: tuple[AwaitedConnection, str],
) -> None:
    """The replies of a write come back together; every caller they answer resumes in the same
    turn of the loop, so the round trips that follow go out together too (a caller at a time
    would each send its own)."""
    connection, key = awaited
    assert await connection.execute(("PING",)) == [b"PONG"]
    writes = count_writes(connection, b"INCR")

    async def two_round_trips() -> list[Any]:
        first = await connection.execute(("INCR", key))
        second = await connection.execute(("INCR", key))
        return [*first, *second]

    replies = await asyncio.gather(*(two_round_trips() for _ in range(8)))
    assert sorted(n for pair in replies for n in pair) == list(range(1, 17))
    assert writes == [8, 8]


async def test_a_cancelled_caller_keeps_its_place_and_its_reply_is_dropped(
    awaited: tuple[AwaitedConnection, str], redis_url: str
) -> None:
    connection, key = awaited
    waiting = asyncio.ensure_future(connection.execute(("BLPOP", key, 5)))
    await asyncio.sleep(0.2)  # sent, and Redis holds the reply back
    waiting.cancel()
    other = redis.Redis.from_url(redis_url)
    # The connection stays: the BLPOP still waits in Redis and takes what is pushed...
    assert other.rpush(key, "x") == 1
    assert other.llen(key) == 0
    other.close()
    # ...and its reply, read in its turn, is dropped: the next caller gets its own.
    assert await connection.execute(("PING",)) == [b"PONG"]


async def test_an_error_reply_is_raised_and_the_connection_stays_in_step(
    awaited: tuple[AwaitedConnection, str],
) -> None:
    connection, key = awaited
    await connection.execute(("SET", key, "text"))
    with pytest.raises(redis.ResponseError):
        await connection.execute(("INCR", key), ("GET", key))
    assert await connection.execute(("GET", key)) == [b"text"]


async def test_closing_wakes_a_caller_waiting_for_its_reply_and_the_next_reconnects(
    awaited: tuple[AwaitedConnection, str],
) -> None:
    connection, key = awaited
    waiting = asyncio.ensure_future(connection.execute(("BLPOP", key, 5)))
    await asyncio.sleep(0.2)  # sent, and Redis holds the reply back
    assert not waiting.done()
    connection.close()
    with pytest.raises(redis.ConnectionError):
        await asyncio.wait_for(waiting, timeout=2)
    assert await connection.execute(("PING",)) == [b"PONG"]


async def test_another_event_loop_gets_its_replies_while_the_connection_is_busy(
    awaited: tuple[AwaitedConnection, str],
) -> None:
    connection, key = awaited
    waiting = asyncio.ensure_future(connection.execute(("BLPOP", key, 5)))
    await asyncio.sleep(0.2)  # this loop's caller holds the connection
    other = await asyncio.to_thread(asyncio.run, connection.execute(("RPUSH", key, "x")))
    assert other == [1]
    assert await asyncio.wait_for(waiting, timeout=2) == [[key.encode(), b"x"]]


# ---- journal ------------------------------------------------------------------------------------


async def test_a_journal_lookup_through_one_process_finds_the_calls_of_both(
    apis: tuple[Api, Api],
) -> None:
    a, b = apis
    await a.call(ACCOUNT)
    k = b.keys
    signed = signed_headers(
        access_key=k.access_key, secret_key=k.secret_key, app_id=k.app_id, app_key=k.app_key,
        path=ACCOUNT, date=format_date(b.emu.clock.now()), request_id="REQ-ON-B",
    )  # fmt: skip
    answered = await b.http.post(ACCOUNT, json={"data": []}, headers=signed)
    assert answered.status_code == 200
    found = a.emu.journal.entries(request_id="REQ-ON-B")
    assert [(e.path, e.status) for e in found] == [(ACCOUNT, 200)]
    listed = (await a.admin("GET", f"/journal?path={ACCOUNT}")).json()
    assert len(listed["entries"]) == 2
    a.emu.journal.clear()
    assert len(b.emu.journal) == 0


def test_the_shared_journal_keeps_the_newest_entries(postgres_url: str, redis_url: str) -> None:
    from mcapi.emulator._journal import JournalEntry

    config = EmulatorConfig(journal_size=3, redis_namespace=f"t-{uuid.uuid4().hex}")
    first = Emulator(postgres_url, kdf_n=2**10, redis_url=redis_url, config=config)
    second = Emulator(postgres_url, kdf_n=2**10, redis_url=redis_url, config=config)
    try:
        for n, emulator in enumerate([first, second, first, second, first]):
            entry = JournalEntry(n, f"R{n}", "POST", ACCOUNT, None, None, None, 200)
            emulator.journal.record(entry)
        assert [e.request_id for e in second.journal.entries()] == ["R2", "R3", "R4"]
        assert second.journal.maxlen == 3
    finally:
        first.reset()
        first.close()
        second.close()


# ---- serve --workers ----------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("db", "reason"),
    [
        ("emulator.db", "SQLite lets one writer at a time"),
        ("sqlite://", "SQLite lets one writer at a time"),
        ("postgresql+psycopg://nobody@127.0.0.1:1/none", "--workers needs --redis"),
    ],
)
def test_serve_refuses_workers_without_a_shared_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: str, reason: str
) -> None:
    from click.testing import CliRunner

    from mcapi.cli import cli

    monkeypatch.chdir(tmp_path)
    argv = ["emulator", "serve", "--port", "0", "--workers", "2", "--db", db]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 2, result.output
    assert reason in result.output
    assert not (tmp_path / "emulator.db").exists()


def test_serve_with_workers_answers_as_one_emulator(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    from tests.emulator.test_cli_emulator import Served, exports, free_port, signed_post

    port = free_port()
    served = Served(
        "--port", str(port), "--workers", "2", "--db", postgres_url, "--redis", redis_url,
        "--redis-namespace", f"t-{uuid.uuid4().hex}", "--demo", cwd=tmp_path,
    )  # fmt: skip
    try:
        env = exports(served.read_until("2 worker processes"))
        admin = {"Authorization": f"Bearer {env['MCAPI_ADMIN_TOKEN']}"}
        base = env["MCAPI_BASE_URL"]
        rule = {"match": {"path": ACCOUNT, "times": 3}, "effect": {"status": 500}}
        added = httpx.post(f"{base}/_emulator/faults", json=rule, headers=admin, timeout=10)
        assert added.status_code == 201, added.text
        # each call on a new connection, to whichever worker accepts it: the window is one
        statuses = [signed_post(env, ACCOUNT, []).status_code for _ in range(6)]
        assert statuses == [500, 500, 500, 200, 200, 200]
        journal = httpx.get(
            f"{base}/_emulator/journal", params={"path": ACCOUNT}, headers=admin, timeout=10
        ).json()
        assert [e["status"] for e in journal["entries"]] == statuses
        assert len(children_of(served.process.pid)) == 2
        httpx.post(f"{base}/_emulator/reset", headers=admin, timeout=10)
    finally:
        assert served.stop() == 0
    assert children_of(served.process.pid) == []


def test_two_served_processes_share_the_clock_and_forced_quotas(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    """Two ``serve`` processes of one deployment, each on its own port: a clock move and a forced
    quota made through one apply to the calls of the other, counted as one sequence."""
    from tests.emulator.test_cli_emulator import Served, exports, free_port, signed_post

    shared = ("--db", postgres_url, "--redis", redis_url, "--redis-namespace")
    namespace = f"t-{uuid.uuid4().hex}"
    first = Served("--port", str(free_port()), *shared, namespace, "--demo", cwd=tmp_path)
    second: Served | None = None
    try:
        env_a = exports(first.read_until("MCAPI_CLIENT_SECRET"))
        second = Served("--port", str(free_port()), *shared, namespace, "--demo", cwd=tmp_path)
        env_b = {**env_a, "MCAPI_BASE_URL": exports(second.read_until("MCAPI_CLIENT_SECRET"))[
            "MCAPI_BASE_URL"
        ]}  # fmt: skip
        a, b = env_a["MCAPI_BASE_URL"], env_b["MCAPI_BASE_URL"]
        admin = {"Authorization": f"Bearer {env_a['MCAPI_ADMIN_TOKEN']}"}

        moved = httpx.post(f"{a}/_emulator/clock", json={"freeze": True}, headers=admin)
        assert moved.status_code == 200, moved.text
        moved = httpx.post(f"{a}/_emulator/clock", json={"advance": 3600}, headers=admin)
        seen = httpx.get(f"{b}/_emulator/clock", headers=admin).json()
        assert seen["frozen"] is True and seen["now"] == moved.json()["now"]
        httpx.post(f"{a}/_emulator/clock", json={"reset": True}, headers=admin)
        assert httpx.get(f"{b}/_emulator/clock", headers=admin).json()["frozen"] is False

        rule = {"at": "quota", "match": {"path": ACCOUNT, "call_number": 2},
                "effect": {"status": 429, "reset_ms": 2000}}  # fmt: skip
        added = httpx.post(f"{a}/_emulator/faults", json=rule, headers=admin)
        assert added.status_code == 201, added.text
        statuses = [signed_post(env, ACCOUNT, []).status_code for env in (env_a, env_b, env_a)]
        assert statuses == [200, 429, 200]  # the 2nd call of the deployment, made on the other
        entries = httpx.get(
            f"{a}/_emulator/journal", params={"path": ACCOUNT}, headers=admin
        ).json()["entries"]
        assert [(e["status"], e["check"]) for e in entries][1] == (429, "quota")
        httpx.post(f"{a}/_emulator/reset", headers=admin, timeout=30)
    finally:
        if second is not None:
            assert second.stop() == 0
        assert first.stop() == 0
