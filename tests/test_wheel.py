"""The client installs alone: a wheel without extras, in a fresh virtual environment, calls a real
emulator and brings no server package with it.

The wheel is built from a copy of the sources (so the checkout gets no ``build/`` directory);
pip fetches httpx, click, rich and tomli-w from the package registry it is configured with. The
emulator runs in this (the development) environment on a loopback port; the fresh environment's
python calls it as an integration would. About 30 s; ``-m "not wheel"`` leaves it out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.testing import serve

# One worker builds the environment and runs every test of this module (`--dist loadgroup`).
pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("wheel")]

ROOT = Path(__file__).resolve().parents[1]
#: Distributions of the emulator extra; none may come with the base install.
SERVER_DISTRIBUTIONS = {
    "jinja2",
    "starlette",
    "uvicorn",
    "sqlalchemy",
    "psycopg",
    "psycopg-binary",
    "redis",
    "alembic",
}
ACCOUNT = "/api/account/get-account"
PIP_TIMEOUT = 600


def _run(*argv: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, env=env, timeout=PIP_TIMEOUT
    )


def _checked(*argv: str | Path) -> str:
    done = _run(*argv)
    assert done.returncode == 0, f"{argv[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mcapi wheel, built from a copy of the sources."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    dist = work / "dist"
    _checked(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source)
    (wheel,) = dist.glob("mcapi-*.whl")
    return wheel


@pytest.fixture(scope="module")
def client_env(wheel_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding the mcapi wheel, installed without extras; its
    ``bin`` directory."""
    wheel = wheel_file
    target = tmp_path_factory.mktemp("venv") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    bin_dir = target / ("Scripts" if os.name == "nt" else "bin")
    _checked(bin_dir / "python", "-m", "pip", "install", "--quiet", wheel)
    return bin_dir


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, EmulatorCredentials]]:
    emulator = Emulator("sqlite://", kdf_n=2**10)
    creds = emulator.load_demo()
    try:
        with serve(emulator) as base_url:
            yield base_url, creds
    finally:
        emulator.close()


def _client_env(base_url: str, creds: EmulatorCredentials, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCAPI_", "PYTHON"))}
    env.update(creds.env())
    env.update(MCAPI_BASE_URL=base_url, HOME=str(home), MCAPI_CONFIG=str(home / "profiles.toml"))
    return env


def test_the_wheel_carries_the_dashboard_files(wheel_file: Path) -> None:
    with zipfile.ZipFile(wheel_file) as wheel:
        names = set(wheel.namelist())
    ui = ROOT / "src" / "mcapi" / "emulator" / "_ui"
    expected = {
        f"mcapi/emulator/_ui/{p.relative_to(ui).as_posix()}"
        for folder in ("templates", "static")
        for p in (ui / folder).iterdir()
    }
    assert {"mcapi/emulator/_ui/static/htmx.min.js", "mcapi/emulator/_ui/templates/base.html"} <= (
        expected
    )
    assert expected <= names, sorted(expected - names)


def test_no_server_package_is_installed(client_env: Path) -> None:
    names = json.loads(_checked(client_env / "python", "-m", "pip", "list", "--format=json"))
    installed = {row["name"].lower().replace("_", "-") for row in names}
    assert "mcapi" in installed and "httpx" in installed
    assert not installed & SERVER_DISTRIBUTIONS, sorted(installed & SERVER_DISTRIBUTIONS)


def test_the_installed_client_calls_the_emulator(
    client_env: Path, served: tuple[str, EmulatorCredentials], tmp_path: Path
) -> None:
    base_url, creds = served
    code = (
        "import json, sys\n"
        "from mcapi.client import Client, FunctionFailed\n"
        "with Client.from_env() as client:\n"
        f"    result = client.call({ACCOUNT!r})\n"
        "print(json.dumps({'data': result.data, 'modules': sorted(sys.modules)}))\n"
    )
    done = _run(client_env / "python", "-c", code, env=_client_env(base_url, creds, tmp_path))
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["data"][0]["accountCode"] == creds.account_code
    assert not {m.split(".")[0] for m in answer["modules"]} & {"starlette", "sqlalchemy"}


def test_the_installed_client_logs_in(
    client_env: Path, served: tuple[str, EmulatorCredentials], tmp_path: Path
) -> None:
    base_url, creds = served
    code = (
        "import sys\n"
        "from mcapi import Client\n"
        "with Client.login(sys.argv[1], sys.argv[2], app_id=sys.argv[3], app_key=sys.argv[4],\n"
        "                  base_url=sys.argv[5]) as client:\n"
        f"    print(client.call({ACCOUNT!r}).data[0]['accountCode'])\n"
    )
    assert creds.admin_password is not None
    done = _run(
        client_env / "python", "-c", code, creds.admin_email, creds.admin_password,
        creds.app_id, creds.app_key, base_url, env=_client_env(base_url, creds, tmp_path),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == creds.account_code


def test_the_installed_cli_calls_the_emulator(
    client_env: Path, served: tuple[str, EmulatorCredentials], tmp_path: Path
) -> None:
    base_url, creds = served
    env = _client_env(base_url, creds, tmp_path)
    done = _run(client_env / "mcapi", "call", ACCOUNT, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"][0]["accountCode"] == creds.account_code
    explained = _run(client_env / "mcapi", "explain", "401", "0004", env=env)
    assert explained.returncode == 0 and "0004" in explained.stdout


def test_serving_an_emulator_names_the_extra_to_install(client_env: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path)}
    done = _run(client_env / "mcapi", "emulator", "serve", "--port", "0", env=env)
    assert done.returncode == 2
    assert "pip install 'mcapi[emulator]'" in done.stderr
    assert "starlette" in done.stderr


def test_importing_the_emulator_names_the_extra_to_install(client_env: Path) -> None:
    done = _run(client_env / "python", "-c", "import mcapi.emulator")
    assert done.returncode == 1
    assert "ModuleNotFoundError" in done.stderr
    assert "pip install 'mcapi[emulator]'" in done.stderr
