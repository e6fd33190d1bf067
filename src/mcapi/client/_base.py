"""What ``Client`` and ``AsyncClient`` share besides the core: set-up, answers, reporting.

Theory of operation
-------------------
The two clients differ only where they wait (``time.sleep`` or ``await``) and where they lock.
Everything else they need - reading an ``httpx.Response`` into an :class:`~._core.Exchange`,
telling a failure to connect (never sent, safe to repeat) from a reset after sending (maybe
applied), logging an attempt without a single secret, calling the event hook - lives here, once.

Two clocks are kept apart: ``wall`` (epoch seconds) dates each attempt's ``x-mc-date`` and a
binding's expiry, ``now`` (monotonic) times deadlines and pacing. An injected ``clock`` serves as
both, so a test can drive the client and the emulator with one clock.
"""

from __future__ import annotations

import json
import logging
import random as _random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from mcapi._envelope import render_request
from mcapi._errors import LocalProtocolError, MimecastError, RemoteProtocolError
from mcapi.client._auth import GENERATION, CredentialsInUse, SigningAuth
from mcapi.client._bounded import UNTIL
from mcapi.client._core import CallState, Core, Exchange, Outcome, Step, TransportFailure
from mcapi.client._credentials import AnyCredentials, OAuthCredentials
from mcapi.client._limiter import Pacer
from mcapi.client._oauth import TokenAuth, decode_json
from mcapi.client._result import AttemptEvent
from mcapi.client._retry import RetryBudget, RetryPolicy

__all__ = ["EventHook", "ShellBase", "classify_transport_error", "decode_json", "encode_body"]

log = logging.getLogger("mcapi.client")

EventHook = Callable[[AttemptEvent], None]

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_EMPTY_BODY = b'{"data":[]}'

#: httpx exception -> (kind, may the request have reached the server?). First match wins.
_TRANSPORT_KINDS: tuple[tuple[type[Exception], str, bool], ...] = (
    (httpx.ConnectTimeout, "connect", False),
    (httpx.ConnectError, "connect", False),
    (httpx.PoolTimeout, "connect", False),
    (httpx.TimeoutException, "timeout", True),
    (httpx.RemoteProtocolError, "reset", True),
    (httpx.NetworkError, "reset", True),
)

_LEVELS: Mapping[Outcome, int] = {
    Outcome.OK: logging.DEBUG,
    Outcome.PARTIAL: logging.DEBUG,
    Outcome.FILE: logging.DEBUG,
    Outcome.RETRY: logging.INFO,
    Outcome.WAIT: logging.INFO,
    Outcome.REFRESH: logging.INFO,
    Outcome.RELOGIN: logging.INFO,
    Outcome.RAISE: logging.INFO,
}


def classify_transport_error(exc: httpx.TransportError) -> tuple[str, bool]:
    """``(kind, sent)`` of an httpx transport failure."""
    if isinstance(exc, httpx.UnsupportedProtocol):
        raise LocalProtocolError(f"the base URL cannot be used: {exc}") from exc
    for klass, kind, sent in _TRANSPORT_KINDS:
        if isinstance(exc, klass):
            return kind, sent
    return "protocol", True


def encode_body(
    data: Sequence[Mapping[str, Any]], page_size: int | None, page_token: str | None
) -> bytes:
    """The request body as sent (encoded once per call, not per attempt)."""
    if not data and page_size is None and page_token is None:
        return _EMPTY_BODY
    body = render_request(data, page_size=page_size, page_token=page_token)
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def is_file(response: httpx.Response) -> bool:
    """A successful answer that is a file, not the JSON envelope (an answer without a content
    type, such as an empty body from a proxy, is a broken envelope, not a file)."""
    kind = response.headers.get("content-type")
    return 200 <= response.status_code < 300 and bool(kind) and "json" not in kind.lower()


def file_in_call(path: str, response: httpx.Response | None) -> MimecastError:
    """The error of ``call()`` meeting a 2xx answer that is not the JSON envelope. An HTML page
    is not a file any function returns to ``call()``: a proxy or portal answered in the
    platform's place, so it is the server's protocol error, not the caller's."""
    kind = response.headers.get("content-type", "") if response is not None else ""
    if "html" in kind.lower():
        status = response.status_code if response is not None else 200
        return RemoteProtocolError(
            f"{path} answered HTTP {status} {kind}, not the JSON envelope "
            "(a proxy or captive portal in front of the platform?)",
            content_type=kind,
            status=status,
            endpoint=path,
        )
    return LocalProtocolError(
        f"{path} answered with a file ({kind or 'no content type'}); "
        "use call_stream() or download()",
        endpoint=path,
    )


class ShellBase:
    """Set-up and reporting shared by the sync and async clients."""

    _binding: CredentialsInUse | None
    _auth: SigningAuth | TokenAuth | None
    #: API 2.0 credentials, when the client calls with a Bearer token instead of a binding
    _oauth: OAuthCredentials | None
    #: Total seconds one attempt's answer may take (the client's ``timeout``).
    _attempt_seconds: float

    def _init_shell(
        self,
        *,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        random: _random.Random | None = None,
        clock: Callable[[], float] | None = None,
        event_hook: EventHook | None = None,
        pacing: bool = True,
        pacing_reserve: int = 0,
    ) -> None:
        self._core = Core(policy=retry, budget=retry_budget, rng=random)
        self._pacer = Pacer(reserve=pacing_reserve, enabled=pacing)
        self._wall: Callable[[], float] = clock or time.time
        self._now: Callable[[], float] = clock or time.monotonic
        self._event_hook = event_hook
        self._binding = None
        self._auth = None
        self._oauth = None

    def _install(self, credentials: AnyCredentials) -> None:
        if isinstance(credentials, OAuthCredentials):
            self._oauth = credentials
            self._auth = TokenAuth(credentials, self._wall)
            return
        self._binding = CredentialsInUse(credentials)
        self._auth = SigningAuth(self._binding, self._wall)

    # ---- public, read-only views ----------------------------------------------------------------

    @property
    def credentials(self) -> AnyCredentials:
        """The credentials in use now (after any refresh). Their ``repr`` hides the secrets."""
        if self._oauth is not None:
            return self._oauth
        return self._bound().credentials

    @property
    def retry_policy(self) -> RetryPolicy:
        """The default retry policy of this client's calls."""
        return self._core.policy

    @property
    def retry_budget(self) -> RetryBudget:
        """The retry budget shared by this client's calls."""
        return self._core.budget

    @property
    def pacer(self) -> Pacer:
        """The quota pacer shared by this client's calls."""
        return self._pacer

    def _bound(self) -> CredentialsInUse:
        if self._binding is None:
            if self._oauth is not None:
                raise LocalProtocolError(
                    "this client calls API 2.0 with a Bearer token: it has no binding to "
                    "refresh (the token renews by itself)"
                )
            raise LocalProtocolError("this client has no binding yet (log in first)")
        return self._binding

    # ---- per call -------------------------------------------------------------------------------

    def _begin(
        self,
        path: str,
        data: Sequence[Mapping[str, Any]],
        read_only: bool | None,
        retry: RetryPolicy | None,
        *,
        renewable: bool = True,
        can_renew: bool | None = None,
    ) -> CallState:
        if not path.startswith("/"):
            raise LocalProtocolError(
                f"a function path starts with /, e.g. /api/account/get-account: {path!r}"
            )
        if isinstance(data, Mapping):
            raise LocalProtocolError("data is a list of items, e.g. [{...}], not one item")
        if can_renew is None:
            can_renew = self._binding is not None and self._binding.credentials.can_renew
        return self._core.begin(
            path,
            tuple(data),
            now=self._now(),
            read_only=read_only,
            policy=retry,
            can_renew=can_renew,
            renewable=renewable,
        )

    def _url(self, path: str, base_url: str | None = None) -> str:
        if base_url is None and self._oauth is not None:
            base_url = self._oauth.base_url
        return (base_url or self._bound().credentials.base_url) + path

    @staticmethod
    def _request(
        client: httpx.Client | httpx.AsyncClient, url: str, content: bytes
    ) -> httpx.Request:
        return client.build_request("POST", url, content=content, headers=_JSON_HEADERS)

    def _stamp(self, state: CallState, request: httpx.Request, *, stream: bool) -> None:
        """Bound the attempt's answer by the client's timeout, or the call's deadline if sooner
        (see ``_bounded``); a stream handed to the caller is left unbounded."""
        if stream:
            return
        left = max(0.0, state.started + state.policy.deadline - self._now())
        request.extensions[UNTIL] = time.monotonic() + min(self._attempt_seconds, left)

    def _exchange(self, response: httpx.Response, body: Any, file: bool) -> Exchange:
        """What the core needs of an answer; the headers are read once, into a plain dict
        (httpx's case-blind look-ups cost more than everything else the client does)."""
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers.raw
        }
        return Exchange(
            status=response.status_code,
            headers=headers,
            body=body,
            request_id=response.request.headers.get("x-mc-req-id"),
            is_file=file,
        )

    def _no_answer(
        self, state: CallState, request: httpx.Request, exc: httpx.TransportError
    ) -> Step:
        kind, sent = classify_transport_error(exc)
        failure = TransportFailure(
            kind=kind,
            sent=sent,
            message=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
            request_id=request.headers.get("x-mc-req-id"),
        )
        return self._core.on_transport_error(state, failure, self._now())

    def _settle(self, state: CallState, exchange: Exchange | None) -> None:
        """Tell the pacer an admitted attempt is over (``None``: no answer came)."""
        if exchange is None:
            self._pacer.done(state.path, self._now(), None, answered=False)
            return
        self._pacer.done(
            state.path,
            self._now(),
            exchange.rate_limit,
            quota_exceeded=exchange.status == 429,
        )

    def _report(self, state: CallState, step: Step) -> None:
        level = _LEVELS[step.outcome]
        if log.isEnabledFor(level):
            log.log(
                level,
                "%s attempt %d: %s (%s) status=%s sub_code=%s delay=%.3fs x-mc-req-id=%s",
                state.path, state.attempts, step.outcome.value, step.reason, step.status,
                step.sub_code, step.delay, step.request_id,
            )  # fmt: skip
        if self._event_hook is not None:
            self._event_hook(self._core.event(state, step))

    @staticmethod
    def _generation(request: httpx.Request) -> int:
        value = request.extensions.get(GENERATION)
        return value if isinstance(value, int) else -1
