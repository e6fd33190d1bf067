"""``Client``: the synchronous Mimecast API 1.0 client, a thin shell over the core.

Theory of operation
-------------------
Each call runs one loop: ask the pacer for a slot, send an attempt (signed by the auth flow),
give what came back to :class:`~._core.Core`, obey its :class:`~._core.Step`: return, raise,
sleep and send again, or renew the binding and send again. ``AsyncClient`` runs the same loop with
``await``; a behaviour test runs every scenario against both.

Renewal is single flight: the binding's lock admits one renewing thread; the others wait on it,
then see that the binding's generation moved past the one their failed attempt was signed with
and simply send again. A renewal that failed (wrong password, locked account) is remembered for
that generation, so waiting threads raise the same error instead of sending the password again.
"""

from __future__ import annotations

import os
import random as _random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from mcapi._codes import Action
from mcapi._constants import DEFAULT_OAUTH_BASE_URL, DISCOVER_PATH, LOGIN_PATH
from mcapi._errors import ApiError, MimecastError
from mcapi.client._auth import (
    DEFAULT_DISCOVERY_URL,
    UnsignedAuth,
    discover_body,
    login_body,
    parse_discovery,
    parse_login,
)
from mcapi.client._base import EventHook, ShellBase, decode_json, encode_body, file_in_call, is_file
from mcapi.client._bounded import attempt_seconds, bound_sync
from mcapi.client._core import CallState, Outcome, Step
from mcapi.client._credentials import (
    AnyCredentials,
    Credentials,
    OAuthCredentials,
    credentials_from_env,
    load_profile,
)
from mcapi.client._http import HttpClient
from mcapi.client._paginate import iter_items, iter_pages
from mcapi.client._result import Result
from mcapi.client._retry import RetryBudget, RetryPolicy
from mcapi.client._stream import Downloaded, FileStream, Target, downloaded

__all__ = ["Client"]

_RETURN = (Outcome.OK, Outcome.PARTIAL, Outcome.FILE)
Items = Sequence[Mapping[str, Any]]


class Client(ShellBase):
    """A synchronous client: signs every attempt, classifies every answer, recovers where safe.

    Build it from credentials (``Client(base_url=..., app_id=..., app_key=..., access_key=...,
    secret_key=...)`` or ``Client(Credentials(...))``), from the environment
    (:meth:`from_env`), from a profile (:meth:`from_profile`), or by logging in (:meth:`login`).
    Give ``email`` and ``password`` too and it refreshes an expired binding and logs in again
    after a revoked one by itself.
    For API 2.0 give ``client_id`` and ``client_secret`` (and ``base_url``, default the global
    gateway) or ``Client(OAuthCredentials(...))``: it gets a Bearer token by itself, renews it
    before it expires and once after a 401 saying it is invalid; everything else is the same.

    Options: ``transport`` (an ``httpx.BaseTransport``), ``timeout`` (seconds or
    ``httpx.Timeout``), ``retry`` (the default :class:`RetryPolicy`), ``retry_budget``,
    ``random`` (a seeded ``random.Random`` for jitter), ``clock`` (epoch seconds, for
    ``x-mc-date`` and timing) and ``sleep`` (for tests), ``event_hook`` (called with an
    :class:`AttemptEvent` per attempt), ``pacing`` and ``pacing_reserve`` (see :class:`Pacer`).
    Thread-safe: share one client between threads, so they share one quota and one refresh.
    """

    def __init__(
        self,
        credentials: AnyCredentials | None = None,
        *,
        base_url: str | None = None,
        app_id: str | None = None,
        app_key: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        email: str | None = None,
        password: str | None = None,
        auth_type: str = "cloud",
        client_id: str | None = None,
        client_secret: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = None,
        random: _random.Random | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        event_hook: EventHook | None = None,
        pacing: bool = True,
        pacing_reserve: int = 0,
    ) -> None:
        if credentials is None and (client_id or client_secret):
            credentials = OAuthCredentials(
                client_id or "", client_secret or "", base_url or DEFAULT_OAUTH_BASE_URL
            )
        if credentials is None:
            credentials = Credentials(
                base_url or "", app_id or "", app_key or "", access_key or "", secret_key or "",
                email=email, password=password, auth_type=auth_type,
            )  # fmt: skip
        self._open(
            transport=transport, timeout=timeout, sleep=sleep, retry=retry,
            retry_budget=retry_budget, random=random, clock=clock, event_hook=event_hook,
            pacing=pacing, pacing_reserve=pacing_reserve,
        )  # fmt: skip
        self._install(credentials)

    def _open(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = 30.0,
        sleep: Callable[[float], None] | None = None,
        **options: Any,
    ) -> None:
        self._init_shell(**options)
        self._sleep = sleep or time.sleep
        self._attempt_seconds = attempt_seconds(timeout)
        self._http = HttpClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            event_hooks={"response": [bound_sync]},
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> Client:
        """A client from the ``MCAPI_*`` environment variables: API 2.0 when
        ``MCAPI_CLIENT_ID`` and ``MCAPI_CLIENT_SECRET`` are set, else API 1.0 (see
        :func:`credentials_from_env`)."""
        return cls(credentials_from_env(environ), **options)

    @classmethod
    def from_profile(
        cls, name: str = "default", path: str | Path | None = None, **options: Any
    ) -> Client:
        """A client from a profile written by ``mcapi login`` (API 1.0 or 2.0)."""
        return cls(load_profile(name, path), **options)

    @classmethod
    def login(
        cls,
        email: str,
        password: str,
        *,
        app_id: str,
        app_key: str,
        auth_type: str = "cloud",
        discovery_url: str = DEFAULT_DISCOVERY_URL,
        base_url: str | None = None,
        keep_password: bool = True,
        **options: Any,
    ) -> Client:
        """Discover the user's region (unless ``base_url`` is given), log in, and return a
        client bound to the new binding. ``keep_password=False`` forgets the password (the
        client then cannot renew the binding by itself)."""
        client = cls.__new__(cls)
        client._open(**options)
        try:
            region = base_url or client._discover(email, app_id, discovery_url)
            access, secret, expires = client._login_call(
                region, app_id, (auth_type, email, password), None
            )
        except BaseException:
            client.close()
            raise
        client._install(
            Credentials(
                region,
                app_id,
                app_key,
                access,
                secret,
                email=email,
                password=password if keep_password else None,
                auth_type=auth_type,
                expires_at=expires,
            )
        )
        return client

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- calls ----------------------------------------------------------------------------------

    def call(
        self,
        path: str,
        data: Items = (),
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        read_only: bool | None = None,
        retry: RetryPolicy | None = None,
        raise_on_failure: bool = False,
    ) -> Result:
        """Call a function; returns the :class:`Result` (succeeded and failed items).

        ``read_only`` says whether the function only reads (default: the built-in table), which
        makes transient failures safe to retry. ``retry`` overrides the client's policy for this
        call. With ``raise_on_failure`` a result with failed items raises ``FunctionFailed``,
        whose ``.result`` still holds the items that succeeded.
        """
        state = self._begin(path, data, read_only, retry)
        content = encode_body(data, page_size, page_token)
        step, response = self._run(state, content, self._auth, self._url(path))
        if step.result is None:
            if response is not None:
                response.close()
            raise file_in_call(path, response)
        return step.result.raise_for_failures() if raise_on_failure else step.result

    @contextmanager
    def call_stream(
        self,
        path: str,
        data: Items = (),
        *,
        read_only: bool | None = None,
        retry: RetryPolicy | None = None,
    ) -> Iterator[FileStream]:
        """Call a function that returns a file; yields a :class:`FileStream` (a file to read
        with ``iter_bytes()``, or a JSON ``result``). Errors are handled like :meth:`call`."""
        state = self._begin(path, data, read_only, retry)
        step, response = self._run(
            state, encode_body(data, None, None), self._auth, self._url(path), stream=True
        )
        assert response is not None
        try:
            yield FileStream(path, response, attempts=state.attempts, result=step.result)
        finally:
            response.close()

    def download(
        self,
        path: str,
        data: Items,
        target: str | os.PathLike[str],
        *,
        read_only: bool | None = None,
        retry: RetryPolicy | None = None,
        overwrite: bool = False,
        progress: Callable[[int], object] | None = None,
    ) -> Downloaded:
        """Write a file answer atomically to ``target``: a directory when it ends with ``/`` or
        is one (created when missing; the file keeps the answer's name), else a file, which is
        never overwritten unless ``overwrite`` (``FileExistsError``, raised before the call).
        ``progress`` is called with the size of each chunk written. Returns what was written,
        or the JSON result when there was no file."""
        place = Target(target, overwrite=overwrite)
        with self.call_stream(path, data, read_only=read_only, retry=retry) as stream:
            if not stream.is_file:
                return downloaded(stream, None, 0)
            with place.open(stream, progress) as file:
                for chunk in stream.iter_bytes():
                    file.write(chunk)
            return downloaded(stream, file.target, file.size)

    def pages(
        self,
        path: str,
        data: Items = (),
        *,
        page_size: int | None = None,
        page_token: str | None = None,
        read_only: bool | None = None,
        retry: RetryPolicy | None = None,
    ) -> Iterator[Result]:
        """Each page's :class:`Result`, following ``meta.pagination.next``."""

        def one(token: str | None) -> Result:
            return self.call(
                path, data, page_size=page_size, page_token=token, read_only=read_only,
                retry=retry,
            )  # fmt: skip

        return iter_pages(one, page_token)

    def paginate(
        self,
        path: str,
        data: Items = (),
        *,
        page_size: int | None = None,
        read_only: bool | None = None,
        retry: RetryPolicy | None = None,
        records: bool = True,
    ) -> Iterator[Any]:
        """Every record of every page, in order: the ``data`` items, or for functions that wrap
        them (``RECORD_FIELDS``, e.g. message-finder/search's ``trackedEmails``) the items of
        the wrapper's list; ``records=False`` yields the ``data`` items as they came. A 418 or
        429 mid-way repeats the same page token, so nothing is repeated or skipped. Raises
        ``FunctionFailed`` after a page with failed items (its records are yielded first)."""
        return iter_items(
            self.pages(path, data, page_size=page_size, read_only=read_only, retry=retry),
            records,
        )

    def refresh(self) -> None:
        """Refresh the binding now (needs the password)."""
        self._renew(Outcome.REFRESH, self._bound().generation)

    # ---- the loop -------------------------------------------------------------------------------

    def _run(
        self,
        state: CallState,
        content: bytes,
        auth: httpx.Auth | None,
        url: str,
        *,
        stream: bool = False,
        pace: bool = True,
    ) -> tuple[Step, httpx.Response | None]:
        waited = 0.0  # seconds of quota wait just spent: they count against max_wait
        while True:
            if pace:
                self._pace(state, waited)
            waited = 0.0
            request = self._request(self._http, url, content)
            self._stamp(state, request, stream=stream)
            response: httpx.Response | None = None
            exchange = None
            try:
                response = self._http.send(request, auth=auth, stream=stream)
                file = is_file(response)
                if stream and not file:
                    response.read()
            except httpx.TransportError as exc:
                if response is not None:
                    response.close()
                    response = None
                step = self._no_answer(state, request, exc)
            else:
                exchange = self._exchange(response, None if file else decode_json(response), file)
                step = self._core.on_answer(state, exchange, self._now())
            finally:
                if pace:
                    self._settle(state, exchange)
            self._report(state, step)
            if step.outcome in _RETURN:
                return step, response
            if response is not None:
                response.close()
            if step.outcome is Outcome.RAISE:
                assert step.error is not None
                raise step.error
            if step.outcome in (Outcome.REFRESH, Outcome.RELOGIN):
                self._renew(step.outcome, self._generation(request))
            elif step.delay > 0:
                self._sleep(step.delay)
                waited = step.delay if step.outcome is Outcome.WAIT else 0.0

    def _pace(self, state: CallState, waited: float) -> None:
        """Wait for the pacer's go; with ``waited`` (a quota wait just spent) at most
        ``max_wait`` seconds in all, then go anyway: pacing never stretches a capped wait."""
        budget = state.policy.max_wait - waited
        while (delay := self._pacer.admit(state.path, self._now(), force=budget <= 0)) > 0:
            pause = min(delay, budget)
            self._sleep(pause)
            budget -= pause

    def _renew(self, outcome: Outcome, used_generation: int) -> None:
        binding = self._bound()
        with binding.lock:
            plan = binding.plan_renewal(used_generation, refresh=outcome is Outcome.REFRESH)
            if plan is None:
                return  # another call renewed the binding meanwhile: just send again
            login, refresh_key = plan
            credentials = binding.credentials
            base_url, app_id = credentials.base_url, credentials.app_id
            try:
                try:
                    keys = self._login_call(base_url, app_id, login, refresh_key)
                except ApiError as exc:
                    if (
                        refresh_key is None
                        or exc.entry is None
                        or exc.entry.action is not Action.RELOGIN
                    ):
                        raise
                    # 401 0008: this binding cannot be refreshed; log in afresh instead.
                    keys = self._login_call(base_url, app_id, login, None)
            except MimecastError as exc:
                binding.renewal_failed(used_generation, exc)
                raise
            binding.replace(credentials.with_binding(*keys))

    def _discover(self, email: str, app_id: str, discovery_url: str) -> str:
        body = discover_body(email)
        state = self._begin(
            DISCOVER_PATH, body["data"], True, None, renewable=False, can_renew=False
        )
        url = discovery_url.rstrip("/") + DISCOVER_PATH
        auth = UnsignedAuth(app_id, self._wall)
        step, _ = self._run(state, encode_body(body["data"], None, None), auth, url, pace=False)
        assert step.result is not None
        return parse_discovery(step.result)

    def _login_call(
        self, base_url: str, app_id: str, login: tuple[str, str, str], refresh_key: str | None
    ) -> tuple[str, str, float | None]:
        body = login_body(login[1], refresh_key)
        state = self._begin(LOGIN_PATH, body["data"], False, None, renewable=False, can_renew=False)
        auth = UnsignedAuth(app_id, self._wall, login=login)
        content = encode_body(body["data"], None, None)
        step, _ = self._run(state, content, auth, base_url.rstrip("/") + LOGIN_PATH, pace=False)
        assert step.result is not None
        return parse_login(step.result, self._wall())
