"""A served emulator as an unmodified integration meets it, and the requests such integrations send.

Nothing here uses mcapi's signer or client: the requests are built by hand from the platform's
documentation (docs/emulator.md, "What the emulator accepts"), signed with the wall clock, as the
vendor's samples and the public integrations do, so that these tests check the emulator against
the facts and not against mcapi's own reading of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorConfig, EmulatorCredentials
from mcapi.testing import serve

#: The binding lifetime the demo account gives logins (the platform's default profile TTL).
THREE_DAYS = 3 * 86400


def wall_date() -> str:
    """x-mc-date as the vendor's Python sample writes it, from the machine's clock."""
    return time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime()) + " UTC"


def signed(path: str, keys: Keys, *, date: str | None = None) -> dict[str, str]:
    """The four headers of a signed call: HMAC-SHA1 of ``date:req-id:path:appKey`` keyed by the
    base64-decoded secret key (the platform's authorization guide)."""
    date = date or wall_date()
    request_id = str(uuid.uuid4())
    data = f"{date}:{request_id}:{path}:{keys.app_key}".encode()
    digest = hmac.new(base64.b64decode(keys.secret_key), data, hashlib.sha1).digest()
    return {
        "Authorization": f"MC {keys.access_key}:{base64.b64encode(digest).decode()}",
        "x-mc-app-id": keys.app_id,
        "x-mc-date": date,
        "x-mc-req-id": request_id,
    }


def basic(scheme: str, email: str, password: str) -> str:
    """``Authorization`` of login: ``Basic-Cloud`` or ``Basic-AD`` and base64(user:password)."""
    return f"{scheme} {base64.b64encode(f'{email}:{password}'.encode()).decode()}"


@dataclass(frozen=True)
class Keys:
    app_id: str
    app_key: str
    access_key: str
    secret_key: str


@dataclass
class Site:
    """The served emulator and what an integration is configured with."""

    url: str
    emulator: Emulator
    creds: EmulatorCredentials
    http: httpx.Client

    @property
    def admin_keys(self) -> Keys:
        c = self.creds
        return Keys(c.app_id, c.app_key, c.access_key, c.secret_key)

    @property
    def password(self) -> str:
        assert self.creds.admin_password is not None
        return self.creds.admin_password

    def post(self, path: str, content: bytes | str, headers: dict[str, str]) -> httpx.Response:
        """POST the exact bytes, with the exact headers (no Content-Type unless given)."""
        body = content.encode() if isinstance(content, str) else content
        return self.http.post(self.url + path, content=body, headers=headers)

    def call(self, path: str, content: bytes | str, keys: Keys | None = None) -> httpx.Response:
        return self.post(path, content, signed(path, keys or self.admin_keys))

    def login(self, body: str | None = None, **extra: str) -> httpx.Response:
        """Login as the SOAR connectors do: x-mc-app-id and Basic-Cloud, no date, no request id."""
        email = self.creds.admin_email
        headers = {
            "x-mc-app-id": self.creds.app_id,
            "Authorization": basic("Basic-Cloud", email, self.password),
            **extra,
        }
        return self.post("/api/login/login", body or str({"data": [{"userName": email}]}), headers)

    def login_keys(self, **extra: str) -> Keys:
        response = self.login(**extra)
        assert response.status_code == 200, response.text
        item = response.json()["data"][0]
        return Keys(self.creds.app_id, self.creds.app_key, item["accessKey"], item["secretKey"])

    def admin(self, method: str, route: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.emulator.admin_token}"}
        return self.http.request(
            method, f"{self.url}/_emulator/{route}", json=body, headers=headers
        )


def served(config: EmulatorConfig | None = None) -> Iterator[Site]:
    emulator = Emulator("sqlite://", kdf_n=2**10, config=config)
    creds = emulator.load_demo()
    try:
        with serve(emulator) as url, httpx.Client(timeout=30) as http:
            yield Site(url, emulator, creds, http)
    finally:
        emulator.close()


@pytest.fixture
def site() -> Iterator[Site]:
    """A served emulator with the default settings, as ``mcapi emulator serve`` runs one."""
    yield from served()


@pytest.fixture(scope="module")
def shared_site() -> Iterator[Site]:
    """One served emulator with generated data for the tests that only read (cheaper)."""
    for site in served():
        account = site.creds.account_code
        site.emulator.admin.generate(account, seed=3, users=4, days=1, messages_per_user_day=4)
        yield site


def code_of(response: httpx.Response) -> str:
    """``"<status> <sub code or body code>"`` of an error answer."""
    body = response.json()
    errors = body["fail"][0]["errors"] if body.get("fail") else []
    message = errors[0]["message"] if errors else ""
    head = message.split(" ", 1)[0]
    if head.isdigit() and len(head) == 4:
        return f"{response.status_code} {head}"
    return f"{response.status_code} {errors[0]['code'] if errors else ''}"
