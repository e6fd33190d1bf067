"""A broken proxy in front of the platform: an HTML page with 200, a body that trickles.

The server here plays the proxy, not our emulator, so it is a tiny raw socket server on
loopback: it answers every request the same way, whatever was sent.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from mcapi._errors import RemoteProtocolError, TransportError
from mcapi.cli import cli
from mcapi.client import AsyncClient, Client, RetryPolicy

ACCOUNT = "/api/account/get-account"
PAGE = b"<html><body>Please sign in to the network</body></html>"
KEYS: dict[str, str] = {
    "app_id": "app",
    "app_key": "key",
    "access_key": "access",
    "secret_key": base64.b64encode(b"secret").decode(),
}


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    mode = "html"
    stop = threading.Event()


class _Handler(socketserver.StreamRequestHandler):
    server: _Proxy

    def handle(self) -> None:
        length = 0
        while (line := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        self.rfile.read(length)
        try:
            if self.server.mode == "html":
                head = "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n"
                head += f"content-length: {len(PAGE)}\r\nconnection: close\r\n\r\n"
                self.wfile.write(head.encode() + PAGE)
                return
            # trickle: promise a body, then send it a byte at a time, never finishing in time
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            self.wfile.write(b"content-length: 100000\r\n\r\n")
            self.wfile.flush()
            while not self.server.stop.wait(0.1):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            return  # the client gave up and closed: what the test wants


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _Handler)
    server.stop = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()


def _url(server: _Proxy) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def test_an_html_page_is_a_protocol_answer_naming_the_content_type(proxy: _Proxy) -> None:
    client = Client(base_url=_url(proxy), pacing=False, **KEYS)
    with client, pytest.raises(RemoteProtocolError) as info:
        client.call(ACCOUNT)
    assert "text/html" in str(info.value)
    assert info.value.status == 200 and info.value.content_type == "text/html; charset=utf-8"


@pytest.mark.anyio
async def test_an_html_page_is_a_protocol_answer_async(proxy: _Proxy) -> None:
    async with AsyncClient(base_url=_url(proxy), pacing=False, **KEYS) as client:
        with pytest.raises(RemoteProtocolError) as info:
            await client.call(ACCOUNT)
    assert "text/html" in str(info.value)


def test_mcapi_call_exits_9_on_a_proxys_page_naming_its_content_type(
    proxy: _Proxy, tmp_path: Any
) -> None:
    env = {
        "MCAPI_CONFIG": str(tmp_path / "profiles.toml"),
        "MCAPI_BASE_URL": _url(proxy),
        "MCAPI_APP_ID": KEYS["app_id"],
        "MCAPI_APP_KEY": KEYS["app_key"],
        "MCAPI_ACCESS_KEY": KEYS["access_key"],
        "MCAPI_SECRET_KEY": KEYS["secret_key"],
        "MCAPI_EMAIL": "",
        "MCAPI_PASSWORD": "",
    }
    result = CliRunner().invoke(cli, ["call", ACCOUNT, "--data", "[]"], env=env)
    assert result.exit_code == 9, result.output
    error = json.loads(result.stdout)["error"]
    assert error["error"] == "RemoteProtocolError" and error["status"] == 200
    assert error["content_type"] == "text/html; charset=utf-8"
    assert "HTTP 200 text/html; charset=utf-8, not the JSON envelope" in result.stderr
    assert "not the Mimecast API" in result.stderr  # the advice: check the base URL


#: One retry (the read is safe to repeat), so the test sees two bounded attempts.
TWO = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)


def test_a_trickling_body_is_bounded_by_the_timeout(proxy: _Proxy) -> None:
    proxy.mode = "trickle"
    client = Client(base_url=_url(proxy), pacing=False, timeout=0.5, retry=TWO, **KEYS)
    with client, pytest.raises(TransportError) as info:
        client.call(ACCOUNT)
    assert info.value.attempts == 2 and "trickles" in str(info.value)


def test_a_trickling_body_is_bounded_by_the_deadline(proxy: _Proxy) -> None:
    proxy.mode = "trickle"
    policy = RetryPolicy(deadline=0.5)
    client = Client(base_url=_url(proxy), pacing=False, retry=policy, **KEYS)
    with client, pytest.raises(TransportError) as info:
        client.call(ACCOUNT)
    assert "deadline" in str(info.value)


@pytest.mark.anyio
async def test_a_trickling_body_is_bounded_async(proxy: _Proxy) -> None:
    proxy.mode = "trickle"
    async with AsyncClient(
        base_url=_url(proxy), pacing=False, timeout=0.5, retry=TWO, **KEYS
    ) as client:
        with pytest.raises(TransportError) as info:
            await client.call(ACCOUNT)
    assert info.value.attempts == 2 and "trickles" in str(info.value)


@pytest.mark.anyio
async def test_a_trickling_body_is_bounded_by_the_deadline_async(proxy: _Proxy) -> None:
    proxy.mode = "trickle"
    policy = RetryPolicy(deadline=0.5)
    async with AsyncClient(base_url=_url(proxy), pacing=False, retry=policy, **KEYS) as client:
        with pytest.raises(TransportError) as info:
            await client.call(ACCOUNT)
    assert "deadline" in str(info.value)
