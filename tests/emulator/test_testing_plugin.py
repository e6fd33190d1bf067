"""The ``mcapi.testing`` pytest plugin: its fixtures, ``serve()`` outside pytest, the example of
docs/emulator.md run as a user would run it, and a light import."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.testing import serve

pytest_plugins = ["pytester"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"
LOGOUT = "/api/login/logout"


def signed(creds: EmulatorCredentials, emulator: Emulator, path: str) -> dict[str, str]:
    return signed_headers(
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        app_id=creds.app_id,
        app_key=creds.app_key,
        path=path,
        date=format_date(emulator.clock.now()),
        request_id=new_request_id(),
    )


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
            assert mcapi_credentials.base_url == mcapi_emulator.base_url
            assert mcapi_server.startswith("http://127.0.0.1:")

        def test_a_fresh_emulator_per_test(mcapi_emulator):
            assert mcapi_emulator.journal.entries() == []
            mcapi_emulator.faults.clear()
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)


def docs_example() -> str:
    """The code block that follows ``<!-- example: pytest -->`` in docs/emulator.md."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- example: pytest -->\s*```python\n(.*?)```", text, re.DOTALL)
    assert found, "docs/emulator.md lost its pytest example"
    return found.group(1)


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    probe = Emulator("sqlite://", kdf_n=2**10)
    served = "/api/account/get-account" in probe.functions
    probe.close()
    if not served:
        pytest.skip("the emulator does not serve /api/account/get-account yet")
    pytester.makepyfile(test_mimecast_integration=docs_example())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=4)
