"""An in-process emulator with the demo tenant, and a small signed-call helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mcapi._signing import build_login_header, format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # These tests sign with the emulator's clock, which they move: dates are measured against
    # either clock, as the pytest plugin's fixture does (tests/fidelity covers the wall clock).
    emulator = Emulator("sqlite://", kdf_n=2**10, config=EmulatorConfig(skew_reference="either"))
    yield emulator
    emulator.close()


@pytest.fixture
def creds(emu: Emulator) -> EmulatorCredentials:
    return emu.load_demo()


@dataclass
class Keys:
    access_key: str
    secret_key: str
    app_id: str
    app_key: str


class Api:
    """Signs and sends calls the way a correct client would; each test bends one thing."""

    def __init__(self, http: httpx.AsyncClient, emu: Emulator, creds: EmulatorCredentials) -> None:
        self.http = http
        self.emu = emu
        self.creds = creds
        self.keys = Keys(creds.access_key, creds.secret_key, creds.app_id, creds.app_key)

    def headers(self, path: str, keys: Keys | None = None, **override: str) -> dict[str, str]:
        k = keys or self.keys
        headers = signed_headers(
            access_key=k.access_key, secret_key=k.secret_key, app_id=k.app_id, app_key=k.app_key,
            path=path, date=format_date(self.emu.clock.now()), request_id=new_request_id(),
        )  # fmt: skip
        headers.update(override)
        return headers

    async def call(
        self,
        path: str,
        data: list[dict[str, Any]] | None = None,
        *,
        keys: Keys | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        sent = self.headers(path, keys)
        sent.update(headers or {})
        content = body if body is not None else None
        if content is None:
            return await self.http.post(path, json={"data": data or []}, headers=sent)
        return await self.http.post(path, content=content, headers=sent)

    async def login(
        self, email: str, password: str, *, auth: str = "cloud", item: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {
            "Authorization": build_login_header(auth, email, password),
            "x-mc-app-id": self.creds.app_id,
            "x-mc-date": format_date(self.emu.clock.now()),
            "x-mc-req-id": new_request_id(),
        }
        return await self.http.post(
            "/api/login/login", json={"data": [item or {"userName": email}]}, headers=headers
        )

    async def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = await self.http.request(
            method, f"/_emulator{path}", json=body,
            headers={"Authorization": f"Bearer {self.creds.admin_token}"},
        )  # fmt: skip
        assert response.status_code < 300, response.text
        return response

    async def binding_for(self, email: str, **body: Any) -> Keys:
        """A new binding created as an administrator would in the console."""
        made = (await self.admin("POST", f"/users/{email}/bindings", body)).json()
        return Keys(made["access_key"], made["secret_key"], made["app_id"], self.creds.app_key)


@pytest.fixture
async def api(emu: Emulator, creds: EmulatorCredentials) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=emu.app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=creds.base_url) as http:
        yield Api(http, emu, creds)


def code_of(response: httpx.Response) -> str:
    """``"401 0004 err_xdk_invalid_signature"``: status, sub code and body code of an answer."""
    body = response.json()
    errors = body["fail"][0]["errors"] if body.get("fail") else []
    if not errors:
        return str(response.status_code)
    message = errors[0]["message"]
    first = message.split()[0] if message else ""
    sub = f" {first}" if first.isdigit() and len(first) == 4 else ""
    return f"{response.status_code}{sub} {errors[0]['code']}"
