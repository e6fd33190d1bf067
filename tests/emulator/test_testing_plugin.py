"""The ``mcapi.testing`` pytest plugin: its fixtures, ``serve()`` outside pytest, and a light
import. (The example test file of docs/emulator.md runs under pytest in tests/test_docs.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest

from mcapi._signing import build_login_header, format_date, new_request_id, signed_headers
from mcapi.client import Client
from mcapi.emulator import IN_PROCESS_URL, Emulator, EmulatorCredentials, InvalidInput
from mcapi.emulator._operations import Admin, AdminError, BindingKeys
from mcapi.testing import serve

pytest_plugins = ["pytester"]

LOGOUT = "/api/login/logout"


def signed(
    creds: EmulatorCredentials, emulator: Emulator, path: str, keys: BindingKeys | None = None
) -> dict[str, str]:
    return signed_headers(
        access_key=keys.access_key if keys else creds.access_key,
        secret_key=keys.secret_key if keys else creds.secret_key,
        app_id=creds.app_id,
        app_key=keys.app_key if keys else creds.app_key,
        path=path,
        date=format_date(emulator.clock.now()),
        request_id=new_request_id(),
    )


def answer(response: httpx.Response) -> str:
    """``"401 0010"``: the status and sub code an integration would see."""
    fail = response.json().get("fail") or [{}]
    errors = fail[0].get("errors") or [{}]
    sub = (errors[0].get("message") or "").split(" ", 1)[0]
    return f"{response.status_code} {sub}".strip() if sub.isdigit() else str(response.status_code)


def test_emulator_fixture_holds_the_demo_tenant(
    mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    assert mcapi_credentials.account_code == "CUSA12345"
    assert mcapi_credentials.admin_email == "admin@demo.example"
    assert mcapi_credentials.admin_password
    assert mcapi_emulator.store.find_user(mcapi_credentials.reader_email) is not None
    assert mcapi_credentials.env()["MCAPI_ACCESS_KEY"] == mcapi_credentials.access_key


@pytest.mark.anyio
async def test_async_client_calls_the_emulator_in_process(
    mcapi_async_client: httpx.AsyncClient,
    mcapi_emulator: Emulator,
    mcapi_credentials: EmulatorCredentials,
) -> None:
    headers = signed(mcapi_credentials, mcapi_emulator, LOGOUT)
    response = await mcapi_async_client.post(LOGOUT, json={"data": []}, headers=headers)
    assert response.status_code == 200
    assert response.json()["meta"]["status"] == 200
    unsigned = await mcapi_async_client.post(LOGOUT, json={"data": []})
    assert unsigned.status_code == 400  # the client does not sign: that is the caller's job
    [entry, _] = mcapi_emulator.journal.entries()
    assert entry.user == "admin@demo.example"


def test_server_fixture_serves_the_same_emulator(
    mcapi_server: str, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", mcapi_server)
    mcapi_emulator.clock.freeze()
    mcapi_emulator.clock.advance(3600)
    clock = httpx.get(
        f"{mcapi_server}/_emulator/clock",
        headers={"Authorization": f"Bearer {mcapi_credentials.admin_token}"},
        timeout=10,
    ).json()
    assert clock == {**clock, "frozen": True, "now": mcapi_emulator.clock.now()}
    headers = signed(mcapi_credentials, mcapi_emulator, LOGOUT)
    response = httpx.post(mcapi_server + LOGOUT, json={"data": []}, headers=headers, timeout=10)
    assert response.status_code == 200


def test_credentials_next_to_the_server_give_the_served_url(
    mcapi_server: str, mcapi_credentials: EmulatorCredentials
) -> None:
    env = mcapi_credentials.env()
    assert env["MCAPI_BASE_URL"] == mcapi_credentials.base_url == mcapi_server
    with Client.from_env(env) as client:  # real connections, to the served emulator
        result = client.call("/api/account/get-account")
    assert result.data[0]["accountCode"] == mcapi_credentials.account_code


def test_credentials_without_the_server_keep_the_in_process_url(
    mcapi_credentials: EmulatorCredentials,
) -> None:
    assert mcapi_credentials.env()["MCAPI_BASE_URL"] == IN_PROCESS_URL


def test_serve_outside_pytest_starts_and_stops() -> None:
    emulator = Emulator("sqlite://", kdf_n=2**10)
    try:
        with serve(emulator) as base_url:
            assert httpx.get(base_url + "/_emulator/health", timeout=10).json()["status"] == "ok"
        with pytest.raises(httpx.ConnectError):
            httpx.get(base_url + "/_emulator/health", timeout=2)
    finally:
        emulator.close()


def test_serve_on_a_taken_port_raises_at_once() -> None:
    emulator = Emulator("sqlite://", kdf_n=2**10)
    try:
        with serve(emulator) as base_url:
            port = int(base_url.rsplit(":", 1)[1])
            with pytest.raises(OSError), serve(emulator, port=port):
                pass  # pragma: no cover
    finally:
        emulator.close()


def test_importing_the_plugin_is_light() -> None:
    heavy = ["sqlalchemy", "uvicorn", "httpx", "starlette", "rich", "pytest"]
    code = (
        "import sys, json, mcapi.testing; "
        f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


def test_fixtures_are_available_to_any_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user_project="""
        def test_fixtures(mcapi_emulator, mcapi_credentials, mcapi_server):
            assert mcapi_credentials.env()["MCAPI_BASE_URL"] == mcapi_server
            assert mcapi_server.startswith("http://127.0.0.1:")

        def test_a_fresh_emulator_per_test(mcapi_emulator):
            assert mcapi_emulator.journal.entries() == []
            mcapi_emulator.faults.clear()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


# ---- mcapi_admin: the administrator's operations, checked over HTTP ----------------------------


@pytest.fixture
def over_http(
    mcapi_server: str, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> dict[str, object]:
    """Signed logout calls and logins against the served emulator, as an integration makes them."""

    def call(keys: BindingKeys | None = None) -> str:
        headers = signed(mcapi_credentials, mcapi_emulator, LOGOUT, keys)
        return answer(httpx.post(mcapi_server + LOGOUT, json={"data": []}, headers=headers))

    def login(email: str, password: str) -> str:
        headers = {
            "Authorization": build_login_header("cloud", email, password),
            "x-mc-app-id": mcapi_credentials.app_id,
            "x-mc-date": format_date(mcapi_emulator.clock.now()),
            "x-mc-req-id": new_request_id(),
        }
        body = {"data": [{"userName": email}]}
        return answer(httpx.post(mcapi_server + "/api/login/login", json=body, headers=headers))

    return {"call": call, "login": login}


def test_admin_fixture_is_the_emulators_admin(
    mcapi_admin: Admin, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    assert mcapi_admin is mcapi_emulator.admin
    assert {u.email for u in mcapi_admin.users()} >= {mcapi_credentials.admin_email}
    assert mcapi_admin.account("CUSA12345").name == "Demo Corp"


def test_admin_user_operations_take_effect(
    mcapi_admin: Admin, mcapi_credentials: EmulatorCredentials, over_http: dict[str, Any]
) -> None:
    call, login = over_http["call"], over_http["login"]
    reader, password = mcapi_credentials.reader_email, mcapi_credentials.reader_password
    assert password
    keys = mcapi_admin.create_binding(reader, ttl_seconds=3600)
    assert (keys.app_id, call(keys)) == (mcapi_credentials.app_id, "200")
    assert mcapi_admin.lock_user(reader, minutes=5).locked_until is not None
    assert (call(keys), login(reader, password)) == ("401 0010", "401 0010")
    mcapi_admin.unlock_user(reader)
    assert call(keys) == "200"
    mcapi_admin.set_ip_ranges(reader, ["203.0.113.0/24"])
    assert call(keys) == "403 0016"
    mcapi_admin.set_ip_ranges(reader, None)
    assert mcapi_admin.revoke_bindings(reader) == 1
    assert call(keys) == "401 0012"
    mcapi_admin.expire_password(reader)
    assert login(reader, password) == "403 0009"
    mcapi_admin.set_password(reader, "a new secret 42")
    assert login(reader, "a new secret 42") == "200"
    fresh = mcapi_admin.create_binding(reader)
    mcapi_admin.set_permissions(reader, ["Account | Logs | Read"])
    assert call(fresh) == "401 0012"  # new permissions revoke the bindings
    fresh = mcapi_admin.create_binding(reader, mcapi_credentials.app_id, ttl_seconds=None)
    assert fresh.expires_at is None
    mcapi_admin.disable_user(reader)
    assert (call(fresh), login(reader, "a new secret 42"), login(reader, "wrong")) == (
        "401 0012",
        "401 0011",
        "401 0003",
    )
    mcapi_admin.enable_user(reader)
    assert login(reader, "a new secret 42") == "200"


def test_admin_refusals_name_the_field_and_change_nothing(
    mcapi_admin: Admin, mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> None:
    admin_email = mcapi_credentials.admin_email
    before = mcapi_admin.user(admin_email)
    refusals: list[tuple[Any, str]] = [
        (lambda: mcapi_admin.lock_user(admin_email, minutes=None), "minutes: expected a number"),
        (lambda: mcapi_admin.create_binding(admin_email, ttl_seconds="abc"), "ttl_seconds"),
        (lambda: mcapi_admin.set_permissions(admin_email, "all"), "permissions: expected a list"),
        (lambda: mcapi_admin.set_ip_ranges(admin_email, ["nowhere"]), "ranges: not an IP range"),
        (lambda: mcapi_admin.set_policy("CUSA12345", quota_limit=0), "quota_limit: must be at"),
        (lambda: mcapi_admin.generate("CUSA12345", users=6000), "^users: must be between"),
        (lambda: mcapi_admin.move_clock(set_to=1e20), "set: must be between"),
        (lambda: mcapi_admin.move_clock(freeze=True, advance=-1), "advance: must be between"),
    ]
    for operation, message in refusals:
        with pytest.raises(ValueError, match=message) as caught:
            operation()
        assert isinstance(caught.value, InvalidInput) and caught.value.status == 400
        assert isinstance(caught.value, AdminError)  # the name it has long had
        assert [p.field for p in caught.value.problems] == [message.strip("^").partition(":")[0]]
    for unknown, field in (
        (lambda: mcapi_admin.disable_user("nobody@demo.example"), "email"),
        (lambda: mcapi_admin.set_policy("CUSA00000", quota_limit=5), "account_code"),
        (lambda: mcapi_admin.create_binding(admin_email, app_id="no-such-app"), "app_id"),
    ):
        with pytest.raises(LookupError) as missing:
            unknown()
        assert isinstance(missing.value, InvalidInput) and missing.value.status == 404
        assert [p.field for p in missing.value.problems] == [field]
    assert mcapi_admin.user(admin_email) == before
    assert not mcapi_emulator.clock.frozen


def test_admin_policy_generate_seed_clock_and_reset(
    mcapi_admin: Admin, mcapi_emulator: Emulator, over_http: dict[str, Any]
) -> None:
    account = mcapi_admin.set_policy("CUSA12345", quota_limit=7, binding_ttl_seconds=None)
    assert (account.quota_limit, account.binding_ttl_seconds) == (7, None)
    counts = mcapi_admin.generate("CUSA12345", seed=3, users=4, days=1)
    assert counts["users"] == 4 and counts["messages"] > 0
    summary = mcapi_admin.seed(
        {
            "accounts": [
                {
                    "code": "CUSA5",
                    "name": "Five",
                    "domains": ["five.example"],
                    "generate": {"users": 2, "days": 1},
                }
            ]
        }
    )
    assert summary.generated["CUSA5"]["users"] == 2
    state = mcapi_admin.move_clock(set_to="2030-01-01T00:00:00Z", advance=60)
    assert (state["iso"], state["frozen"]) == ("2030-01-01T00:01:00+00:00", True)
    mcapi_admin.reset()
    assert mcapi_admin.users() == []
    assert not mcapi_emulator.clock.frozen
    assert over_http["call"]() == "401 0013"
