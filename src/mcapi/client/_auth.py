"""Signing every attempt, and the login, discovery and refresh messages.

Theory of operation
-------------------
:class:`SigningAuth` is an ``httpx.Auth`` generator flow. httpx runs it once per ``send``, and the
client sends once per attempt, so every attempt - retries, and the retry after a refresh - gets a
fresh ``x-mc-date`` (from the injected clock), a fresh ``x-mc-req-id`` (the platform refuses a
replayed one) and a signature made with the binding current at that instant. Nothing signed is
ever re-sent.

The binding itself lives in a :class:`CredentialsInUse`: the credentials and a *generation*
number, swapped together as one tuple (atomic for readers), the generation increased on every
renewal. The flow
stamps the generation it signed with on the request (``request.extensions``); when an attempt
fails with 418, the shell compares that number with the current one: if another call has renewed
the binding meanwhile, it simply retries with the new keys instead of renewing again.

Login and discovery are not signed: :class:`UnsignedAuth` sets the three ``x-mc-*`` headers and,
for login, ``Authorization: Basic-Cloud|Basic-AD base64(user:password)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator
from typing import Any

import httpx

from mcapi._codes import Action
from mcapi._errors import ApiError, LocalProtocolError, RemoteProtocolError
from mcapi._signing import (
    build_login_header,
    decode_secret_key,
    format_date,
    new_request_id,
    sign,
)
from mcapi.client._credentials import Credentials
from mcapi.client._result import Result

__all__ = [
    "DEFAULT_DISCOVERY_URL",
    "GENERATION",
    "CredentialsInUse",
    "SigningAuth",
    "UnsignedAuth",
    "discover_body",
    "login_body",
    "parse_discovery",
    "parse_login",
]

DEFAULT_DISCOVERY_URL = "https://api.mimecast.com"
#: ``request.extensions`` key of the binding generation an attempt was signed with.
GENERATION = "mcapi.binding_generation"
#: A renewal that failed with one of these will fail again: it is remembered, not repeated.
_FINAL_ACTIONS = frozenset({Action.STOP, Action.FORBIDDEN, Action.CALLER, Action.RELOGIN})


class CredentialsInUse:
    """The credentials in use and their generation, replaced together (thread-safe)."""

    def __init__(self, credentials: Credentials) -> None:
        self._state: tuple[Credentials, int, bytes] = (
            credentials,
            0,
            decode_secret_key(credentials.secret_key),
        )
        #: Serialises renewals of this binding across threads (the async client adds its own).
        self.lock = threading.Lock()
        #: ``(generation, error)`` of the last renewal that failed, so callers waiting for it
        #: raise the same error instead of sending the same wrong password again.
        self.failure: tuple[int, BaseException] | None = None

    @property
    def credentials(self) -> Credentials:
        return self._state[0]

    @property
    def generation(self) -> int:
        return self._state[1]

    def snapshot(self) -> tuple[Credentials, int, bytes]:
        """Credentials, generation and decoded secret key, all of one generation."""
        return self._state

    def replace(self, credentials: Credentials) -> int:
        """Install renewed credentials; returns the new generation."""
        key = decode_secret_key(credentials.secret_key)
        generation = self._state[1] + 1
        self._state = (credentials, generation, key)
        self.failure = None
        return generation

    def plan_renewal(
        self, used_generation: int, refresh: bool
    ) -> tuple[tuple[str, str, str], str | None] | None:
        """Called under the renewal lock by a caller whose attempt (signed with
        ``used_generation``) asked for a refresh or a new login.

        Returns ``None`` when another caller renewed the binding meanwhile (just send again);
        raises the error of a renewal that failed for good for this generation (so the same
        wrong password is never sent twice); else returns the login to send: ``((auth_type,
        email, password), access key to refresh or None)``.
        """
        if self.generation != used_generation:
            return None
        if self.failure is not None and self.failure[0] == used_generation:
            raise self.failure[1]
        credentials = self.credentials
        if not credentials.email or not credentials.password:
            raise LocalProtocolError("cannot renew the binding: this client holds no password")
        login = (credentials.auth_type, credentials.email, credentials.password)
        return login, credentials.access_key if refresh else None

    def renewal_failed(self, generation: int, error: BaseException) -> None:
        """Remember a renewal that failed on the credentials themselves (wrong password, locked
        or disabled user...), not on a passing fault: callers waiting for it raise it too."""
        if (
            isinstance(error, ApiError)
            and error.entry is not None
            and error.entry.action in _FINAL_ACTIONS
        ):
            self.failure = (generation, error)


class SigningAuth(httpx.Auth):
    """Signs each attempt afresh with the binding current when it is sent."""

    requires_request_body = True

    def __init__(self, binding: CredentialsInUse, clock: Callable[[], float]) -> None:
        self.binding = binding
        self.clock = clock
        self._date: tuple[int, str] = (-1, "")  # x-mc-date has whole seconds: format once each

    def _x_mc_date(self) -> str:
        second = int(self.clock())
        cached = self._date
        if cached[0] != second:
            cached = self._date = (second, format_date(second))
        return cached[1]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        credentials, generation, key = self.binding.snapshot()
        date = self._x_mc_date()
        request_id = new_request_id()
        signature = sign(key, date, request_id, request.url.path, credentials.app_key)
        headers = request.headers
        headers["x-mc-date"] = date
        headers["x-mc-req-id"] = request_id
        headers["x-mc-app-id"] = credentials.app_id
        headers["Authorization"] = f"MC {credentials.access_key}:{signature}"
        request.extensions[GENERATION] = generation
        yield request


class UnsignedAuth(httpx.Auth):
    """The ``x-mc-*`` headers of login and discovery, with the login header when given."""

    requires_request_body = True

    def __init__(
        self,
        app_id: str,
        clock: Callable[[], float],
        *,
        login: tuple[str, str, str] | None = None,
    ) -> None:
        self.app_id = app_id
        self.clock = clock
        # (auth_type, user, password): the header is built per attempt, never stored.
        self._login = login

    def __repr__(self) -> str:
        return f"UnsignedAuth(app_id={self.app_id!r}, login={self._login is not None})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-mc-date"] = format_date(self.clock())
        request.headers["x-mc-req-id"] = new_request_id()
        request.headers["x-mc-app-id"] = self.app_id
        if self._login is not None:
            request.headers["Authorization"] = build_login_header(*self._login)
        yield request


def discover_body(email: str) -> dict[str, Any]:
    """The body of ``/api/login/discover-authentication``."""
    return {"data": [{"emailAddress": email}]}


def login_body(email: str, access_key: str | None = None) -> dict[str, Any]:
    """The body of ``/api/login/login``; with ``access_key`` it refreshes that binding."""
    item: dict[str, Any] = {"userName": email}
    if access_key is not None:
        item["accessKey"] = access_key
    return {"data": [item]}


def _first_item(result: Result, what: str) -> dict[str, Any]:
    result.raise_for_failures()
    item = result.data[0] if result.data else None
    if not isinstance(item, dict):
        raise RemoteProtocolError(
            f"{what} answered without a data item", endpoint=result.path,
            request_id=result.request_id, attempts=result.attempts,
        )  # fmt: skip
    return item


def parse_discovery(result: Result) -> str:
    """The region's base URL from a discovery answer (``data[0].region.api``)."""
    item = _first_item(result, "discovery")
    region = item.get("region")
    api = region.get("api") if isinstance(region, dict) else None
    if not isinstance(api, str) or not api.strip():
        raise RemoteProtocolError(
            "discovery answered without data[0].region.api", endpoint=result.path,
            request_id=result.request_id, attempts=result.attempts,
        )  # fmt: skip
    api = api.strip().rstrip("/")
    return api if "://" in api else f"https://{api}"


def parse_login(result: Result, now: float) -> tuple[str, str, float | None]:
    """``(access_key, secret_key, expires_at)`` from a login (or refresh) answer.

    ``duration`` is the binding's TTL in milliseconds; ``now`` and ``expires_at`` are epoch seconds.
    """
    item = _first_item(result, "login")
    access_key = item.get("accessKey")
    secret_key = item.get("secretKey")
    if not isinstance(access_key, str) or not isinstance(secret_key, str):
        raise RemoteProtocolError(
            "login answered without accessKey and secretKey", endpoint=result.path,
            request_id=result.request_id, attempts=result.attempts,
        )  # fmt: skip
    duration = item.get("duration")
    expires = None
    if isinstance(duration, int | float) and not isinstance(duration, bool) and duration > 0:
        expires = now + duration / 1000.0
    return access_key, secret_key, expires
