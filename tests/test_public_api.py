"""The curated public API: sorted, importable, and complete."""

from __future__ import annotations

import mcapi
from mcapi import _errors
from mcapi import client as client_package

# Names of the client package that are tools for the client's own modules, not for users.
CLIENT_INTERNAL = {"READ_ONLY_MARKERS", "is_read_only", "Pacer"}


def test_all_is_sorted_and_importable() -> None:
    assert mcapi.__all__ == sorted(mcapi.__all__)
    for name in mcapi.__all__:
        assert getattr(mcapi, name) is not None


def test_every_exception_is_public() -> None:
    exceptions = set(_errors.__all__) - {"error_class_for"}
    assert exceptions <= set(mcapi.__all__)


def test_every_client_name_is_public() -> None:
    assert set(client_package.__all__) - CLIENT_INTERNAL <= set(mcapi.__all__)


def test_importing_mcapi_does_not_load_the_emulator() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mcapi; print('mcapi.emulator' in sys.modules, 'sqlalchemy' in sys.modules,"
        " 'httpx' in sys.modules); mcapi.Client; print('httpx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False", "True"]


def test_client_names_are_the_client_packages() -> None:
    assert mcapi.Client is client_package.Client
    assert mcapi.AsyncClient is client_package.AsyncClient
