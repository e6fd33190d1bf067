"""An in-process emulator at a fixed instant, the demo tenant, generated data, signed calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials
from mcapi.emulator._data import GenerateSummary, generate
from mcapi.emulator._store import Account

#: 2025-10-09T08:53:20Z: the emulator clock is frozen here so that dates in tests are fixed.
T0 = 1_760_000_000.0
SEED = 7


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # signed with the emulator clock, which the tests set and move (tests/fidelity: wall clock)
    emulator = Emulator("sqlite://", kdf_n=2**10, config=EmulatorConfig(skew_reference="either"))
    emulator.clock.set(T0)
    yield emulator
    emulator.close()


@pytest.fixture
def creds(emu: Emulator) -> EmulatorCredentials:
    return emu.load_demo()


@pytest.fixture
def account(emu: Emulator, creds: EmulatorCredentials) -> Account:
    found = emu.store.find_account(creds.account_code)
    assert found is not None
    return found


@pytest.fixture
def tenant(emu: Emulator, account: Account) -> GenerateSummary:
    """Three days of a 20-user tenant in the demo account, ending at T0."""
    return generate(emu.store, account.id, seed=SEED, users=20, days=3, now=T0)


@dataclass(frozen=True)
class Keys:
    access_key: str
    secret_key: str
    app_id: str
    app_key: str


class Api:
    """Signs and sends calls as a correct client would."""

    def __init__(self, http: httpx.AsyncClient, emu: Emulator, creds: EmulatorCredentials) -> None:
        self.http = http
        self.emu = emu
        self.creds = creds
        self.admin = Keys(creds.access_key, creds.secret_key, creds.app_id, creds.app_key)

    def keys_for(self, email: str, permissions: Sequence[str] = ()) -> Keys:
        """A new binding of ``email`` (created in the demo account if new; ``permissions``, when
        given, replace the user's)."""
        store = self.emu.store
        user = store.find_user(email)
        if user is None:
            account = store.find_account(self.creds.account_code)
            assert account is not None
            user = store.create_user(account.id, email, None, permissions=permissions)
        elif permissions:
            user = store.set_permissions(user.id, permissions)
        binding = store.create_binding(
            user.id, self.creds.app_id, now=self.emu.clock.now(), ttl_seconds=None
        )
        return Keys(binding.access_key, binding.secret_key, self.creds.app_id, self.creds.app_key)

    @property
    def reader(self) -> Keys:
        """The demo's read-only user."""
        return self.keys_for(self.creds.reader_email)

    @property
    def nobody(self) -> Keys:
        """A user without any permission."""
        return self.keys_for("nobody@demo.example")

    async def call(
        self,
        path: str,
        data: Sequence[dict[str, Any]] | None = None,
        *,
        keys: Keys | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> httpx.Response:
        k = keys or self.admin
        headers = signed_headers(
            access_key=k.access_key, secret_key=k.secret_key, app_id=k.app_id, app_key=k.app_key,
            path=path, date=format_date(self.emu.clock.now()), request_id=new_request_id(),
        )  # fmt: skip
        body: dict[str, Any] = {"data": list(data or [])}
        if page_size is not None or page_token is not None:
            pagination: dict[str, Any] = {}
            if page_size is not None:
                pagination["pageSize"] = page_size
            if page_token is not None:
                pagination["pageToken"] = page_token
            body["meta"] = {"pagination": pagination}
        return await self.http.post(path, json=body, headers=headers)

    async def ok(self, path: str, data: Sequence[dict[str, Any]] | None = None, **kw: Any) -> Any:
        """The JSON body of a call that must answer HTTP 200 (whose every ``fail`` entry must
        carry the item it answers as ``key``)."""
        response = await self.call(path, data, **kw)
        assert response.status_code == 200, response.text
        body = response.json()
        assert all("key" in entry for entry in body.get("fail", [])), body
        return body

    async def pages(
        self, path: str, item: dict[str, Any], page_size: int, records: str | None = None
    ) -> list[Any]:
        """Every record of a paged function, following ``next`` (``records`` names the list
        inside ``data[0]`` for functions that wrap it, such as clickLogs)."""
        out: list[Any] = []
        token = None
        while True:
            body = await self.ok(path, [item], page_size=page_size, page_token=token)
            assert body["fail"] == []
            page = body["data"][0][records] if records else body["data"]
            assert len(page) <= page_size
            assert body["meta"]["pagination"]["pageSize"] == len(page)
            out.extend(page)
            token = body["meta"]["pagination"].get("next")
            if token is None:
                return out


@pytest.fixture
async def api(emu: Emulator, creds: EmulatorCredentials) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=cast(Any, emu.app))
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        yield Api(http, emu, creds)


def iso(epoch: float) -> str:
    """Epoch seconds in the API's date-time format, ``2011-12-03T10:15:30+0000``."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def fails(body: Any) -> list[tuple[Any, str, str | None]]:
    """``(key, code, field)`` of every error of every fail entry."""
    return [
        (entry.get("key"), error["code"], error.get("field"))
        for entry in body["fail"]
        for error in entry["errors"]
    ]


def answer(response: httpx.Response) -> str:
    """``"403 0002 err_xdk_forbidden"``: status, sub code and body code of an error answer."""
    body = response.json()
    error = body["fail"][0]["errors"][0]
    first = error["message"].split()[0]
    sub = f" {first}" if first.isdigit() and len(first) == 4 else ""
    return f"{response.status_code}{sub} {error['code']}"
