"""The client on API 2.0: the token fetched lazily, cached, renewed single-flight before it
expires and once after a 401 saying it is invalid, never on a wrong secret. Every count is read
from the emulator's journal (what reached the token endpoint), for both clients."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from mcapi.client import (
    AsyncClient,
    Client,
    Credentials,
    CredentialsError,
    LocalProtocolError,
    OAuthCredentials,
    Unauthorized,
)
from mcapi.client._credentials import credentials_from_env, load_profile, save_profile

from .conftest import ACCOUNT, Harness

pytestmark = pytest.mark.anyio
TOKEN = "/oauth/token"


@pytest.fixture
def api_version() -> str:
    return "2.0"


def token_requests(harness: Harness) -> list[int]:
    return [e.status for e in harness.journal(TOKEN)]


async def concurrently(count: int, call: object) -> list[object]:
    results: list[object] = [None] * count

    async def one(index: int) -> None:
        results[index] = await call()  # type: ignore[operator]

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return results


async def test_the_token_is_fetched_lazily_and_cached(harness: Harness) -> None:
    client = harness.client()
    assert token_requests(harness) == []  # nothing before the first call
    for _ in range(3):
        assert (await client.call(ACCOUNT)).ok
    assert token_requests(harness) == [200]
    assert [e.status for e in harness.journal(ACCOUNT)] == [200, 200, 200]
    assert harness.journal(ACCOUNT)[0].app_id == harness.demo.client_id


async def test_16_concurrent_calls_meeting_an_expired_token_make_one_token_request(
    harness: Harness,
) -> None:
    # no pacing: the 16 calls start together instead of after the pacer's first probe
    client = harness.client(network=True, pacing=False)
    assert (await client.call(ACCOUNT)).ok
    harness.emu.clock.advance(1800)  # the token has expired
    results = await concurrently(16, lambda: client.call(ACCOUNT))
    assert all(r.ok for r in results)  # type: ignore[attr-defined]
    assert token_requests(harness) == [200, 200]
    assert [e.status for e in harness.journal(ACCOUNT)] == [200] * 17  # no 401 on the way


async def test_the_token_is_renewed_shortly_before_it_expires(harness: Harness) -> None:
    client = harness.client()
    await client.call(ACCOUNT)
    harness.emu.clock.advance(1800 - 61)
    await client.call(ACCOUNT)
    assert token_requests(harness) == [200]
    harness.emu.clock.advance(2)  # within the last minute: renewed before the call
    await client.call(ACCOUNT)
    assert token_requests(harness) == [200, 200]
    assert 401 not in [e.status for e in harness.journal(ACCOUNT)]


async def test_a_401_invalid_token_gets_one_new_token_and_one_resend(harness: Harness) -> None:
    # The client's clock stands still: it trusts its token after the platform expired it.
    start = harness.emu.clock.now()
    client = harness.client(clock=lambda: start)
    await client.call(ACCOUNT)
    harness.emu.clock.advance(1800)
    assert (await client.call(ACCOUNT)).ok
    assert token_requests(harness) == [200, 200]
    assert [e.status for e in harness.journal(ACCOUNT)] == [200, 401, 200]


async def test_a_token_refused_again_is_not_renewed_twice(harness: Harness) -> None:
    harness.fault(
        {"match": {"path": ACCOUNT, "times": 5},
         "effect": {"status": 401, "body_code": "err_invalid_token"}}
    )  # fmt: skip
    with pytest.raises(Unauthorized) as info:
        await harness.client().call(ACCOUNT)
    assert info.value.entry is not None and info.value.entry.body_code == "err_invalid_token"
    assert token_requests(harness) == [200, 200]  # the first, and one renewal
    assert [e.status for e in harness.journal(ACCOUNT)] == [401, 401]


async def test_a_wrong_secret_is_never_retried(harness: Harness) -> None:
    client = harness.client(network=True, pacing=False, client_secret="not-the-secret-of-this-app")
    results = await concurrently(16, lambda: _raised(client.call(ACCOUNT)))
    assert all(isinstance(r, Unauthorized) for r in results)
    error = results[0]
    assert isinstance(error, Unauthorized) and error.entry is not None
    assert error.entry.body_code == "err_invalid_client"
    assert "not-the-secret" not in str(error)
    again = await _raised(client.call(ACCOUNT))
    assert isinstance(again, Unauthorized)
    assert token_requests(harness) == [401]  # sent once, never again
    assert harness.journal(ACCOUNT) == []


async def _raised(awaitable: object) -> object:
    try:
        return await awaitable  # type: ignore[misc]
    except Unauthorized as exc:
        return exc


async def test_a_revoked_application_fails_with_invalid_client(harness: Harness) -> None:
    client = harness.client()
    await client.call(ACCOUNT)
    harness.emu.admin.revoke_app(harness.demo.client_id)
    error = await _raised(client.call(ACCOUNT))
    assert isinstance(error, Unauthorized) and error.entry is not None
    assert error.entry.body_code == "err_invalid_client"
    assert token_requests(harness) == [200, 401]


async def test_a_binding_has_nothing_to_refresh_on_api_2_0(harness: Harness) -> None:
    client = harness.client()
    with pytest.raises(LocalProtocolError, match=r"API 2\.0"):
        await client.refresh()
    assert isinstance(client.credentials, OAuthCredentials)
    assert harness.demo.client_secret not in repr(client.credentials)


# ---- credentials ------------------------------------------------------------------------------

V1 = {
    "MCAPI_BASE_URL": "http://emulator.test",
    "MCAPI_APP_ID": "app",
    "MCAPI_APP_KEY": "key",
    "MCAPI_ACCESS_KEY": "access",
    "MCAPI_SECRET_KEY": "c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
}


def test_api_2_0_variables_win_over_1_0() -> None:
    env = {**V1, "MCAPI_CLIENT_ID": "cid", "MCAPI_CLIENT_SECRET": "csecret"}
    found = credentials_from_env(env)
    assert found == OAuthCredentials("cid", "csecret", "http://emulator.test")
    with Client.from_env(env) as client:
        assert isinstance(client.credentials, OAuthCredentials)
    assert isinstance(credentials_from_env(V1), Credentials)


def test_api_2_0_default_base_url_is_the_global_gateway() -> None:
    found = credentials_from_env({"MCAPI_CLIENT_ID": "cid", "MCAPI_CLIENT_SECRET": "s"})
    assert isinstance(found, OAuthCredentials)
    assert found.base_url == "https://api.services.mimecast.com"


@pytest.mark.parametrize("given", ["MCAPI_CLIENT_ID", "MCAPI_CLIENT_SECRET"])
def test_half_a_2_0_set_is_a_clear_error(given: str) -> None:
    with pytest.raises(CredentialsError) as info:
        credentials_from_env({**V1, given: "x"})
    other = ({"MCAPI_CLIENT_ID", "MCAPI_CLIENT_SECRET"} - {given}).pop()
    assert f"{given} is set but {other} is not" in str(info.value)
    with pytest.raises(CredentialsError):
        AsyncClient.from_env({given: "x"})


def test_a_2_0_profile_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    save_profile("v2", OAuthCredentials("cid", "csecret", "http://emulator.test"), path)
    assert load_profile("v2", path) == OAuthCredentials("cid", "csecret", "http://emulator.test")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with Client.from_profile("v2", path) as client:
        assert client.credentials.base_url == "http://emulator.test"
    with pytest.raises(CredentialsError, match=r"API 2\.0"):
        Credentials.from_profile("v2", path)
