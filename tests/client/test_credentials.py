"""Credentials from arguments, the environment and the profile file; secrets never shown."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mcapi.client import Credentials, CredentialsError
from mcapi.client._credentials import load_profile, save_profile

SECRET = "c2VjcmV0LWtleS1ieXRlcw=="
ENV = {
    "MCAPI_BASE_URL": "https://eu-api.mimecast.com/",
    "MCAPI_APP_ID": "app-id",
    "MCAPI_APP_KEY": "app-key-value",
    "MCAPI_ACCESS_KEY": "ACCESSKEY123456",
    "MCAPI_SECRET_KEY": SECRET,
}


def creds(**extra: str) -> Credentials:
    return Credentials.from_env({**ENV, **extra})


def test_from_env_reads_every_variable() -> None:
    c = creds(MCAPI_EMAIL="a@b.example", MCAPI_PASSWORD="pw", MCAPI_AUTH_TYPE="domain")
    assert c.base_url == "https://eu-api.mimecast.com"
    assert (c.app_id, c.app_key, c.access_key, c.secret_key) == (
        "app-id",
        "app-key-value",
        "ACCESSKEY123456",
        SECRET,
    )
    assert (c.email, c.password, c.auth_type) == ("a@b.example", "pw", "domain")
    assert c.can_renew


def test_from_env_names_what_is_missing() -> None:
    with pytest.raises(CredentialsError) as info:
        Credentials.from_env({"MCAPI_BASE_URL": "https://x", "MCAPI_APP_ID": "a"})
    message = str(info.value)
    for name in ("MCAPI_APP_KEY", "MCAPI_ACCESS_KEY", "MCAPI_SECRET_KEY"):
        assert name in message
    assert "MCAPI_BASE_URL" not in message


def test_repr_shows_no_secret() -> None:
    c = creds(MCAPI_EMAIL="a@b.example", MCAPI_PASSWORD="hunter2-password")
    text = repr(c) + str(c)
    for secret in (SECRET, "app-key-value", "hunter2-password", "ACCESSKEY123456"):
        assert secret not in text
    assert "ACCE…" in text


def test_profile_roundtrip_is_private_and_keeps_other_profiles(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "profiles.toml"
    save_profile("work", creds(MCAPI_EMAIL="a@b.example", MCAPI_PASSWORD="pw"), path)
    save_profile("home", creds(MCAPI_ACCESS_KEY="OTHERKEY9999"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "password" not in text  # never stored
    work = load_profile("work", path)
    assert work.access_key == "ACCESSKEY123456" and work.email == "a@b.example"
    assert work.password is None
    assert load_profile("home", path).access_key == "OTHERKEY9999"
    assert [p.name for p in path.parent.iterdir()] == ["profiles.toml"]  # no temp left


def test_missing_profile_says_how_to_create_it(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    save_profile("work", creds(), path)
    with pytest.raises(CredentialsError) as info:
        load_profile("nope", path)
    assert "mcapi login --profile nope" in str(info.value)
    assert "work" in str(info.value)


def test_profile_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "elsewhere.toml"
    monkeypatch.setenv("MCAPI_CONFIG", str(target))
    save_profile("default", creds())
    assert target.exists()
    assert Credentials.from_profile().app_id == "app-id"


def test_replacing_a_profile_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    save_profile("default", creds(), path)
    inode = path.stat().st_ino
    save_profile("default", creds(MCAPI_ACCESS_KEY="NEWACCESSKEY1"), path)
    assert path.stat().st_ino != inode  # a new file renamed into place, never half-written
    assert load_profile("default", path).access_key == "NEWACCESSKEY1"
    assert os.access(path, os.R_OK)
