"""Bounds on what one request may make the emulator read and hold: body size, items."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mcapi.emulator import Emulator
from mcapi.emulator._pipeline._body import MAX_BODY_BYTES, MAX_REQUEST_ITEMS
from tests.emulator.conftest import Api, code_of

pytestmark = pytest.mark.anyio

ACCOUNT = "/api/account/get-account"
GROUPS = "/api/directory/find-groups"


async def test_a_body_over_the_cap_is_413_not_truncated(api: Api) -> None:
    # Valid JSON followed by 12 MB of blanks: read up to the cap, it would parse and answer 200.
    body = b'{"data": []}' + b" " * (12 * 1024 * 1024)
    response = await api.call(ACCOUNT, body=body)
    assert code_of(response) == "413 err_request_too_large"
    assert response.headers["connection"] == "close"
    assert str(MAX_BODY_BYTES) in response.json()["fail"][0]["errors"][0]["message"]
    assert api.emu.journal.entries(limit=1)[-1].status == 413


async def test_a_body_just_under_the_cap_is_read(api: Api) -> None:
    body = b'{"data": []}' + b" " * (MAX_BODY_BYTES - 12)
    response = await api.call(ACCOUNT, body=body)
    assert response.status_code == 200, response.text


async def test_a_large_body_is_refused_without_reading_on(emu: Emulator) -> None:
    """A client that keeps sending: the answer comes once the cap is passed, the rest unread."""
    received = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b" " * (1024 * 1024), "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": ACCOUNT, "raw_path": ACCOUNT.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"emulator")], "client": ("198.51.100.7", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await emu.app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert received == MAX_BODY_BYTES // (1024 * 1024) + 1

    # With a Content-Length over the cap, nothing of the body is read at all.
    received = 0
    sent.clear()
    scope["headers"] = [(b"host", b"emulator"), (b"content-length", b"%d" % (MAX_BODY_BYTES + 1))]
    await emu.app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert received == 0


async def test_more_items_than_the_cap_is_413(api: Api) -> None:
    response = await api.call(
        GROUPS, body=json.dumps({"data": [{}] * (MAX_REQUEST_ITEMS + 1)}).encode()
    )
    assert code_of(response) == "413 err_request_too_large"
    assert f"{MAX_REQUEST_ITEMS + 1} items" in response.json()["fail"][0]["errors"][0]["message"]
    huge = await api.call(GROUPS, body=json.dumps({"data": [{}] * 200_000}).encode())
    assert code_of(huge) == "413 err_request_too_large"


async def test_items_up_to_the_cap_are_served(api: Api) -> None:
    response = await api.call(GROUPS, body=json.dumps({"data": [{}] * MAX_REQUEST_ITEMS}).encode())
    assert response.status_code == 200, response.text


async def test_the_journal_keeps_a_bounded_part_of_each_header(api: Api) -> None:
    from mcapi.emulator._redaction import MAX_FIELD_CHARS

    long_id, long_app = "R" * 50_000, "A" * 50_000
    response = await api.call(ACCOUNT, headers={"x-mc-req-id": long_id, "x-mc-app-id": long_app})
    assert response.status_code == 401
    entry = api.emu.journal.entries(limit=1)[-1]
    assert entry.request_id is not None and entry.app_id is not None
    assert entry.request_id.startswith("R" * MAX_FIELD_CHARS)
    assert entry.request_id.endswith(f"…[{50_000 - MAX_FIELD_CHARS} more characters]")
    assert len(entry.app_id) < MAX_FIELD_CHARS + 40
    login = await api.login("u" * 20_000 + "@example.com", "wrong password")
    assert login.status_code >= 400
    assert len(api.emu.journal.entries(limit=1)[-1].user or "") < MAX_FIELD_CHARS + 40
