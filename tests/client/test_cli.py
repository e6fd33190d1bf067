"""``mcapi login`` and ``mcapi call`` against an emulator on a loopback socket."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.cli._client_cmd import EXIT_CODES
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._faults import FaultRule

from .conftest import ACCOUNT, LOGIN, LOGOUT, Live


@pytest.fixture
def env(tmp_path: Path, live: Live) -> dict[str, str]:
    _, demo, url = live
    return {
        "MCAPI_CONFIG": str(tmp_path / "profiles.toml"),
        "MCAPI_APP_ID": demo.app_id,
        "MCAPI_APP_KEY": demo.app_key,
        "MCAPI_DISCOVERY_URL": url,
        "MCAPI_BASE_URL": "",
        "MCAPI_ACCESS_KEY": "",
        "MCAPI_SECRET_KEY": "",
        "MCAPI_PASSWORD": "",
        "MCAPI_EMAIL": "",
    }


PERMIT = "/api/managedsender/permit-or-block-sender"
BLOCK = '{"sender": "a@b.example", "to": "reader@demo.example", "action": "block"}'


def fault(emulator: Emulator, effect: dict[str, Any]) -> None:
    emulator.faults.add(FaultRule.from_dict({"match": {"path": ACCOUNT}, "effect": effect}))


def run(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def login(env: dict[str, str], demo: EmulatorCredentials, *extra: str, email: str = "") -> Any:
    email = email or demo.admin_email
    result = run(env, "login", "--email", email, *extra, input=demo.passwords[email] + "\n")
    assert result.exit_code == 0, result.output
    return result


def test_login_prompts_for_the_password_and_saves_a_private_profile(
    env: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    result = login(env, demo, "--profile", "work")
    assert "Password" in result.stderr and "saved to profile 'work'" in result.output
    path = Path(env["MCAPI_CONFIG"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert demo.passwords[demo.admin_email] not in text and "password" not in text
    assert url in text
    assert len(emulator.journal.entries(path=LOGIN)) == 1


def test_login_with_a_wrong_password_exits_auth_and_is_sent_once(
    env: dict[str, str], live: Live
) -> None:
    emulator, demo, _ = live
    result = run(env, "login", "--email", demo.admin_email, input="wrong-password\n")
    assert result.exit_code == 6
    assert json.loads(result.stdout)["error"]["sub_code"] == "0003"
    assert len(emulator.journal.entries(path=LOGIN)) == 1
    assert not Path(env["MCAPI_CONFIG"]).exists()


def test_call_prints_the_result_as_json(env: dict[str, str], live: Live) -> None:
    _, demo, _ = live
    login(env, demo)
    result = run(env, "call", ACCOUNT)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["data"][0]["accountCode"] == demo.account_code
    assert out["fail"] == [] and out["request_id"] and out["rate_limit"]["limit"]


def test_call_uses_mcapi_variables_without_a_profile(env: dict[str, str], live: Live) -> None:
    _, demo, url = live
    env = {**env, **demo.env(), "MCAPI_BASE_URL": url}
    result = run(env, "call", ACCOUNT, "--data", "[]")
    assert result.exit_code == 0, result.output


def test_partial_failure_exits_3_with_both_halves(env: dict[str, str], live: Live) -> None:
    _, demo, _ = live
    login(env, demo, "--profile", "spare")  # a binding to log out
    spare = Path(env["MCAPI_CONFIG"]).read_text().split('access_key = "')[1].split('"')[0]
    login(env, demo)
    data = json.dumps([{"accessKey": spare}, {"accessKey": "no-such-key"}])
    result = run(env, "call", LOGOUT, "--data", data)
    assert result.exit_code == 3
    out = json.loads(result.stdout)
    assert len(out["data"]) == 1 and out["fail"][0]["key"] == {"accessKey": "no-such-key"}
    assert out["fail"][0]["index"] == 1


@pytest.mark.parametrize(
    ("setup", "args", "code"),
    [
        ("none", ["/api/account/no-such-function"], 4),
        ("reader", [PERMIT, "--data", BLOCK], 5),
        ("bad-secret", [ACCOUNT], 6),
        ("quota", [ACCOUNT, "--no-retry"], 7),
        ("server", [ACCOUNT], 8),
        ("down", [ACCOUNT, "--no-retry"], 9),
        ("no-credentials", [ACCOUNT], 1),
    ],
)  # fmt: skip
def test_exit_codes_tell_the_outcome_class(
    env: dict[str, str],
    live: Live,
    setup: str,
    args: list[str],
    code: int,
) -> None:
    emulator, demo, _ = live
    if setup == "reader":
        login(env, demo, email=demo.reader_email)
    elif setup != "no-credentials":
        login(env, demo)
    config = Path(env["MCAPI_CONFIG"])
    if setup == "bad-secret":
        text = config.read_text()
        secret = text.split('secret_key = "')[1].split('"')[0]
        config.write_text(text.replace(secret, "d3Jvbmcta2V5LXdyb25nLWtleQ=="))
    elif setup == "quota":
        fault(emulator, {"status": 429})
    elif setup == "server":
        fault(emulator, {"status": 500, "sub_code": "0006"})
        args = [*args, "--no-retry"]
    elif setup == "down":
        text = config.read_text()
        base = text.split('base_url = "')[1].split('"')[0]
        config.write_text(text.replace(base, "http://127.0.0.1:9"))
    result = run(env, "call", *args)
    assert result.exit_code == code, result.output
    if code != 1:
        assert json.loads(result.stdout)["error"]["endpoint"] == args[0]


def test_all_pages_and_bad_data(env: dict[str, str], live: Live, tmp_path: Path) -> None:
    _, demo, _ = live
    login(env, demo)
    data = tmp_path / "items.json"
    data.write_text(json.dumps({"data": [{}]}))
    result = run(env, "call", "/api/user/get-internal-users", "--data", f"@{data}",
                 "--page-size", "1", "--all-pages")  # fmt: skip
    assert result.exit_code == 0, result.output
    users = [json.loads(line) for line in result.stdout.splitlines()]  # JSONL, one per page here
    assert len(users) >= 3 and all("emailAddress" in u and "users" not in u for u in users)
    bad = run(env, "call", ACCOUNT, "--data", "{not json")
    assert bad.exit_code == 2 and "not JSON" in bad.output


def test_help_documents_every_exit_code() -> None:
    text = CliRunner().invoke(cli, ["call", "--help"]).output
    for code, name, _ in EXIT_CODES:
        assert f"{code}  {name}" in text
    docs = Path(__file__).parents[2] / "docs" / "client.md"
    if docs.exists():
        guide = docs.read_text()
        for code, name, _ in EXIT_CODES:
            assert f"| {code} | {name} |" in guide
