"""Which credentials ``mcapi call`` uses: ``--profile``, then the ``MCAPI_*`` variables, then the
profile ``MCAPI_PROFILE`` names (else ``default``); ``mcapi profiles`` and ``mcapi whoami`` say
which. Against an emulator on a loopback socket; the journal tells which user each call ran as."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.testing import serve

from .conftest import ACCOUNT, KDF_N

Live = tuple[Emulator, EmulatorCredentials, str]
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
def live() -> Iterator[Live]:
    emulator = Emulator("sqlite://", kdf_n=KDF_N)
    demo = emulator.load_demo()
    try:
        with serve(emulator) as url:
            yield emulator, demo, url
    finally:
        emulator.close()


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


def test_no_credentials_at_all_says_how_to_get_some(base: dict[str, str]) -> None:
    result = run(base, "call", ACCOUNT)
    assert result.exit_code == 1
    assert "mcapi login" in result.stderr and "MCAPI_ACCESS_KEY" in result.stderr
    assert json.loads(result.stdout)["error"]["error"] == "CredentialsError"
