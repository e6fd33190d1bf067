"""Cookies: the clients skip httpx's cookie work for answers that set none, and still keep a
cookie that a load balancer in front of the platform sets, sending it back on later calls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcapi.client import AsyncClient, Client
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.testing import serve

ACCOUNT = "/api/account/get-account"
Scope = dict[str, Any]


class StickyBalancer:
    """An ASGI layer in front of the emulator that sets a sticky-session cookie on its first
    answer and records the ``Cookie`` header of each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str | None] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        self.seen.append(headers[b"cookie"].decode() if b"cookie" in headers else None)
        first = len(self.seen) == 1

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if first and message["type"] == "http.response.start":
                cookie = (b"set-cookie", b"lb=a1; Path=/")
                message = {**message, "headers": [*message["headers"], cookie]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


@pytest.fixture
def balanced(emu: Emulator) -> tuple[StickyBalancer, EmulatorCredentials]:
    balancer = StickyBalancer(emu.app)
    emu.app = balancer  # type: ignore[assignment]
    return balancer, emu.load_demo()


def test_a_cookie_set_by_a_balancer_is_sent_back(
    emu: Emulator, balanced: tuple[StickyBalancer, EmulatorCredentials]
) -> None:
    balancer, demo = balanced
    with serve(emu) as url:
        creds = {"client_id": demo.client_id, "client_secret": demo.client_secret}
        with Client(base_url=url, **creds) as client:
            for _ in range(3):
                assert client.call(ACCOUNT).ok
            assert client._http.cookies.get("lb") == "a1"
    # the token request, then three calls: the first call was built before the token's answer
    # set the cookie; the next two send it back
    assert balancer.seen == [None, None, "lb=a1", "lb=a1"]


@pytest.mark.anyio
async def test_the_async_client_sends_it_back_too(
    balanced: tuple[StickyBalancer, EmulatorCredentials],
) -> None:
    balancer, demo = balanced
    transport = httpx.ASGITransport(app=balancer)  # type: ignore[arg-type]
    creds = {"client_id": demo.client_id, "client_secret": demo.client_secret}
    async with AsyncClient(base_url="http://emulator.test", transport=transport, **creds) as c:
        for _ in range(3):
            assert (await c.call(ACCOUNT)).ok
    assert balancer.seen == [None, None, "lb=a1", "lb=a1"]
