"""Several emulator processes over one deployment (one PostgreSQL database, one Redis namespace)
behave as one emulator: the clock a move made through one of them is the clock of all of them."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import sqlalchemy as sa

from mcapi.emulator import Emulator, EmulatorConfig
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
    base = os.environ.get("MCAPI_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("MCAPI_TEST_POSTGRES_URL is not set: the shared deployment was not tested")
    schema = f"shared_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


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
