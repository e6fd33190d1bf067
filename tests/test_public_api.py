"""The curated public API: complete, sorted, importable, and the only thing the docs teach.

As httpx does, every public name a user can reach in a public package must be listed in its
``__all__``; nothing a user is shown imports a private module or a private name.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import mcapi
from mcapi import _errors
from mcapi import client as client_package

ROOT = Path(__file__).resolve().parents[1]

#: The packages users import. Everything else under mcapi has a ``_`` in its path.
PUBLIC_PACKAGES = (
    "mcapi",
    "mcapi.client",
    "mcapi.emulator",
    "mcapi.signing",
    "mcapi.testing",
    "mcapi.cli",
)
#: Names every module may hold without exporting them.
IMPORT_MACHINERY = {"TYPE_CHECKING", "annotations"}
#: Server packages; none may be imported by the client or by ``mcapi call``.
# orjson is no server package: the collector writes its records with it
SERVER_PACKAGES = ("starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "redis")


def _public_names(module: ModuleType) -> Iterator[str]:
    """Names of ``module`` a user sees: not ``_``-prefixed, not a module, not imported from a
    library outside mcapi (``Any``, ``Callable``...)."""
    for name, value in vars(module).items():
        if name.startswith("_") or name in IMPORT_MACHINERY or isinstance(value, ModuleType):
            continue
        origin = getattr(value, "__module__", None)
        if isinstance(origin, str) and origin.split(".")[0] != "mcapi":
            continue
        yield name


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_every_public_name_is_in_all(name: str) -> None:
    module = importlib.import_module(name)
    for attribute in module.__all__:  # lazy names (mcapi.Client) resolve on first use
        getattr(module, attribute)
    unlisted = sorted(set(_public_names(module)) - set(module.__all__))
    assert unlisted == [], f"{name} exposes {unlisted} without listing them in __all__"


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's order for __all__ (RUF022): CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("name", PUBLIC_PACKAGES)
def test_all_is_sorted_and_names_only_public_things(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__, key=_isort_key)
    assert not [n for n in module.__all__ if n.startswith("_")]
    for attribute in module.__all__:
        assert getattr(module, attribute) is not None


def test_the_signing_module_is_the_private_ones_whole_api() -> None:
    from mcapi import _signing, signing

    assert signing.__all__ == _signing.__all__
    for name in signing.__all__:
        assert getattr(signing, name) is getattr(_signing, name)


def test_every_exception_is_public_in_mcapi_and_in_the_client() -> None:
    exceptions = set(_errors.__all__) - {"error_class_for"}
    assert exceptions <= set(mcapi.__all__)
    assert exceptions <= set(client_package.__all__)
    from mcapi.client import FunctionFailed

    assert FunctionFailed is _errors.FunctionFailed


def test_every_client_name_is_public_in_mcapi() -> None:
    for name in client_package.__all__:
        assert name in mcapi.__all__
        assert getattr(mcapi, name) is getattr(client_package, name)


def test_the_emulators_handles_have_public_types() -> None:
    from mcapi import emulator

    hints = {
        "admin": emulator.Admin,
        "clock": emulator.Clock,
        "faults": emulator.FaultEngine,
        "journal": emulator.Journal,
    }
    emu = emulator.Emulator("sqlite://", kdf_n=2**10)
    try:
        for attribute, kind in hints.items():
            assert type(getattr(emu, attribute)) is kind, attribute
    finally:
        emu.close()


# ---- what the docs teach ---------------------------------------------------------------------

USER_DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: Documents for mcapi's own developers, which describe the private modules by name.
INTERNALS_DOCS = {ROOT / "docs" / "ARCHITECTURE.md", *(ROOT / "docs" / "design").rglob("*.md")}

_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([\w\s,]+)", re.MULTILINE)
_IMPORT = re.compile(r"^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)", re.MULTILINE)
_DOTTED = re.compile(r"\bmcapi(?:\.\w+)+")


def _private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split(".") if part != "__future__")


def test_the_docs_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in USER_DOCS}
    assert {"README.md", "docs/client.md", "docs/emulator.md", "docs/faults.md"} <= names


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_doc_imports_a_private_module_or_name(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    bad: list[str] = []
    for match in _FROM_IMPORT.finditer(text):
        module, names = match.group(1), match.group(2)
        if _private(module) or any(n.strip().startswith("_") for n in names.split(",")):
            bad.append(match.group(0).strip())
    for match in _IMPORT.finditer(text):
        bad.extend(m.strip() for m in match.group(1).split(",") if _private(m.strip()))
    if doc not in INTERNALS_DOCS:
        bad.extend(m.group(0) for m in _DOTTED.finditer(text) if _private(m.group(0)))
    assert bad == [], f"{doc.name} teaches private names: {bad}"


def test_the_doc_check_catches_a_private_import() -> None:
    # The patterns above, on the lines the docs used to hold.
    text = "from mcapi._signing import signed_headers\nimport mcapi.emulator._faults\n"
    assert [m.group(1) for m in _FROM_IMPORT.finditer(text)] == ["mcapi._signing"]
    assert [m.group(1) for m in _IMPORT.finditer(text)] == ["mcapi.emulator._faults"]
    assert _private("mcapi._signing") and not _private("mcapi.signing")
    assert [m.group(0) for m in _DOTTED.finditer("see `mcapi.emulator._operations.AdminError`")]


# ---- what importing costs -------------------------------------------------------------------


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_mcapi_does_not_load_the_emulator() -> None:
    loaded = _loaded_after("import mcapi")
    assert not {"mcapi.emulator", "sqlalchemy", "httpx"} & loaded
    assert "httpx" in _loaded_after("import mcapi; mcapi.Client")


@pytest.mark.parametrize(
    "code",
    [
        "import mcapi.client",
        "import mcapi.signing",
        "import mcapi.testing",
        "from mcapi.cli import cli",  # what `mcapi call` and `mcapi login` import
    ],
)
def test_the_client_side_imports_no_server_package(code: str) -> None:
    loaded = {name.split(".")[0] for name in _loaded_after(code)}
    assert not loaded & set(SERVER_PACKAGES)
    assert "mcapi.emulator" not in _loaded_after(code)


def test_mcapi_call_imports_no_server_package(tmp_path: Path) -> None:
    # `mcapi call` all the way to its first failure (no credentials): still no server package.
    code = (
        "import os, sys\n"
        "from mcapi.cli import cli\n"
        "try:\n"
        "    cli(['call', '/api/account/get-account'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    env = {"PATH": "", "HOME": str(tmp_path), "MCAPI_CONFIG": str(tmp_path / "none.toml")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    loaded = {name.split(".")[0] for name in out.stdout.split()}
    assert "httpx" in loaded  # the command ran far enough to load the client
    assert not loaded & set(SERVER_PACKAGES)


def test_the_server_packages_listed_here_are_the_extras() -> None:
    from mcapi._extras import EMULATOR_MODULES

    assert set(EMULATOR_MODULES) <= set(SERVER_PACKAGES)
