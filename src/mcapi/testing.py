"""Test your Mimecast integration against the mcapi emulator: pytest fixtures and ``serve``.

Installed with mcapi, this module is a pytest plugin (entry point ``pytest11``), so the fixtures
below are available in every test without an import:

``mcapi_emulator``
    a fresh in-process :class:`~mcapi.emulator.Emulator` (in-memory SQLite, cheap password
    hashing) holding the demo tenant; closed after the test. Drive it directly:
    ``mcapi_emulator.clock.advance(3 * 86400)``, ``mcapi_emulator.faults``, ``.journal``...
``mcapi_admin``
    ``mcapi_emulator.admin``: the administrator's operations, the same ones the admin API runs
    (``lock_user``, ``disable_user``, ``set_permissions``, ``create_binding``, ``set_policy``,
    ``generate``, ``seed``, ``reset``, ``move_clock``...); a refusal raises ``ValueError`` (or
    ``LookupError`` for an unknown user or account) naming the field.
``mcapi_credentials``
    its :class:`~mcapi.emulator.EmulatorCredentials` (base URL, app id/key, the admin's binding,
    the demo users' passwords, the admin token); ``.env()`` gives the ``MCAPI_*`` variables,
    with the served URL as ``MCAPI_BASE_URL`` in a test that also uses ``mcapi_server``.
``mcapi_async_client``
    an ``httpx.AsyncClient`` calling that emulator in-process (no socket); it does not sign,
    signing is the caller's (``mcapi.signing.signed_headers`` or the mcapi client).
``mcapi_server``
    the same emulator served by uvicorn on a loopback port; the fixture's value is the base
    URL (``http://127.0.0.1:<port>``), for code that must open real connections.

Outside pytest, :func:`serve` runs any emulator on a loopback socket for the duration of a
``with`` block. docs/emulator.md has a complete example.

The module imports nothing heavy at import time: pytest loads it for every project that has mcapi
installed, and most of those test runs never ask for an emulator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import httpx
    import pytest

    from mcapi.emulator import Emulator, EmulatorCredentials
    from mcapi.emulator._operations import Admin

__all__ = [
    "TEST_KDF_N",
    "mcapi_admin",
    "mcapi_async_client",
    "mcapi_credentials",
    "mcapi_emulator",
    "mcapi_server",
    "serve",
]

#: scrypt cost of the fixtures' password hashes: logins in microseconds instead of ~50 ms.
TEST_KDF_N = 2**10
_F = TypeVar("_F", bound=Callable[..., Any])


def _fixture(function: _F) -> _F:
    """``pytest.fixture`` under pytest, else the function as it is: importing this module for
    ``serve`` neither imports pytest nor needs it installed."""
    pytest = sys.modules.get("pytest")
    if pytest is None:
        return function
    return pytest.fixture(function)  # type: ignore[no-any-return]


@contextlib.contextmanager
def serve(
    emulator: Emulator,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
    shutdown_timeout: float = 10.0,
) -> Iterator[str]:
    """Serve ``emulator`` with uvicorn from a background thread; yields its base URL.

    Port 0 (the default) takes a free port. The server is accepting connections when the URL
    is yielded and is stopped when the block ends (bounded by ``shutdown_timeout``)::

        emulator = Emulator("sqlite://")
        creds = emulator.load_demo()
        with serve(emulator) as base_url:
            ...  # call base_url + "/api/account/get-account" with creds' keys
    """
    from mcapi.emulator._serve import serve_in_thread

    with serve_in_thread(
        emulator,
        host=host,
        port=port,
        startup_timeout=startup_timeout,
        shutdown_timeout=shutdown_timeout,
    ) as base_url:
        yield base_url


@_fixture
def mcapi_emulator() -> Iterator[Emulator]:
    """A fresh in-process emulator with the demo tenant, closed after the test.

    It measures x-mc-date against either clock (``skew_reference="either"``): a test that signs
    with ``mcapi_emulator.clock.now()`` and an unmodified integration that signs with the wall
    clock both pass the date check, so advancing the clock expires bindings (418) for both."""
    from mcapi.emulator import Emulator, EmulatorConfig

    emulator = Emulator(
        "sqlite://", kdf_n=TEST_KDF_N, config=EmulatorConfig(skew_reference="either")
    )
    emulator.load_demo()
    try:
        yield emulator
    finally:
        emulator.close()


@_fixture
def mcapi_admin(mcapi_emulator: Emulator) -> Admin:
    """``mcapi_emulator.admin``: lock, disable, re-permission users, issue bindings, change an
    account's policy, generate data, seed, reset, move the clock (docs/emulator.md section 5)."""
    return mcapi_emulator.admin


@_fixture
def mcapi_credentials(
    mcapi_emulator: Emulator, request: pytest.FixtureRequest
) -> EmulatorCredentials:
    """The demo tenant's credentials on ``mcapi_emulator`` (``load_demo`` is idempotent). In a
    test that also uses ``mcapi_server``, their ``base_url`` (and so ``env()``'s
    ``MCAPI_BASE_URL``) is the served URL, so ``Client.from_env(mcapi_credentials.env())``
    opens real connections to it."""
    credentials = mcapi_emulator.load_demo()
    if "mcapi_server" in request.fixturenames:
        served = str(request.getfixturevalue("mcapi_server"))
        credentials = dataclasses.replace(credentials, base_url=served)
    return credentials


@_fixture
def mcapi_async_client(
    mcapi_emulator: Emulator, mcapi_credentials: EmulatorCredentials
) -> Iterator[httpx.AsyncClient]:
    """An unsigned ``httpx.AsyncClient`` bound in-process to ``mcapi_emulator``.

    A plain (not async) fixture, so it works under any async test runner (anyio, pytest-asyncio,
    trio). Over ``ASGITransport`` there is no connection to release; closing only marks the
    client closed, which this fixture does without an event loop.
    """
    import httpx

    client = httpx.AsyncClient(
        # The emulator's ASGI callable is typed with read-only Mappings; httpx wants mutable ones.
        transport=httpx.ASGITransport(app=mcapi_emulator.app),
        base_url=mcapi_credentials.base_url,
    )
    try:
        yield client
    finally:
        _close_without_loop(client)


def _close_without_loop(client: httpx.AsyncClient) -> None:
    # AsyncClient.aclose() over ASGITransport never suspends: drive the coroutine by hand.
    closing = client.aclose()
    try:
        closing.send(None)
    except StopIteration:
        return
    closing.close()  # pragma: no cover - it suspended after all: leave it, nothing to release


@_fixture
def mcapi_server(mcapi_emulator: Emulator) -> Iterator[str]:
    """``mcapi_emulator`` served by uvicorn on a loopback port; the value is its base URL."""
    with serve(mcapi_emulator) as base_url:
        yield base_url
