"""``mcapi explain -`` reads what ``mcapi call`` printed when it failed: run the call against an
emulator on a loopback socket, feed its output to ``explain``, and check the code explained."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._faults import FaultRule

from .conftest import ACCOUNT, LOGOUT, Live
from .test_cli_credentials import BLANK, env_1_0

PERMIT = "/api/managedsender/permit-or-block-sender"
BLOCK = '{"sender": "a@b.example", "to": "reader@demo.example", "action": "block"}'


@pytest.fixture
def env(tmp_path: Path, live: Live) -> dict[str, str]:
    _, demo, url = live
    return {**BLANK, "MCAPI_CONFIG": str(tmp_path / "profiles.toml"), **env_1_0(demo, url)}


def run(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def explained(text: str) -> Any:
    result = run({}, "explain", "--json", "-", input=text)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def forbid(emulator: Emulator, demo: EmulatorCredentials) -> None:
    emulator.admin.set_permissions(demo.admin_email, ["Account | Dashboard | Read"])


def test_what_call_printed_on_stdout_on_stderr_or_both(env: dict[str, str], live: Live) -> None:
    emulator, demo, _ = live
    forbid(emulator, demo)
    # the permission change revoked the binding: log in afresh as the administrator
    keys = emulator.admin.create_binding(demo.admin_email)
    env = {**env, "MCAPI_ACCESS_KEY": keys.access_key, "MCAPI_SECRET_KEY": keys.secret_key}
    failed = run(env, "call", PERMIT, "--data", BLOCK)
    assert failed.exit_code == 5, failed.output
    for text in (failed.output, failed.stdout, failed.stderr):
        said = explained(text)
        assert (said["status"], said["sub_code"]) == (403, "0002")
        assert said["body_code"] == "err_xdk_forbidden"
    said = explained(failed.stdout)
    assert "Missing Permission: Gateway | Managed Senders | Edit" in said["platform_message"]


def test_a_shell_pipe_from_call_to_explain(env: dict[str, str], live: Live) -> None:
    """`mcapi call ... 2>&1 | mcapi explain -`, as a user types it."""
    emulator, _, _ = live
    emulator.faults.add(
        FaultRule.from_dict(
            {"match": {"path": ACCOUNT}, "effect": {"status": 429, "sub_code": "0008"}}
        )
    )
    mcapi = shlex.join([sys.executable, "-c", "from mcapi.cli import main; main()"])
    pipeline = f"{mcapi} call {ACCOUNT} --no-retry 2>&1 | {mcapi} explain -"
    variables = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path), "COLUMNS": "200"}
    done = subprocess.run(
        ["bash", "-c", pipeline], env=variables, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "429 0008 Quota Exceeded" in done.stdout and "What to do" in done.stdout


def test_failed_items_of_a_partial_result(env: dict[str, str], live: Live) -> None:
    result = run(env, "call", LOGOUT, "--data", '[{"accessKey": "no-such-key"}]')
    assert result.exit_code == 3, result.output
    said = explained(result.output)
    assert (
        said["status"] == 200
        and said["body_code"] == json.loads(result.stdout)["fail"][0]["errors"][0]["code"]
    )


def test_an_all_pages_failure_on_stderr(env: dict[str, str], live: Live) -> None:
    emulator, _, _ = live
    emulator.faults.add(
        FaultRule.from_dict(
            {"match": {"path": "/api/user/get-internal-users"},
             "effect": {"status": 401, "sub_code": "0004"}}
        )
    )  # fmt: skip
    result = run(env, "call", "/api/user/get-internal-users", "--all-pages")
    assert result.exit_code == 6, result.output
    assert result.stdout == ""
    said = explained(result.stderr)
    assert (said["status"], said["sub_code"], said["body_code"]) == (
        401, "0004", "err_xdk_invalid_signature",
    )  # fmt: skip


def test_an_error_without_a_response_code_says_so(env: dict[str, str]) -> None:
    down = run({**env, "MCAPI_BASE_URL": "http://127.0.0.1:9"}, "call", ACCOUNT, "--no-retry")
    assert down.exit_code == 9
    result = run({}, "explain", "-", input=down.output)
    assert result.exit_code == 1
    assert "TransportError without a response code" in result.output


def test_a_code_with_two_meanings_shows_both() -> None:
    table = run({}, "explain", "401", "0001")
    assert table.exit_code == 0
    assert "2 meanings" in table.stdout
    assert "Authentication Type Not Supported" in table.stdout
    assert "Credentials Incomplete" in table.stdout
    both = json.loads(run({}, "explain", "--json", "401", "0001").stdout)
    assert {e["body_code"] for e in both} == {
        "err_xdk_auth_type_not_supported", "err_xdk_credentials_incomplete",
    }  # fmt: skip
    assert (
        len(json.loads(run({}, "explain", "--json", "-", input="HTTP/1.1 401 0001\n").stdout)) == 2
    )
    # the body code tells them apart
    error = {"code": "err_xdk_credentials_incomplete", "message": "0001 Credentials Incomplete"}
    body = {"meta": {"status": 401}, "fail": [{"errors": [error]}]}
    one = explained(json.dumps(body))
    assert one["name"] == "Credentials Incomplete"
