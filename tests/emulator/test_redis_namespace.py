"""Two deployments on one Redis database keep their quotas and replay ids apart; the processes of
one deployment (one database) share theirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorConfig
from mcapi.emulator._emulator import default_redis_namespace

pytestmark = [pytest.mark.redis, pytest.mark.anyio]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("MCAPI_TEST_REDIS_URL")
    if not url:
        pytest.skip("MCAPI_TEST_REDIS_URL is not set: the Redis namespace was not tested")
    return url


@pytest.fixture
def opened() -> Iterator[list[Emulator]]:
    emulators: list[Emulator] = []
    yield emulators
    for emulator in emulators:
        emulator.reset()
        emulator.close()


def open_emulator(opened: list[Emulator], db_url: str, redis_url: str, **config: str) -> Emulator:
    emulator = Emulator(db_url, kdf_n=2**10, redis_url=redis_url, config=EmulatorConfig(**config))
    opened.append(emulator)
    return emulator


async def anonymous_remaining(emulator: Emulator) -> int:
    """X-RateLimit-Remaining of an unsigned call: it counts against the caller address's bucket."""
    transport = httpx.ASGITransport(app=emulator.app, client=("198.51.100.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
        response = await http.post("/api/account/get-account", json={"data": []})
    assert response.status_code == 400, response.text  # 0001 credentials missing
    return int(response.headers["X-RateLimit-Remaining"])


async def test_two_deployments_on_one_redis_keep_their_buckets(
    tmp_path: Path, redis_url: str, opened: list[Emulator]
) -> None:
    first = open_emulator(opened, f"sqlite:///{tmp_path / 'a.db'}", redis_url)
    second = open_emulator(opened, f"sqlite:///{tmp_path / 'b.db'}", redis_url)
    assert first.redis_namespace != second.redis_namespace
    limit = first.config.anonymous_quota[0]
    assert [await anonymous_remaining(first) for _ in range(3)] == [limit - 1, limit - 2, limit - 3]
    assert await anonymous_remaining(second) == limit - 1
    first.reset()  # the admin reset fills the first deployment's buckets, not the other's
    assert await anonymous_remaining(first) == limit - 1
    assert await anonymous_remaining(second) == limit - 2


async def test_two_deployments_on_one_redis_keep_their_replay_ids(
    tmp_path: Path, redis_url: str, opened: list[Emulator]
) -> None:
    first = open_emulator(opened, f"sqlite:///{tmp_path / 'a.db'}", redis_url)
    second = open_emulator(opened, f"sqlite:///{tmp_path / 'b.db'}", redis_url)
    now, window = first.clock.now(), 60.0
    assert first.state.replay.first_use("REQ-1", now=now, window=window)
    assert second.state.replay.first_use("REQ-1", now=now, window=window)
    assert not first.state.replay.first_use("REQ-1", now=now, window=window)


async def test_processes_of_one_deployment_share_their_buckets(
    tmp_path: Path, redis_url: str, opened: list[Emulator]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = open_emulator(opened, db_url, redis_url)
    second = open_emulator(opened, db_url, redis_url)
    limit = first.config.anonymous_quota[0]
    assert await anonymous_remaining(first) == limit - 1
    assert await anonymous_remaining(second) == limit - 2


async def test_an_explicit_namespace_is_used_as_given(
    tmp_path: Path, redis_url: str, opened: list[Emulator]
) -> None:
    first = open_emulator(opened, f"sqlite:///{tmp_path / 'a.db'}", redis_url, redis_namespace="t1")
    second = open_emulator(opened, "sqlite://", redis_url, redis_namespace="t1")
    assert first.redis_namespace == second.redis_namespace == "t1"
    limit = first.config.anonymous_quota[0]
    assert await anonymous_remaining(first) == limit - 1
    assert await anonymous_remaining(second) == limit - 2


def test_default_namespace_names_the_database_not_its_password() -> None:
    one = default_redis_namespace("postgresql+psycopg://mcapi:secret@db.internal/mcapi")
    assert one == default_redis_namespace("postgresql+psycopg://mcapi:other@db.internal/mcapi")
    assert one != default_redis_namespace("postgresql+psycopg://mcapi:secret@db.internal/other")
    assert "secret" not in one
    assert default_redis_namespace("sqlite://") != default_redis_namespace("sqlite://")


def test_default_namespace_of_a_sqlite_file_is_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = default_redis_namespace("sqlite:///emulator.db")
    assert relative == default_redis_namespace(f"sqlite:///{tmp_path / 'emulator.db'}")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert default_redis_namespace("sqlite:///emulator.db") != relative


def test_serve_passes_the_namespace_on(tmp_path: Path, redis_url: str) -> None:
    from mcapi.emulator._serve import open_emulator as open_served

    db_url = f"sqlite:///{tmp_path / 'served.db'}"
    named = open_served(db_url, base_url="http://127.0.0.1:1", redis_url=redis_url,
                        redis_namespace="team-a")  # fmt: skip
    derived = open_served(db_url, base_url="http://127.0.0.1:1", redis_url=redis_url)
    try:
        assert named.redis_namespace == "team-a"
        assert derived.redis_namespace == default_redis_namespace(db_url)
    finally:
        named.close()
        derived.close()
