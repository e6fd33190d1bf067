"""``mcapi login --client-id`` and ``mcapi call`` with API 2.0 credentials, against an emulator on
a loopback socket."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi.cli import cli

from .conftest import ACCOUNT, Live

TOKEN = "/oauth/token"


@pytest.fixture
def env(tmp_path: Path, live: Live) -> dict[str, str]:
    _, demo, url = live
    return {
        "MCAPI_CONFIG": str(tmp_path / "profiles.toml"),
        "MCAPI_BASE_URL": url,
        "MCAPI_CLIENT_ID": demo.client_id,
        "MCAPI_CLIENT_SECRET": demo.client_secret or "",
        # the 1.0 variables take no part when the 2.0 ones are set
        "MCAPI_APP_ID": "not-used",
        "MCAPI_APP_KEY": "not-used",
        "MCAPI_ACCESS_KEY": "not-used",
        "MCAPI_SECRET_KEY": "not-used",
    }


def run(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def test_call_with_api_2_0_variables(env: dict[str, str], live: Live) -> None:
    emulator, demo, _ = live
    result = run(env, "call", ACCOUNT)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["data"][0]["accountCode"] == demo.account_code
    assert [e.status for e in emulator.journal.entries(path=TOKEN)] == [200]
    assert emulator.journal.entries(path=ACCOUNT)[-1].app_id == demo.client_id


def test_login_saves_a_2_0_profile_that_call_uses(env: dict[str, str], live: Live) -> None:
    emulator, _, url = live
    secret = env.pop("MCAPI_CLIENT_SECRET")
    result = run(env, "login", "--base-url", url, "--profile", "v2", input=secret + "\n")
    assert result.exit_code == 0, result.output
    assert "Client secret" in result.stderr and "saved to profile 'v2'" in result.output
    path = Path(env["MCAPI_CONFIG"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "client_id" in path.read_text()
    del env["MCAPI_CLIENT_ID"]
    called = run(env, "call", ACCOUNT, "--profile", "v2")
    assert called.exit_code == 0, called.output
    assert [e.status for e in emulator.journal.entries(path=TOKEN)] == [200, 200]


def test_login_with_a_wrong_secret_fails_with_the_auth_exit_code(
    env: dict[str, str], live: Live
) -> None:
    emulator, _, url = live
    env["MCAPI_CLIENT_SECRET"] = "a-wrong-secret-for-sure"
    result = run(env, "login", "--base-url", url)
    assert result.exit_code == 6, result.output
    assert json.loads(result.stdout)["error"]["status"] == 401
    assert not Path(env["MCAPI_CONFIG"]).exists()
    assert [e.status for e in emulator.journal.entries(path=TOKEN)] == [401]


def test_half_a_2_0_set_is_a_local_error(env: dict[str, str]) -> None:
    del env["MCAPI_CLIENT_SECRET"]
    result = run(env, "call", ACCOUNT)
    assert result.exit_code == 1
    assert "MCAPI_CLIENT_ID is set but MCAPI_CLIENT_SECRET is not" in result.output


def test_login_of_a_2_0_client_gets_its_token_at_mcapi_base_url(
    env: dict[str, str], live: Live
) -> None:
    emulator, _, url = live
    env["MCAPI_DISCOVERY_URL"] = "http://127.0.0.1:9"  # discovery plays no part in API 2.0
    result = run(env, "login", "--profile", "v2")
    assert result.exit_code == 0, result.output
    assert f"token at {url};" in result.output
    assert [e.status for e in emulator.journal.entries(path=TOKEN)] == [200]
