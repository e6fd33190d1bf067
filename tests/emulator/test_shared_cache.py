"""The auth-context read cache of a shared deployment: two emulator instances on one database and
one Redis act as two processes of one deployment; a change made through one is seen by the other
on its next call, and repeated calls on an unchanged database do not query it again."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials
from tests.emulator.conftest import Api, Keys, code_of

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.anyio]

PATH = "/api/account/get-account"


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: the shared read cache was not tested")
    return url


@pytest.fixture
def pair(shared_db_url: str, redis_url: str) -> Iterator[tuple[Emulator, Emulator]]:
    """Two processes of one deployment (the database is isolated per test by shared_db_url)."""
    config = EmulatorConfig(skew_reference="either")
    first = Emulator(shared_db_url, kdf_n=2**10, redis_url=redis_url, config=config)
    second = Emulator(shared_db_url, kdf_n=2**10, redis_url=redis_url, config=config)
    assert second.store.watch_interval <= 0.001  # another process's change shows within 1 ms
    second.store.watch_interval = 0  # ...and here at once, without waiting for it
    yield first, second
    first.reset()
    first.close()
    second.close()


@pytest.fixture
def creds(pair: tuple[Emulator, Emulator]) -> EmulatorCredentials:
    return pair[0].load_demo()


@pytest.fixture
async def other(pair: tuple[Emulator, Emulator], creds: EmulatorCredentials) -> AsyncIterator[Api]:
    """Signed calls sent to the second process."""
    transport = httpx.ASGITransport(app=pair[1].app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        yield Api(http, pair[1], creds)


async def test_revocation_through_one_process_is_seen_by_the_other(
    pair: tuple[Emulator, Emulator], creds: EmulatorCredentials, other: Api
) -> None:
    assert (await other.call(PATH)).status_code == 200  # the auth context is now cached
    assert pair[0].admin.revoke_bindings(creds.admin_email) == 1
    answer = await other.call(PATH)
    assert code_of(answer).startswith("401 0012"), answer.text


async def test_a_deleted_binding_is_seen_by_the_other_process(
    pair: tuple[Emulator, Emulator], creds: EmulatorCredentials, other: Api
) -> None:
    assert (await other.call(PATH)).status_code == 200
    assert pair[0].store.delete_binding(creds.access_key)
    answer = await other.call(PATH)
    assert code_of(answer).startswith("401 0013"), answer.text


async def test_a_policy_change_is_seen_by_the_other_process(
    pair: tuple[Emulator, Emulator], creds: EmulatorCredentials, other: Api
) -> None:
    assert (await other.call(PATH)).status_code == 200
    pair[0].admin.set_policy(creds.account_code, permitted_ip_ranges=["203.0.113.0/24"])
    answer = await other.call(PATH)
    assert code_of(answer).startswith("403 0016"), answer.text  # 198.51.100.7 is outside
    pair[0].admin.set_policy(creds.account_code, permitted_ip_ranges=[])
    assert (await other.call(PATH)).status_code == 200


async def test_expiry_is_judged_at_each_call_not_cached(
    pair: tuple[Emulator, Emulator], creds: EmulatorCredentials, other: Api
) -> None:
    made = pair[0].admin.create_binding(creds.admin_email, ttl_seconds=600)
    keys = Keys(made.access_key, made.secret_key, made.app_id, made.app_key)
    assert (await other.call(PATH, keys=keys)).status_code == 200
    other.emu.clock.advance(601)
    answer = await other.call(PATH, keys=keys)
    assert code_of(answer).startswith("418 0001"), answer.text  # the platform's "expired"


async def test_an_unchanged_database_is_not_asked_again(
    pair: tuple[Emulator, Emulator], other: Api
) -> None:
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    assert (await other.call(PATH)).status_code == 200
    sa.event.listen(pair[1].store.engine, "before_cursor_execute", seen)
    try:
        for _ in range(3):
            assert (await other.call(PATH)).status_code == 200
    finally:
        sa.event.remove(pair[1].store.engine, "before_cursor_execute", seen)
    assert not [s for s in statements if "bindings" in s], statements


async def test_each_call_reads_the_change_counter_at_its_start(
    pair: tuple[Emulator, Emulator], creds: EmulatorCredentials, other: Api
) -> None:
    # The store itself would not read the counter again for a minute; each signed call reads it
    # in the one round trip it makes at its start, so the very next call sees the change.
    if other.emu.store.dialect == "sqlite":
        pytest.skip("a SQLite file tells its changes by data_version, not by a Redis counter")
    other.emu.store.watch_interval = 60
    assert (await other.call(PATH)).status_code == 200
    assert pair[0].admin.revoke_bindings(creds.admin_email) == 1
    answer = await other.call(PATH)
    assert code_of(answer).startswith("401 0012"), answer.text
