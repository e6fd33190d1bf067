"""Secrets stay where they belong: the database file is private, admin errors and the journal do
not repeat a password, the admin token can come from a file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcapi.cli import cli
from mcapi.emulator import Emulator
from tests.emulator.conftest import Api

pytestmark = pytest.mark.anyio


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_database_file_and_its_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask: files readable by everyone unless made private
    try:
        db = tmp_path / "emulator.db"
        emulator = Emulator(f"sqlite:///{db}", kdf_n=2**10)
        try:
            emulator.load_demo()
            files = [db, tmp_path / "emulator.db-wal", tmp_path / "emulator.db-shm"]
            assert all(path.exists() for path in files)
            assert {path.name: mode(path) for path in files} == {p.name: 0o600 for p in files}
        finally:
            emulator.close()
    finally:
        os.umask(old)


async def test_an_admin_error_does_not_echo_a_mistyped_password(api: Api) -> None:
    email = api.creds.admin_email
    headers = {"Authorization": f"Bearer {api.creds.admin_token}"}
    for mistyped in (31415926535, ["Hunter2-Secret"], {"value": "Hunter2-Secret"}):
        response = await api.http.post(
            f"/_emulator/users/{email}/password", json={"password": mistyped}, headers=headers
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error.startswith("password: expected a non-empty string")
        assert "31415926535" not in error and "Hunter2" not in error


@pytest.mark.parametrize("typed", ["Hunter2-Secret!", "p@ss-Hunter2-Secret"])
async def test_a_password_typed_as_the_user_name_stays_out_of_the_journal(
    api: Api, typed: str
) -> None:
    response = await api.login(typed, "whatever was typed next")
    assert response.status_code == 404  # 0003: not an address of a managed domain
    journal = json.dumps(api.emu.journal.to_dict())
    assert "Hunter2" not in journal
    assert api.emu.journal.entries(limit=1)[-1].user is None


async def test_a_login_of_a_managed_address_keeps_the_user_name(api: Api) -> None:
    await api.login(api.creds.admin_email, "a wrong password")
    assert api.emu.journal.entries(limit=1)[-1].user == api.creds.admin_email


def test_serve_reads_the_admin_token_from_a_file(tmp_path: Path) -> None:
    from mcapi.cli._emulator_cmd import _read_token

    path = tmp_path / "token"
    path.write_text("s3cret-token-from-file\n", encoding="utf-8")
    assert _read_token(path) == "s3cret-token-from-file"
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    argv = ["emulator", "serve", "--port", "0", "--db", "sqlite://", "--admin-token-file"]
    result = CliRunner().invoke(cli, [*argv, str(empty)])
    assert result.exit_code == 2
    assert "holds no token" in result.output
