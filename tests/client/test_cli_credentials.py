"""Which credentials ``mcapi call`` uses: ``--profile``, then the ``MCAPI_*`` variables, then the
profile ``MCAPI_PROFILE`` names (else ``default``); ``mcapi profiles`` and ``mcapi whoami`` say
which. Against an emulator on a loopback socket; the journal tells which user each call ran as."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.emulator import Emulator, EmulatorCredentials

from .conftest import ACCOUNT, Live

#: Every variable the resolution reads, emptied: the test's own environment takes no part.
BLANK = dict.fromkeys(
    [
        "MCAPI_BASE_URL", "MCAPI_APP_ID", "MCAPI_APP_KEY", "MCAPI_ACCESS_KEY", "MCAPI_SECRET_KEY",
        "MCAPI_EMAIL", "MCAPI_PASSWORD", "MCAPI_AUTH_TYPE", "MCAPI_CLIENT_ID",
        "MCAPI_CLIENT_SECRET", "MCAPI_PROFILE", "MCAPI_DISCOVERY_URL",
    ],
    "",
)  # fmt: skip


@pytest.fixture
def base(tmp_path: Path) -> dict[str, str]:
    """No credentials at all, and a profile file of the test's own."""
    return {**BLANK, "MCAPI_CONFIG": str(tmp_path / "profiles.toml")}


def run(env: dict[str, str], *args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def env_1_0(demo: EmulatorCredentials, url: str) -> dict[str, str]:
    """The administrator's binding as the MCAPI_* variables."""
    return {**demo.env(), "MCAPI_BASE_URL": url}


def save_profile(
    env: dict[str, str], live: Live, name: str = "default", *, email: str | None = None
) -> None:
    """``mcapi login`` as ``email`` (the read-only user by default) into profile ``name``."""
    _, demo, url = live
    email = email or demo.reader_email
    login_env = {**env, "MCAPI_APP_ID": demo.app_id, "MCAPI_APP_KEY": demo.app_key}
    result = run(
        login_env, "login", "--email", email, "--discovery-url", url, "--profile", name,
        input=demo.passwords[email] + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def last_user(emulator: Emulator) -> str | None:
    return emulator.journal.entries(path=ACCOUNT)[-1].user


def test_exported_variables_win_over_the_saved_default_profile(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    save_profile(base, live)  # the reader, saved as the default profile
    result = run({**base, **env_1_0(demo, url)}, "call", ACCOUNT)
    assert result.exit_code == 0, result.output
    assert last_user(emulator) == demo.admin_email


def test_api_2_0_variables_win_over_the_saved_default_profile(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    save_profile(base, live)
    result = run({**base, **demo.env2(), "MCAPI_BASE_URL": url}, "call", ACCOUNT)
    assert result.exit_code == 0, result.output
    assert emulator.journal.entries(path=ACCOUNT)[-1].app_id == demo.client_id


def test_the_profile_option_wins_over_the_variables(base: dict[str, str], live: Live) -> None:
    emulator, demo, url = live
    save_profile(base, live, "work")
    result = run({**base, **env_1_0(demo, url)}, "call", ACCOUNT, "--profile", "work")
    assert result.exit_code == 0, result.output
    assert last_user(emulator) == demo.reader_email


def test_mcapi_profile_chooses_the_profile_but_not_over_the_variables(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    save_profile(base, live, "default", email=demo.admin_email)
    save_profile(base, live, "work")
    chosen = run({**base, "MCAPI_PROFILE": "work"}, "call", ACCOUNT)
    assert chosen.exit_code == 0, chosen.output
    assert last_user(emulator) == demo.reader_email
    plain = run(base, "call", ACCOUNT)
    assert plain.exit_code == 0, plain.output
    assert last_user(emulator) == demo.admin_email
    # exported variables still win over the profile MCAPI_PROFILE names (as AWS_PROFILE does)
    reader = {
        **env_1_0(demo, url),
        "MCAPI_ACCESS_KEY": "",
        "MCAPI_SECRET_KEY": "",
    }
    assert run({**base, **reader, "MCAPI_PROFILE": "work"}, "call", ACCOUNT).exit_code == 0
    assert last_user(emulator) == demo.reader_email
    both = run({**base, **env_1_0(demo, url), "MCAPI_PROFILE": "work"}, "call", ACCOUNT)
    assert both.exit_code == 0, both.output
    assert last_user(emulator) == demo.admin_email


def test_a_profile_named_by_mcapi_profile_must_exist(base: dict[str, str], live: Live) -> None:
    save_profile(base, live)
    result = run({**base, "MCAPI_PROFILE": "nope"}, "call", ACCOUNT)
    assert result.exit_code == 1
    assert "no profile 'nope'" in result.stderr and "MCAPI_PROFILE" in result.stderr


def test_login_variables_alone_leave_the_profile_in_charge(
    base: dict[str, str], live: Live
) -> None:
    """MCAPI_BASE_URL, MCAPI_APP_ID and MCAPI_APP_KEY also feed `mcapi login` and the emulator
    commands: without a binding they choose nothing, and the profile is used."""
    emulator, demo, url = live
    save_profile(base, live)
    env = {**base, "MCAPI_BASE_URL": url, "MCAPI_APP_ID": demo.app_id, "MCAPI_APP_KEY": "x"}
    result = run(env, "call", ACCOUNT)
    assert result.exit_code == 0, result.output
    assert last_user(emulator) == demo.reader_email


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        ("MCAPI_SECRET_KEY", "MCAPI_SECRET_KEY"),
        ("MCAPI_ACCESS_KEY", "MCAPI_ACCESS_KEY"),
        ("MCAPI_APP_KEY", "MCAPI_APP_KEY"),
        ("MCAPI_BASE_URL", "MCAPI_BASE_URL"),
    ],
)
def test_half_a_1_0_set_names_the_missing_variable(
    base: dict[str, str], live: Live, unset: str, named: str
) -> None:
    emulator, demo, url = live
    save_profile(base, live)  # a profile does not hide the mistake
    env = {**base, **env_1_0(demo, url), unset: ""}
    result = run(env, "call", ACCOUNT)
    assert result.exit_code == 1, result.output
    assert named in result.stderr
    assert not emulator.journal.entries(path=ACCOUNT)


def test_half_a_2_0_set_names_the_missing_variable(base: dict[str, str], live: Live) -> None:
    _, demo, url = live
    save_profile(base, live)
    result = run(
        {**base, "MCAPI_BASE_URL": url, "MCAPI_CLIENT_ID": demo.client_id}, "call", ACCOUNT
    )
    assert result.exit_code == 1
    assert "MCAPI_CLIENT_SECRET" in result.stderr


def test_no_credentials_at_all_says_how_to_get_some(base: dict[str, str], live: Live) -> None:
    result = run(base, "call", ACCOUNT)
    assert result.exit_code == 1
    assert "mcapi login" in result.stderr and "MCAPI_ACCESS_KEY" in result.stderr
    assert json.loads(result.stdout)["error"]["error"] == "CredentialsError"
    save_profile(base, live, "work")  # a profile, but not the default one
    named = run(base, "call", ACCOUNT)
    assert named.exit_code == 1
    assert "it has work: choose one with --profile NAME or MCAPI_PROFILE=NAME" in named.stderr


def secrets_of(demo: EmulatorCredentials, config: Path) -> list[str]:
    """Every secret a listing must not show: the keys in the profile file, the demo's own."""
    text = config.read_text() if config.exists() else ""
    keys = ("secret_key", "app_key", "client_secret", "access_key")
    found = [line.split('"')[1] for line in text.splitlines() if line.startswith(keys)]
    return [s for s in [*found, demo.secret_key, demo.app_key, demo.client_secret or ""] if s]


def test_profiles_lists_each_kind_and_marks_the_default_and_the_one_in_effect(
    base: dict[str, str], live: Live
) -> None:
    _, demo, url = live
    save_profile(base, live)
    save_profile(base, live, "admin", email=demo.admin_email)
    login_2 = {**base, "MCAPI_CLIENT_SECRET": demo.client_secret or ""}
    saved = run(login_2, "login", "--client-id", demo.client_id, "--base-url", url,
                "--profile", "v2")  # fmt: skip
    assert saved.exit_code == 0, saved.output
    listed = run({**base, "MCAPI_PROFILE": "admin"}, "profiles", "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["name"]: r for r in json.loads(listed.stdout)["profiles"]}
    assert list(rows) == ["default", "admin", "v2"]
    assert rows["default"]["user"] == demo.reader_email and rows["default"]["kind"] == "1.0"
    assert rows["v2"]["kind"] == "2.0" and rows["v2"]["base_url"] == url
    assert rows["v2"]["client_id"] == demo.client_id[:8] + "…"
    assert [n for n, r in rows.items() if r["default"]] == ["default"]
    assert [n for n, r in rows.items() if r["in_effect"]] == ["admin"]
    table = run(base, "profiles")
    assert table.exit_code == 0
    assert demo.reader_email in table.stdout and "in effect" in table.stdout
    assert "A call now uses profile 'default'." in table.stdout
    # the variables win over every profile, and the listing says so
    exported = run({**base, **env_1_0(demo, url)}, "profiles", "--json")
    document = json.loads(exported.stdout)
    assert not any(r["in_effect"] for r in document["profiles"])
    assert document["in_effect"] == "the MCAPI_* variables"
    for output in (listed.stdout, table.stdout, exported.stdout):
        for secret in secrets_of(demo, Path(base["MCAPI_CONFIG"])):
            assert secret not in output


def test_whoami_says_where_the_credentials_come_from_without_calling(
    base: dict[str, str], live: Live
) -> None:
    emulator, demo, url = live
    save_profile(base, live)
    emulator.journal.clear()
    profile = run(base, "whoami", "--json")
    assert profile.exit_code == 0, profile.output
    said = json.loads(profile.stdout)
    assert (said["source"], said["profile"], said["kind"]) == ("profile", "default", "1.0")
    assert said["user"] == demo.reader_email and said["base_url"] == url
    assert said["file"] == base["MCAPI_CONFIG"]
    exported = run({**base, **env_1_0(demo, url)}, "whoami")
    assert exported.exit_code == 0
    assert "the MCAPI_* variables" in exported.stdout
    assert demo.access_key[:4] + "…" in exported.stdout and demo.access_key not in exported.stdout
    option = run({**base, **env_1_0(demo, url)}, "whoami", "--profile", "default", "--json")
    said = json.loads(option.stdout)
    assert said["source"] == "option" and "chosen by --profile" in said["from"]
    assert "MCAPI_ACCESS_KEY" in said["unused_variables"]
    oauth = run({**base, **demo.env2(), "MCAPI_BASE_URL": url}, "whoami", "--json")
    said = json.loads(oauth.stdout)
    assert (said["source"], said["kind"], said["client_id"]) == (
        "env", "2.0", demo.client_id[:8] + "…",
    )  # fmt: skip
    for output in (profile.stdout, exported.stdout, option.stdout, oauth.stdout):
        for secret in secrets_of(demo, Path(base["MCAPI_CONFIG"])):
            assert secret not in output
    assert emulator.journal.entries() == []  # no call was made


def test_whoami_check_calls_get_account(base: dict[str, str], live: Live) -> None:
    emulator, demo, url = live
    checked = run({**base, **env_1_0(demo, url)}, "whoami", "--check")
    assert checked.exit_code == 0, checked.output
    assert f"ok: account {demo.account_code}" in checked.stdout
    assert last_user(emulator) == demo.admin_email
    broken = run(
        {**base, **env_1_0(demo, url), "MCAPI_SECRET_KEY": "d3Jvbmcta2V5"}, "whoami", "--check"
    )
    assert broken.exit_code == 6, broken.output


def test_whoami_without_credentials_exits_1(base: dict[str, str]) -> None:
    result = run(base, "whoami")
    assert result.exit_code == 1
    assert "mcapi login" in result.stderr


def test_profiles_reports_a_profile_file_that_is_not_toml_like_whoami(
    base: dict[str, str],
) -> None:
    Path(base["MCAPI_CONFIG"]).write_text("[default\naccess_key = ")
    for command in ("profiles", "whoami"):
        result = run(base, command)
        assert result.exit_code == 1, (command, result.output)
        assert isinstance(result.exception, SystemExit), (command, result.exception)
        assert base["MCAPI_CONFIG"] in json.loads(result.stdout)["error"]["message"]
        assert result.stderr.startswith("mcapi: ") and "Traceback" not in result.output


def test_login_logs_in_at_mcapi_base_url_unless_a_discovery_url_is_chosen(
    base: dict[str, str], live: Live
) -> None:
    """MCAPI_BASE_URL is --base-url's variable: with it exported (as `serve --demo` prints),
    `mcapi login` logs in there without discovery; a --discovery-url given explicitly wins."""
    emulator, demo, url = live
    env = {**base, "MCAPI_BASE_URL": url, "MCAPI_APP_ID": demo.app_id,
           "MCAPI_APP_KEY": demo.app_key}  # fmt: skip
    password = demo.passwords[demo.reader_email] + "\n"
    result = run(env, "login", "--email", demo.reader_email, input=password)
    assert result.exit_code == 0, result.output
    assert f"at {url};" in result.output
    assert not emulator.journal.entries(path="/api/login/discover-authentication")
    dead = {**env, "MCAPI_BASE_URL": "http://127.0.0.1:9"}
    chosen = run(dead, "login", "--email", demo.reader_email, "--discovery-url", url,
                 "--profile", "found", input=password)  # fmt: skip
    assert chosen.exit_code == 0, chosen.output
    assert f"at {url};" in chosen.output
    assert emulator.journal.entries(path="/api/login/discover-authentication")
    refused = run(dead, "login", "--email", demo.reader_email, input=password)
    assert refused.exit_code == 9, refused.output
    assert "MCAPI_BASE_URL" in json.loads(refused.stdout)["error"]["advice"]
