"""API 2.0: the Bearer token auth flow (OAuth 2.0 client credentials).

Theory of operation
-------------------
:class:`TokenAuth` is an ``httpx.Auth`` whose flow fetches the access token itself, through the
client's own transport: an attempt that finds no usable token yields the token request
(``POST {base_url}/oauth/token``, form-encoded client id, secret and
``grant_type=client_credentials``) before the call. A token is usable until
:data:`RENEW_BEFORE` seconds before its ``expires_in`` runs out, on the client's clock.

Single flight: the token, its expiry and a *generation* are replaced together under a lock (a
``threading.Lock`` for the sync flow, an ``asyncio.Lock`` for the async one). A caller that takes
the lock first checks whether another caller renewed the token meanwhile; so 16 concurrent calls
meeting an expired token make one token request.

An attempt answered 401 saying the token is invalid or expired (body code ``err_invalid_token``,
``WWW-Authenticate: Bearer error="invalid_token"``, or a 401 whose body names no other code) gets
a new token (unless another caller got one since) and is sent once more. The token endpoint's own
refusals are never repeated: a wrong secret (401 ``invalid_client``) is remembered for that
generation, and every caller raises the same error without sending the secret again. Every other
behaviour (429 pacing, retries, partial results) is the shells' and the core's, as for API 1.0.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from mcapi._codes import first_error
from mcapi._constants import TOKEN_PATH, TOKEN_TTL_SECONDS
from mcapi._errors import RemoteProtocolError, api_error
from mcapi._signing import new_request_id
from mcapi.client._credentials import OAuthCredentials

__all__ = ["RENEW_BEFORE", "TOKEN_PATH", "TokenAuth", "decode_json", "says_invalid_token"]

#: Seconds before expiry at which a token is renewed rather than used.
RENEW_BEFORE = 60.0
_INVALID_TOKEN = "err_invalid_token"
#: (token, expires at, generation)
_Token = tuple[str, float, int]


def decode_json(response: httpx.Response) -> Any:
    """The decoded JSON body (read), or ``None`` when it is not JSON."""
    try:
        return json.loads(response.content) if response.content else None
    except ValueError:
        return None


def says_invalid_token(response: httpx.Response) -> bool:
    """Whether a 401 (body read) says the Bearer token is invalid or expired, and not something
    else: a new token may help."""
    if response.status_code != 401:
        return False
    if "invalid_token" in response.headers.get("www-authenticate", ""):
        return True
    code, _ = first_error(decode_json(response))
    return code is None or code == _INVALID_TOKEN


class TokenAuth(httpx.Auth):
    """Sets ``Authorization: Bearer <token>`` on each attempt, fetching the token when needed
    (the body is not signed: the flow never reads it)."""

    def __init__(self, credentials: OAuthCredentials, clock: Callable[[], float]) -> None:
        self.credentials = credentials
        self.clock = clock
        self._token: _Token | None = None
        self._generation = 0
        #: ``(generation, error)`` of a token request refused for good (wrong secret...).
        self._failure: tuple[int, BaseException] | None = None
        self._lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"TokenAuth(client_id={self.credentials.client_id!r})"

    @property
    def generation(self) -> int:
        """How many tokens this flow has obtained."""
        return self._generation

    # ---- decisions (no I/O) ---------------------------------------------------------------------

    def _usable(self, after: int = -1) -> _Token | None:
        """The current token if it is still good and newer than generation ``after``."""
        token = self._token
        if token is None or token[2] <= after or self.clock() >= token[1] - RENEW_BEFORE:
            return None
        return token

    def _token_request(self) -> httpx.Request:
        if self._failure is not None and self._failure[0] == self._generation:
            raise self._failure[1]
        form = {
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "grant_type": "client_credentials",
        }
        return httpx.Request(
            "POST", self.credentials.base_url + TOKEN_PATH, data=form,
            headers={"Accept": "application/json"},
        )  # fmt: skip

    def _accept(self, response: httpx.Response, requested_at: float) -> _Token:
        """Install the token of a token answer (body read), or raise its error."""
        body: Any = decode_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code == 200 and isinstance(token, str) and token:
            expires_in = body.get("expires_in")
            if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
                expires_in = TOKEN_TTL_SECONDS  # the platform's documented lifetime
            self._generation += 1
            self._token = (token, requested_at + float(expires_in), self._generation)
            return self._token
        if response.status_code == 200:
            raise RemoteProtocolError(
                "the token endpoint answered 200 without an access_token", endpoint=TOKEN_PATH
            )
        code, message = first_error(body)
        if code is None and isinstance(body, dict) and isinstance(body.get("error"), str):
            code = f"err_{body['error']}"
            message = body.get("error_description") or message
        error = api_error(
            response.status_code,
            body_codes=(code,) if code else (),
            messages=(message,) if isinstance(message, str) else (),
            endpoint=TOKEN_PATH,
            headers=dict(response.headers),
            detail="The client id or secret was refused; the client does not send them again."
            if response.status_code in (400, 401)
            else None,
        )
        if response.status_code in (400, 401):
            self._failure = (self._generation, error)
        raise error

    def _apply(self, request: httpx.Request, token: _Token) -> None:
        request.headers["Authorization"] = f"Bearer {token[0]}"
        request.headers["x-mc-req-id"] = new_request_id()  # the journal's and the log's handle

    def fetch(self, http: httpx.Client) -> None:
        """Get a token now through ``http``, raising the token endpoint's refusal (``mcapi
        login`` checks a client id and secret this way)."""
        asked = self.clock()
        answer = http.send(self._token_request())
        self._accept(answer, asked)

    # ---- the flows ------------------------------------------------------------------------------

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._usable()
        if token is None:
            with self._lock:
                token = self._usable()
                if token is None:
                    asked = self.clock()
                    answer = yield self._token_request()
                    answer.read()
                    token = self._accept(answer, asked)
        self._apply(request, token)
        response = yield request
        if response.status_code != 401:
            return
        response.read()
        if not says_invalid_token(response):
            return
        with self._lock:
            renewed = self._usable(after=token[2])
            if renewed is None:
                asked = self.clock()
                answer = yield self._token_request()
                answer.read()
                renewed = self._accept(answer, asked)
        self._apply(request, renewed)
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        token = self._usable()
        if token is None:
            async with self._async_lock:
                token = self._usable()
                if token is None:
                    asked = self.clock()
                    answer = yield self._token_request()
                    await answer.aread()
                    token = self._accept(answer, asked)
        self._apply(request, token)
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        if not says_invalid_token(response):
            return
        async with self._async_lock:
            renewed = self._usable(after=token[2])
            if renewed is None:
                asked = self.clock()
                answer = yield self._token_request()
                await answer.aread()
                renewed = self._accept(answer, asked)
        self._apply(request, renewed)
        yield request
