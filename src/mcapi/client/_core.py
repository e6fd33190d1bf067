"""The client's decisions, without I/O: what to do after each attempt of a call.

Theory of operation
-------------------
``Client`` and ``AsyncClient`` run the same loop: pace, send one signed attempt, hand what came
back to this module, and obey the :class:`Step` it returns. Because every decision is made here,
from plain values (status, headers, decoded body, the time passed in), the two clients cannot
behave differently, and every decision can be tested without a socket.

A response is classified through the catalogue into a :class:`~mcapi._codes.CodeEntry`, and the
entry's :class:`~mcapi._codes.Action` picks the handler from :data:`ACTION_HANDLERS`:

=========  ==================================================================================
ok (2xx)   return a :class:`Result`: ``data`` and ``fail`` items, failures paired with keys
wait       429: wait ``X-RateLimit-Reset`` ms (capped by ``max_wait``), then try again
refresh    418: refresh the binding (the shell makes it single flight), re-sign, retry once
relogin    401 0008/0012/0013: log in afresh once when a password is held, else raise
transient  5xx: back off with full jitter when repeating is safe (below), within the bounds
stop       401/403 credential answers: raise at once (retrying deepens a lockout)
forbidden  raise with the catalogue's remedy
caller     raise with the catalogue's remedy
=========  ==================================================================================

Repeating is safe when the function only reads (``read_only=True``, or a path the shipped
function table marks read-only: :func:`~mcapi.client.is_read_only`), when the platform marked the
error ``retryable: true``, or when the caller opted in (``RetryPolicy.retry_writes``). A broken
connection is judged by whether the request may have reached the server: a failure to connect is
always safe to retry, a reset or timeout after sending is not, for a function that changes state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from mcapi._codes import Action, CodeEntry, catalogue
from mcapi._envelope import Envelope, parse_response
from mcapi._errors import (
    ApiError,
    MimecastError,
    RemoteProtocolError,
    TransportError,
    api_error,
)
from mcapi.client._functions import is_read_only
from mcapi.client._result import AttemptEvent, RateLimit, Result, pair_failures
from mcapi.client._retry import RetryBudget, RetryPolicy, backoff_delay

__all__ = [
    "ACTION_HANDLERS",
    "CallState",
    "Core",
    "Exchange",
    "Outcome",
    "Step",
    "TransportFailure",
]


class Outcome(StrEnum):
    """What the shell does next."""

    OK = "ok"  # return the result (no item failed)
    PARTIAL = "partial"  # return the result (some items failed)
    FILE = "file"  # return the open file stream
    RETRY = "retry"  # sleep ``delay`` then send again
    WAIT = "wait"  # quota: sleep ``delay`` then send again
    REFRESH = "refresh"  # refresh the binding (single flight), then send again
    RELOGIN = "relogin"  # log in afresh (single flight), then send again
    RAISE = "raise"  # raise ``error``


@dataclass(frozen=True, slots=True)
class Exchange:
    """One answer as the core sees it. ``headers`` is case-insensitive or lower-case; ``body`` is
    the decoded JSON, or ``None`` when the answer is not JSON."""

    status: int
    headers: Mapping[str, str]
    body: Any
    request_id: str | None
    is_file: bool = False
    #: The ``X-RateLimit-*`` headers, read once (computed from ``headers`` when not given).
    rate_limit: RateLimit | None = None

    def __post_init__(self) -> None:
        if self.rate_limit is None:
            object.__setattr__(self, "rate_limit", RateLimit.from_headers(self.headers))


@dataclass(frozen=True, slots=True)
class TransportFailure:
    """No usable answer. ``sent`` is whether the request may have reached the server."""

    kind: str  # "connect", "timeout", "reset", "protocol", "invalid_body"
    sent: bool
    message: str
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Step:
    """The core's verdict on one attempt."""

    outcome: Outcome
    reason: str
    delay: float = 0.0
    result: Result | None = None
    error: MimecastError | None = None
    status: int | None = None
    sub_code: str | None = None
    request_id: str | None = None
    rate_limit: RateLimit | None = None


@dataclass(slots=True)
class CallState:
    """The running state of one call (one per ``call``, across its attempts)."""

    path: str
    submitted: tuple[Any, ...]
    read_only: bool
    policy: RetryPolicy
    started: float
    #: Whether the client holds a password, so it can refresh or log in again.
    can_renew: bool = False
    #: False for login calls themselves: a refresh cannot refresh itself.
    renewable: bool = True
    attempts: int = 0
    renewed: bool = False
    quota_waits: int = 0
    retries: int = 0
    budget_taken: int = 0

    def repeat_is_safe(self, *, server_says_retryable: bool = False) -> bool:
        return self.read_only or self.policy.retry_writes or server_says_retryable


Handler = Callable[["Core", CallState, Exchange, Envelope, CodeEntry, float], Step]

_NO_PASSWORD = "This client holds no password, so it cannot renew the binding."
_NO_PASSWORD_HINT = (
    "Build it with email= and password= (or Client.login(...)), or run `mcapi login` again."
)
_NOT_REPEATED_HINT = "Pass read_only=True or RetryPolicy(retry_writes=True) if it is idempotent."


class Core:
    """The decisions of one client: shared by every call it makes (holds the retry budget and the
    random source for jitter, both shared by concurrent calls)."""

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.budget = budget or RetryBudget()
        self.rng = rng or random.Random()

    def begin(
        self,
        path: str,
        submitted: tuple[Any, ...],
        *,
        now: float,
        read_only: bool | None = None,
        policy: RetryPolicy | None = None,
        can_renew: bool = False,
        renewable: bool = True,
    ) -> CallState:
        """Start a call."""
        return CallState(
            path=path,
            submitted=submitted,
            read_only=is_read_only(path) if read_only is None else read_only,
            policy=policy or self.policy,
            started=now,
            can_renew=can_renew,
            renewable=renewable,
        )

    # ---- answers --------------------------------------------------------------------------------

    def on_answer(self, state: CallState, exchange: Exchange, now: float) -> Step:
        """Decide after an HTTP answer."""
        state.attempts += 1
        if 200 <= exchange.status < 300:
            if exchange.is_file:
                return self._succeed(state, Step(Outcome.FILE, "file answer", **_ids(exchange)))
            if not _is_envelope(exchange.body):
                failure = TransportFailure(
                    "invalid_body",
                    sent=True,
                    message=f"HTTP {exchange.status} without the JSON envelope",
                    request_id=exchange.request_id,
                )
                return self._transport(state, failure, now)
            return self._succeed(state, self._result_step(state, exchange))
        envelope = parse_response(exchange.body)
        entry = catalogue().from_response(exchange.status, exchange.body)
        return ACTION_HANDLERS[entry.action](self, state, exchange, envelope, entry, now)

    def _result_step(self, state: CallState, exchange: Exchange) -> Step:
        envelope = parse_response(exchange.body)
        rate = exchange.rate_limit
        result = Result(
            path=state.path,
            status=exchange.status,
            data=envelope.data,
            failures=pair_failures(envelope.fail, state.submitted, exchange.status),
            meta=envelope.meta,
            pagination=envelope.pagination,
            request_id=exchange.request_id,
            rate_limit=rate,
            attempts=state.attempts,
            submitted=state.submitted,
        )
        if result.failures:
            codes = ", ".join(sorted({c for f in result.failures for c in f.codes})) or "?"
            reason = f"{len(result.failures)} item(s) failed: {codes}"
            return Step(Outcome.PARTIAL, reason, result=result, **_ids(exchange))
        return Step(Outcome.OK, "ok", result=result, **_ids(exchange))

    def _succeed(self, state: CallState, step: Step) -> Step:
        self.budget.release(state.budget_taken, retried=state.retries > 0)
        state.budget_taken = 0
        return step

    # ---- transport failures ---------------------------------------------------------------------

    def on_transport_error(self, state: CallState, failure: TransportFailure, now: float) -> Step:
        """Decide after an attempt that got no usable answer."""
        state.attempts += 1
        return self._transport(state, failure, now)

    def _transport(self, state: CallState, failure: TransportFailure, now: float) -> Step:
        safe = not failure.sent or state.repeat_is_safe()
        if not safe:
            why = (
                f"{failure.message}; the request may have reached the server and "
                f"{state.path} changes state, so it is not repeated"
            )
            return self._raise_transport(state, failure, why)
        blocked = self._retry_blocked(state, now, timeout=failure.kind != "connect")
        if blocked is not None:
            return self._raise_transport(state, failure, f"{failure.message}; {blocked}")
        delay = backoff_delay(state.retries + 1, state.policy, self.rng)
        if now + delay > state.started + state.policy.deadline:
            return self._raise_transport(state, failure, f"{failure.message}; deadline reached")
        state.retries += 1
        reason = f"{failure.kind}: {failure.message}"
        return Step(Outcome.RETRY, reason, delay=delay, request_id=failure.request_id)

    def _raise_transport(self, state: CallState, failure: TransportFailure, why: str) -> Step:
        error = TransportError(
            f"no usable answer from {state.path}: {why}",
            endpoint=state.path,
            request_id=failure.request_id,
            attempts=state.attempts,
        )
        return Step(Outcome.RAISE, why, error=error, request_id=failure.request_id)

    def _retry_blocked(self, state: CallState, now: float, *, timeout: bool) -> str | None:
        """Why a transient retry may not happen, or ``None`` (then one budget share is taken)."""
        # 429 waits are bounded by max_quota_waits, so they do not spend max_attempts.
        counted = state.attempts - state.quota_waits
        if counted >= state.policy.max_attempts:
            return f"gave up after {counted} attempt(s) (max_attempts)"
        if now >= state.started + state.policy.deadline:
            return "deadline reached"
        taken = self.budget.acquire(timeout=timeout)
        if taken is None:
            return "the client's retry budget is spent (the platform keeps failing)"
        state.budget_taken += taken
        return None

    # ---- HTTP error answers, one handler per action ---------------------------------------------

    def error_for(
        self,
        state: CallState,
        exchange: Exchange,
        envelope: Envelope,
        detail: str | None = None,
        hint: str | None = None,
    ) -> ApiError | RemoteProtocolError:
        """The exception for an HTTP error answer, with every diagnostic field. An HTML page
        instead of the envelope came from a proxy or gateway in front of the platform: a
        protocol answer naming its content type, not an error of the platform's."""
        kind = exchange.headers.get("content-type", "")
        if not _is_envelope(exchange.body) and "html" in kind.lower():
            message = (
                f"{state.path} answered HTTP {exchange.status} {kind}, not the JSON envelope "
                "(a proxy or gateway in front of the platform?)"
            )
            return RemoteProtocolError(
                f"{message} {detail}" if detail else message,
                content_type=kind,
                status=exchange.status,
                endpoint=state.path,
                request_id=exchange.request_id,
                attempts=state.attempts,
                headers=dict(exchange.headers),
                hint=hint,
            )
        errors = [e for f in envelope.fail for e in f.errors]
        sub_code = next((e.sub_code for e in errors if e.sub_code), None)
        return api_error(
            exchange.status,
            sub_code=sub_code,
            body_codes=tuple(e.code for e in errors if e.code),
            messages=tuple(e.message for e in errors if e.message),
            endpoint=state.path,
            request_id=exchange.request_id,
            attempts=state.attempts,
            headers=dict(exchange.headers),
            detail=detail,
            hint=hint,
        )

    def _raise(
        self,
        state: CallState,
        exchange: Exchange,
        envelope: Envelope,
        entry: CodeEntry,
        reason: str,
        detail: str | None = None,
        *,
        explain: bool = True,
        hint: str | None = None,
    ) -> Step:
        """Raise the answer's error; ``explain`` adds why the client stopped recovering."""
        if detail is None and explain:
            detail = f"The client stopped: {reason}."
        error = self.error_for(state, exchange, envelope, detail, hint)
        return Step(Outcome.RAISE, reason, error=error, **_ids(exchange, entry))

    def _on_stop(
        self, state: CallState, ex: Exchange, env: Envelope, entry: CodeEntry, now: float
    ) -> Step:
        why = f"{entry.label} {entry.name}: {entry.action.value}, never retried"
        return self._raise(state, ex, env, entry, why, explain=False)

    def _on_wait(
        self, state: CallState, ex: Exchange, env: Envelope, entry: CodeEntry, now: float
    ) -> Step:
        rate = ex.rate_limit
        reset_ms = rate.reset_ms if rate and rate.reset_ms is not None else 1000
        delay = min(reset_ms / 1000.0, state.policy.max_wait)
        if state.quota_waits >= state.policy.max_quota_waits:
            why = f"quota still spent after {state.quota_waits} wait(s) (max_quota_waits)"
            return self._raise(state, ex, env, entry, why)
        if now + delay > state.started + state.policy.deadline:
            return self._raise(state, ex, env, entry, "waiting for quota would pass the deadline")
        state.quota_waits += 1
        why = f"quota spent; X-RateLimit-Reset {reset_ms} ms"
        return Step(Outcome.WAIT, why, delay=delay, **_ids(ex, entry))

    def _on_renew(
        self, state: CallState, ex: Exchange, env: Envelope, entry: CodeEntry, now: float
    ) -> Step:
        outcome = Outcome.REFRESH if entry.action is Action.REFRESH else Outcome.RELOGIN
        if not state.renewable:
            return self._raise(state, ex, env, entry, f"{entry.label} while logging in")
        if state.renewed:
            why = f"{entry.label} again after renewing the binding once"
            return self._raise(state, ex, env, entry, why)
        if not state.can_renew:
            why = f"{entry.label} {entry.name} and no password to renew the binding"
            return self._raise(
                state, ex, env, entry, why, detail=_NO_PASSWORD, hint=_NO_PASSWORD_HINT
            )
        state.renewed = True
        return Step(outcome, f"{entry.label} {entry.name}", **_ids(ex, entry))

    def _on_transient(
        self, state: CallState, ex: Exchange, env: Envelope, entry: CodeEntry, now: float
    ) -> Step:
        says_retryable = any(e.retryable for f in env.fail for e in f.errors)
        if not env.fail:
            says_retryable = entry.retryable
        if not state.repeat_is_safe(server_says_retryable=says_retryable):
            why = f"{entry.label} on {state.path}, which changes state; not repeated"
            return self._raise(state, ex, env, entry, why, hint=_NOT_REPEATED_HINT)
        blocked = self._retry_blocked(state, now, timeout=False)
        if blocked is not None:
            return self._raise(state, ex, env, entry, f"{entry.label}; {blocked}")
        delay = backoff_delay(state.retries + 1, state.policy, self.rng)
        if now + delay > state.started + state.policy.deadline:
            return self._raise(state, ex, env, entry, f"{entry.label}; deadline reached")
        state.retries += 1
        return Step(Outcome.RETRY, f"{entry.label} {entry.name}", delay=delay, **_ids(ex, entry))

    # ---- reporting ------------------------------------------------------------------------------

    def event(self, state: CallState, step: Step) -> AttemptEvent:
        """The :class:`AttemptEvent` of an attempt's step."""
        return AttemptEvent(
            path=state.path,
            attempt=state.attempts,
            outcome=step.outcome.value,
            reason=step.reason,
            status=step.status,
            sub_code=step.sub_code,
            delay=step.delay,
            retry_budget_remaining=self.budget.available,
            request_id=step.request_id,
            retries=state.retries,
            max_attempts=state.policy.max_attempts,
            quota_waits=state.quota_waits,
            max_quota_waits=state.policy.max_quota_waits,
        )


def _ids(exchange: Exchange, entry: CodeEntry | None = None) -> dict[str, Any]:
    return {
        "status": exchange.status,
        "sub_code": entry.sub_code if entry is not None else None,
        "request_id": exchange.request_id,
        "rate_limit": exchange.rate_limit,
    }


def _is_envelope(body: Any) -> bool:
    return isinstance(body, Mapping) and ("data" in body or "meta" in body or "fail" in body)


#: Action class -> handler. A non-2xx answer whose entry says ``ok`` cannot be honoured: raise.
ACTION_HANDLERS: Mapping[Action, Handler] = {
    Action.OK: Core._on_stop,
    Action.WAIT: Core._on_wait,
    Action.REFRESH: Core._on_renew,
    Action.RELOGIN: Core._on_renew,
    Action.TRANSIENT: Core._on_transient,
    Action.STOP: Core._on_stop,
    Action.FORBIDDEN: Core._on_stop,
    Action.CALLER: Core._on_stop,
}
