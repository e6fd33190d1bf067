"""``GET /_emulator/ready``: 200 while the database and Redis answer, 503 naming what does not;
while Redis is down, signed calls get the platform's envelope (500 0006), journalled."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._readiness import Readiness
from mcapi.emulator._serve import serve_in_thread
from mcapi.emulator._store import Store

ACCOUNT = "/api/account/get-account"
#: A port nothing listens on: connections are refused at once.
CLOSED_REDIS = "redis://127.0.0.1:1"


def signed(creds: EmulatorCredentials, emulator: Emulator) -> dict[str, str]:
    return signed_headers(
        access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
        app_key=creds.app_key, path=ACCOUNT, date=format_date(emulator.clock.now()),
        request_id=new_request_id(),
    )  # fmt: skip


@pytest.fixture
def redis_down() -> Iterator[tuple[Emulator, EmulatorCredentials]]:
    emulator = Emulator("sqlite://", kdf_n=2**10, redis_url=CLOSED_REDIS)
    try:
        yield emulator, emulator.load_demo()
    finally:
        emulator.close()


@pytest.mark.anyio
async def test_ready_without_redis_needs_only_the_database() -> None:
    emulator = Emulator("sqlite://", kdf_n=2**10)
    try:
        async with in_process(emulator) as http:
            answer = await http.get("/_emulator/ready")
    finally:
        emulator.close()
    assert answer.status_code == 200
    assert answer.json() == {"ready": True, "checks": {"database": "ok"}}


@pytest.mark.anyio
async def test_ready_is_503_naming_redis_while_it_is_unreachable(
    redis_down: tuple[Emulator, EmulatorCredentials],
) -> None:
    emulator, _ = redis_down
    async with in_process(emulator) as http:
        answer = await http.get("/_emulator/ready")  # no admin token: a balancer asks it
    assert answer.status_code == 503
    body = answer.json()
    assert (body["ready"], body["unreachable"]) == (False, ["redis"])
    assert body["checks"]["database"] == "ok"
    assert "refused" in body["checks"]["redis"].lower()


def test_a_signed_call_gets_the_envelope_while_redis_is_down(
    redis_down: tuple[Emulator, EmulatorCredentials],
) -> None:
    """Over a real socket: uvicorn must not answer its plain-text 500 page."""
    emulator, creds = redis_down
    with serve_in_thread(emulator) as base_url, httpx.Client(base_url=base_url) as http:
        answer = http.post(ACCOUNT, json={"data": []}, headers=signed(creds, emulator))
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["meta"] == {"status": 500}
    error = body["fail"][0]["errors"][0]
    assert error["code"] == "err_xdk_external_resource"
    assert error["message"].startswith("0006 ")
    request_id = answer.request.headers["x-mc-req-id"]
    [entry] = emulator.journal.entries(request_id=request_id)
    assert (entry.status, entry.sub_code, entry.check) == (500, "0006", "dependency")
    assert "Redis" in entry.reason


@pytest.mark.redis
@pytest.mark.anyio
async def test_ready_with_a_live_redis() -> None:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: readiness against Redis was not tested")
    emulator = Emulator("sqlite://", kdf_n=2**10, redis_url=url)
    try:
        creds = emulator.load_demo()
        async with in_process(emulator) as http:
            ready = await http.get("/_emulator/ready")
            call = await http.post(ACCOUNT, json={"data": []}, headers=signed(creds, emulator))
    finally:
        emulator.close()
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "redis": "ok"}}
    assert call.status_code == 200


def in_process(emulator: Emulator) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=emulator.app)
    return httpx.AsyncClient(transport=transport, base_url=emulator.base_url)


@pytest.mark.anyio
async def test_ready_is_503_naming_a_database_that_does_not_answer() -> None:
    """The probe itself, against a PostgreSQL URL where nothing listens (the store connects
    lazily, so it can be made; an emulator would not start on it)."""
    store = Store("postgresql+psycopg://mcapi@127.0.0.1:1/mcapi")
    try:
        status, body = await Readiness(store, CLOSED_REDIS).answer()
    finally:
        store.close()
    assert status == 503
    assert body["unreachable"] == ["database", "redis"]
    checks = body["checks"]
    assert isinstance(checks, dict)
    assert checks["database"].startswith("OperationalError")
