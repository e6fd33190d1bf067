"""A served emulator with a generated tenant, and calls signed the way integrations sign them
(raw httpx: the exact body bytes, the four headers), for the fidelity tests of SIEM files,
filters and audit events. Helpers only: each test module defines its own fixtures from these."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import httpx

from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._data import generate
from mcapi.testing import serve

#: 2025-10-09T08:53:20Z, the instant the emulator clock is frozen at.
T0 = 1_760_000_000.0


def served_tenant(users: int = 100, days: int = 1) -> tuple[Emulator, EmulatorCredentials]:
    """An in-memory emulator at T0 with the demo account, ``days`` of a ``users``-people tenant
    and a quota large enough for walking every SIEM file."""
    emu = Emulator("sqlite://", kdf_n=2**10)
    emu.clock.set(T0)
    creds = emu.load_demo()
    account = emu.store.find_account(creds.account_code)
    assert account is not None
    emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    generate(emu.store, account.id, seed=11, users=users, days=days, now=T0)
    return emu, creds


def headers(creds: EmulatorCredentials, path: str, now: float) -> dict[str, str]:
    """The signing headers as integrations build them: an RFC 1123 date, a uuid4 request id,
    HMAC-SHA1 over ``date:req-id:path:app-key`` with the base64-decoded secret."""
    date = formatdate(now, usegmt=True)
    request_id = str(uuid.uuid4())
    message = f"{date}:{request_id}:{path}:{creds.app_key}".encode()
    digest = hmac.new(base64.b64decode(creds.secret_key), message, hashlib.sha1).digest()
    return {
        "Authorization": f"MC {creds.access_key}:{base64.b64encode(digest).decode()}",
        "x-mc-app-id": creds.app_id,
        "x-mc-date": date,
        "x-mc-req-id": request_id,
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def post(
    http: httpx.Client, emu: Emulator, creds: EmulatorCredentials, path: str, body: bytes
) -> httpx.Response:
    """POST ``body`` (bytes as given) to ``path``, signed with the wall clock as integrations
    sign (the emulator's clock stays at T0 for the data)."""
    return http.post(path, content=body, headers=headers(creds, path, time.time()))


@contextlib.contextmanager
def served(emu: Emulator) -> Iterator[httpx.Client]:
    """The emulator served on a loopback port, and an httpx client of it."""
    with serve(emu) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


def data(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()
