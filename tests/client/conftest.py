"""Fixtures for the client tests: a real emulator, and one test body run against both clients.

``harness`` is parametrized over ``sync`` and ``async``; in a module that sets
``BOTH_API_VERSIONS = True``, also over ``api_version`` ``"1.0"`` and ``"2.0"``: its bodies run
with a binding and with an API 2.0 application's client id and secret (the demo's, which holds
the administrator's permissions). Its :meth:`Harness.client` builds a
``Client`` (served the emulator over a loopback socket, called from a worker thread) or an
``AsyncClient`` (the emulator in-process through ``httpx.ASGITransport``), wrapped in a driver
with the same awaitable methods, so a test body is written once.

Time is the emulator's: its clock is frozen, the clients read it (``clock=emu.clock.now``), and
their injected ``sleep`` records the delay and advances that clock instead of sleeping. Binding
TTLs, lockouts and quota refills therefore move exactly as far as the client waits.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from functools import partial
from typing import Any

import anyio
import httpx
import pytest

from mcapi.client import AsyncClient, AttemptEvent, Client
from mcapi.emulator import IN_PROCESS_URL, Emulator, EmulatorConfig, EmulatorCredentials
from mcapi.emulator._data import generate
from mcapi.emulator._faults import FaultRule
from mcapi.testing import serve

KDF_N = 2**10
ACCOUNT = "/api/account/get-account"
LOGIN = "/api/login/login"
LOGOUT = "/api/login/logout"
#: A write that both a 1.0 binding and a 2.0 application may make.
CREATE_GROUP = "/api/directory/create-group"
#: A client asked for with one of these is a 1.0 client whatever the api_version.
_KEYS_1_0 = frozenset({"app_id", "app_key", "access_key", "secret_key", "email", "password"})


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # signed with the emulator clock, which the tests set and move (tests/fidelity: wall clock)
    emulator = Emulator("sqlite://", kdf_n=KDF_N, config=EmulatorConfig(skew_reference="either"))
    emulator.load_demo()
    emulator.clock.freeze()
    try:
        yield emulator
    finally:
        emulator.close()


@pytest.fixture
def demo(emu: Emulator) -> EmulatorCredentials:
    return emu.load_demo()


#: A served emulator with the demo tenant: the emulator, the demo's credentials, its URL.
Live = tuple[Emulator, EmulatorCredentials, str]


@pytest.fixture
def live() -> Iterator[Live]:
    """The demo emulator served on a loopback port (with the wall clock), for CLI tests."""
    emulator = Emulator("sqlite://", kdf_n=KDF_N)
    demo = emulator.load_demo()
    try:
        with serve(emulator) as url:
            yield emulator, demo, url
    finally:
        emulator.close()


class Driver:
    """One client behind awaitable methods (the sync client runs in a worker thread)."""

    def __init__(self, raw: Client | AsyncClient) -> None:
        self.raw = raw
        self.is_async = isinstance(raw, AsyncClient)

    async def _run(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self.is_async:
            return await method(*args, **kwargs)
        return await anyio.to_thread.run_sync(partial(method, *args, **kwargs))

    async def call(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.call, *args, **kwargs)

    async def refresh(self) -> None:
        await self._run(self.raw.refresh)

    async def items(self, *args: Any, **kwargs: Any) -> list[Any]:
        """Every item ``paginate`` yields."""
        if isinstance(self.raw, AsyncClient):
            return [item async for item in self.raw.paginate(*args, **kwargs)]
        raw = self.raw
        return await anyio.to_thread.run_sync(lambda: list(raw.paginate(*args, **kwargs)))

    async def pages(self, *args: Any, **kwargs: Any) -> list[Any]:
        if isinstance(self.raw, AsyncClient):
            return [page async for page in self.raw.pages(*args, **kwargs)]
        raw = self.raw
        return await anyio.to_thread.run_sync(lambda: list(raw.pages(*args, **kwargs)))

    async def download(self, *args: Any, **kwargs: Any) -> Any:
        return await self._run(self.raw.download, *args, **kwargs)

    async def close(self) -> None:
        if isinstance(self.raw, AsyncClient):
            await self.raw.aclose()
        else:
            self.raw.close()

    @property
    def credentials(self) -> Any:
        return self.raw.credentials


class Harness:
    """The emulator, its demo tenant, and a factory of clients of one kind."""

    def __init__(
        self, kind: str, emu: Emulator, demo: EmulatorCredentials, stack: ExitStack,
        api_version: str = "1.0",
    ) -> None:  # fmt: skip
        self.kind = kind
        self.api_version = api_version
        self.emu = emu
        self.demo = demo
        self._stack = stack
        self._server: str | None = None
        self.sleeps: list[float] = []
        self.events: list[AttemptEvent] = []
        self.drivers: list[Driver] = []

    @property
    def is_async(self) -> bool:
        return self.kind == "async"

    def only_1_0(self, why: str) -> None:
        """Skip the API 2.0 run of a body that needs 1.0 semantics (``why``)."""
        if self.api_version != "1.0":
            pytest.skip(f"API 1.0 only: {why}")

    def loopback(self) -> str:
        """The emulator on a loopback socket (started on first use)."""
        if self._server is None:
            self._server = self._stack.enter_context(serve(self.emu))
        return self._server

    def base_url(self, network: bool = False) -> str:
        return self.loopback() if network or not self.is_async else IN_PROCESS_URL

    def sync_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.emu.clock.advance(seconds)
        # Pause for a moment of real time: without it, callers that wait for each other's answers
        # (the pacer's probe) would spin and push the shared clock minutes ahead while a request
        # is in flight on a real socket.
        time.sleep(0.0005)

    async def async_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.emu.clock.advance(seconds)
        await asyncio.sleep(0.0005)  # as sync_sleep: let in-flight answers arrive

    def options(self, network: bool = False, **overrides: Any) -> dict[str, Any]:
        options: dict[str, Any] = {
            "clock": self.emu.clock.now,
            "random": random.Random(1234),
            "event_hook": self.events.append,
            "sleep": self.async_sleep if self.is_async else self.sync_sleep,
        }
        if self.is_async and not network:
            options["transport"] = httpx.ASGITransport(app=self.emu.app)  # type: ignore[arg-type]
        options.update(overrides)
        return options

    def client(self, network: bool = False, **overrides: Any) -> Driver:
        """A client bound to the demo admin's never-expiring binding (no password); under API
        2.0, a client with the demo application's client id and secret."""
        keys: dict[str, Any] = {
            "base_url": self.base_url(network),
            "app_id": self.demo.app_id,
            "app_key": self.demo.app_key,
            "access_key": self.demo.access_key,
            "secret_key": self.demo.secret_key,
        }
        if self.api_version == "2.0" and not _KEYS_1_0 & set(overrides):
            keys = {
                "base_url": self.base_url(network),
                "client_id": self.demo.client_id,
                "client_secret": self.demo.client_secret,
            }
        for name in [*keys, "email", "password"]:
            if name in overrides:
                keys[name] = overrides.pop(name)
        options = self.options(network, **overrides)
        raw = AsyncClient(**keys, **options) if self.is_async else Client(**keys, **options)
        driver = Driver(raw)
        self.drivers.append(driver)
        return driver

    async def login(
        self, email: str | None = None, password: str | None = None, **overrides: Any
    ) -> Driver:
        """A client made by ``login`` (discovery included); it keeps the password."""
        email = email or self.demo.admin_email
        if password is None:
            password = self.demo.passwords[email]
        network = bool(overrides.pop("network", False))
        kwargs: dict[str, Any] = {
            "app_id": self.demo.app_id,
            "app_key": self.demo.app_key,
            "discovery_url": self.base_url(network),
        }
        kwargs.update(self.options(network, **overrides))
        if self.is_async:
            raw: Client | AsyncClient = await AsyncClient.login(email, password, **kwargs)
        else:
            raw = await anyio.to_thread.run_sync(lambda: Client.login(email, password, **kwargs))
        driver = Driver(raw)
        self.drivers.append(driver)
        return driver

    # ---- the emulator's side --------------------------------------------------------------------

    def journal(self, path: str) -> list[Any]:
        return self.emu.journal.entries(path=path)

    def fault(self, rule: dict[str, Any]) -> None:
        self.emu.faults.add(FaultRule.from_dict(rule))

    def policy(self, **fields: Any) -> None:
        account = self.emu.store.find_account(self.demo.account_code)
        assert account is not None
        self.emu.store.update_account_policy(account.id, **fields)

    def generate(self) -> None:
        """Fill the demo tenant with two days of generated mail, audit events and SIEM logs."""
        account = self.emu.store.find_account(self.demo.account_code)
        assert account is not None
        generate(self.emu.store, account.id, seed=7, users=30, days=2, now=self.emu.clock.now())

    def reference(self, path: str, data: list[dict[str, Any]]) -> list[Any]:
        """Every item of ``path`` in one big page, read by a plain client; the journal is then
        cleared, so a test's journal holds only its own calls."""
        d = self.demo
        with Client(
            base_url=self.loopback(), app_id=d.app_id, app_key=d.app_key,
            access_key=d.access_key, secret_key=d.secret_key, clock=self.emu.clock.now,
        ) as client:  # fmt: skip
            result = client.call(path, data, page_size=500)
        assert result.ok and result.next_page_token is None
        self.emu.journal.clear()
        return list(result.data)

    def outcomes(self, path: str | None = None) -> list[str]:
        return [e.outcome for e in self.events if path is None or e.path == path]


@pytest.fixture
def api_version() -> str:
    """The credentials ``harness.client()`` uses: ``"1.0"`` (a binding), unless the module sets
    ``BOTH_API_VERSIONS = True`` (then ``"1.0"`` and ``"2.0"``, see pytest_generate_tests)."""
    return "1.0"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "harness" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_API_VERSIONS", False):
        metafunc.parametrize("api_version", ["1.0", "2.0"])


@pytest.fixture(params=["sync", "async"])
async def harness(
    request: pytest.FixtureRequest, emu: Emulator, demo: EmulatorCredentials, api_version: str
) -> AsyncIterator[Harness]:
    with ExitStack() as stack:
        h = Harness(request.param, emu, demo, stack, api_version)
        try:
            yield h
        finally:
            for driver in h.drivers:
                await driver.close()
