"""``mcapi emulator app ...`` against a real emulator on a loopback socket: what each command
changes is checked with the token endpoint and Bearer calls over HTTP, as an integration would."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner, Result

from mcapi.cli import cli
from mcapi.emulator import Emulator, EmulatorCredentials

ACCOUNT = "/api/account/get-account"
CREATE_USER = "/api/user/create-user"
Run = Callable[..., Result]


@pytest.fixture
def run(mcapi_server: str, mcapi_credentials: EmulatorCredentials) -> Run:
    def invoke(*args: str) -> Result:
        env = {"MCAPI_BASE_URL": mcapi_server, "MCAPI_ADMIN_TOKEN": mcapi_credentials.admin_token}
        result = CliRunner().invoke(cli, ["emulator", "app", *args], env=env)
        return result

    return invoke


def exports(output: str) -> dict[str, str]:
    lines = [ln.removeprefix("export ") for ln in output.splitlines() if ln.startswith("export ")]
    return dict(line.split("=", 1) for line in lines)


def token(server: str, client_id: str, secret: str) -> httpx.Response:
    form = {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    return httpx.post(f"{server}/oauth/token", data=form, timeout=10)


def bearer(server: str, access_token: str, path: str = ACCOUNT) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return httpx.post(f"{server}{path}", json={"data": []}, headers=headers, timeout=10)


def test_create_list_rotate_revoke(
    run: Run, mcapi_server: str, mcapi_credentials: EmulatorCredentials
) -> None:
    created = run("create", mcapi_credentials.account_code, "siem", "--role", "Read Only")
    assert created.exit_code == 0, created.output
    keys = exports(created.output)
    client_id, secret = keys["MCAPI_CLIENT_ID"], keys["MCAPI_CLIENT_SECRET"]
    access = token(mcapi_server, client_id, secret).json()["access_token"]
    assert bearer(mcapi_server, access).status_code == 200
    assert bearer(mcapi_server, access, CREATE_USER).status_code == 403  # Read Only

    listed = run("list")
    assert client_id in listed.output and "Read Only" in listed.output
    assert secret not in listed.output

    assert run("role", client_id, "Full Administrator").exit_code == 0
    assert bearer(mcapi_server, access, CREATE_USER).status_code == 200  # the role applies at once

    rotated = run("rotate", client_id)
    assert rotated.exit_code == 0, rotated.output
    new_secret = exports(rotated.output)["MCAPI_CLIENT_SECRET"]
    assert token(mcapi_server, client_id, secret).status_code == 401
    assert token(mcapi_server, client_id, new_secret).status_code == 200

    revoked = run("revoke", client_id)
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert bearer(mcapi_server, access).status_code == 401
    assert token(mcapi_server, client_id, new_secret).status_code == 401


def test_unknown_application_is_one_line(run: Run) -> None:
    result = run("revoke", "no-such-client-id")
    assert result.exit_code == 1
    assert "no API 2.0 application" in result.output
    assert "Traceback" not in result.output


def test_demo_application_has_the_administrators_permissions(
    mcapi_emulator: Emulator, mcapi_server: str, mcapi_credentials: EmulatorCredentials
) -> None:
    assert mcapi_credentials.client_secret is not None
    assert mcapi_emulator.admin.app(mcapi_credentials.client_id).permissions == ("*",)
    answer = token(mcapi_server, mcapi_credentials.client_id, mcapi_credentials.client_secret)
    assert bearer(mcapi_server, answer.json()["access_token"], CREATE_USER).status_code == 200
