"""docs/migrating-to-2.0.md: its programs, run against a served emulator with the demo tenant.

The migration program runs twice, unchanged: with the API 1.0 variables, then with the API 2.0
ones added; its output must be the same but for the credentials line, and the journal must show
signed calls the first time and one token request then Bearer calls the second. The plain httpx
script (no mcapi import) must get a token and call get-account."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.testing import serve

from .conftest import ACCOUNT, KDF_N

DOC = Path(__file__).resolve().parents[2] / "docs" / "migrating-to-2.0.md"
HOLD_LIST = "/api/gateway/get-hold-message-list"


def block(language: str, first_line: str) -> str:
    """The fenced ``language`` block of the page whose first line is ``first_line``."""
    for found in re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S):
        if found.startswith(first_line):
            return str(found)
    raise AssertionError(f"no {language} block starting {first_line!r} in {DOC}")


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Emulator, EmulatorCredentials, str]]:
    emulator = Emulator("sqlite://", kdf_n=KDF_N)
    demo = emulator.load_demo(generate_data=True)  # what serve --demo does
    try:
        with serve(emulator) as url:
            yield emulator, demo, url
    finally:
        emulator.close()


def run(script: str, env: dict[str, str], tmp_path: Path) -> str:
    path = tmp_path / "program.py"
    path.write_text(script)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MCAPI_")}
    done = subprocess.run(
        [sys.executable, str(path)], env={**clean, **env}, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_one_program_runs_on_1_0_and_on_2_0(
    live: tuple[Emulator, EmulatorCredentials, str], tmp_path: Path
) -> None:
    emulator, demo, url = live
    program = block("python", "# migrate_demo.py")
    env_1 = {k: v for k, v in demo.env().items() if k != "MCAPI_BASE_URL"}
    env_1["MCAPI_BASE_URL"] = url
    emulator.journal.clear()
    first = run(program, env_1, tmp_path)
    signed = emulator.journal.entries(path=ACCOUNT)
    assert [(e.user, e.app_id) for e in signed] == [(demo.admin_email, demo.app_id)]
    assert emulator.journal.entries(path="/oauth/token") == []

    env_2 = {**env_1, **demo.env2(), "MCAPI_BASE_URL": url}
    emulator.journal.clear()
    second = run(program, env_2, tmp_path)
    assert [e.status for e in emulator.journal.entries(path="/oauth/token")] == [200]
    bearer = emulator.journal.entries(path=ACCOUNT)
    assert [(e.user, e.app_id) for e in bearer] == [(f"api2:{demo.client_id}", demo.client_id)]
    assert len(emulator.journal.entries(path=HOLD_LIST)) >= 1

    assert first.splitlines()[0] == "credentials: Credentials"
    assert second.splitlines()[0] == "credentials: OAuthCredentials"
    assert first.splitlines()[1:] == second.splitlines()[1:]
    assert "held messages: 0 " not in first

    # the page shows this output; the held messages of the demo's generated data depend on the
    # time of day the tenant was generated, so their count and reasons are compared by shape
    def shape(text: str) -> list[str]:
        return [re.sub(r"(held messages:) \d+ reasons: [a-z_, ]+", r"\1 N reasons: ...", line)
                for line in text.splitlines()]  # fmt: skip

    assert shape(block("text", "credentials: Credentials")) == shape(first + second)


def test_plain_httpx_gets_a_token_and_calls_get_account(
    live: tuple[Emulator, EmulatorCredentials, str], tmp_path: Path
) -> None:
    emulator, demo, url = live
    script = block("python", "# plain_api2.py")
    assert "mcapi" not in script
    assert demo.client_secret is not None
    env = {"MCAPI_BASE_URL": url, "MCAPI_CLIENT_ID": demo.client_id,
           "MCAPI_CLIENT_SECRET": demo.client_secret}  # fmt: skip
    out = run(script, env, tmp_path)
    assert out.strip() == f"account: {demo.account_code} fail: []"
    assert emulator.journal.entries(path=ACCOUNT)[-1].app_id == demo.client_id
