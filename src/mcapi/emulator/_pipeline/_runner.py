"""The ASGI endpoint of every ``/api/...`` path: run the checks in order, then the function.

Theory of operation
-------------------
A request becomes a :class:`Call`. The checks of the pipeline (their order is the tuple
``PIPELINE`` in ``mcapi.emulator._app``) run one after another; the first that returns a
:class:`Verdict` decides the answer. When none does, the function's handler runs. Whatever
happens, exactly one journal entry records the request with the check that decided and why, and
every answer carries ``X-RateLimit-*`` headers: the quota decision is settled on the call right
after the checks (``settle_rate``), before the function runs, and the renderer only formats it.

Unsigned paths (login, discovery) run a shorter chain and their own handler. A call with
``Authorization: Bearer`` (API 2.0) runs the bearer chain instead of the signed one.

Anything unexpected becomes 500 err_internal with the exception in the journal; the fuzz tests
check that no input gets there. A Redis that does not answer (the shared limiter and replay
cache) becomes 500 0006 err_xdk_external_resource, the platform's answer for a dependency that
cannot be reached, also journalled; ``GET /_emulator/ready`` answers 503 meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import anyio
import redis
from starlette.types import Receive, Scope, Send

from mcapi._codes import lookup
from mcapi._envelope import ErrorDetail
from mcapi.emulator._fault_transport import TransportFault, fault_body, send_transport_fault
from mcapi.emulator._faults import FaultEffect
from mcapi.emulator._journal import JournalEntry
from mcapi.emulator._pipeline._access import fault_verdict, settle_quota, settle_rate
from mcapi.emulator._pipeline._bearer import is_bearer
from mcapi.emulator._pipeline._binding import settle_replay
from mcapi.emulator._pipeline._body import MAX_BODY_BYTES
from mcapi.emulator._pipeline._call import Call, Verdict
from mcapi.emulator._pipeline._request import body_too_large
from mcapi.emulator._pipeline._respond import (
    header_list,
    json_headers,
    rate_headers,
    result_body,
    verdict_body,
)
from mcapi.emulator._redaction import header_map
from mcapi.emulator._state import EmulatorState
from mcapi.emulator.functions._paging import DEFAULT_PAGE_SIZE
from mcapi.emulator.functions._registry import (
    FunctionContext,
    FunctionError,
    FunctionResult,
    StreamResult,
)

logger = logging.getLogger("mcapi.emulator")

#: A read-only call runs on the event loop unless it asks for a page larger than this (the
#: functions' default page size) or for more items than :data:`INLINE_ITEMS` (large_read).
INLINE_PAGE_ROWS = DEFAULT_PAGE_SIZE
INLINE_ITEMS = 100

#: What the journal keeps as the body of a streamed file (not the file itself).
STREAMED_BODY = "[a file, streamed: not kept]"

#: The failures of a dependency that does not answer (rather than of the emulator itself).
UNREACHABLE = (redis.ConnectionError, redis.TimeoutError)

Check = Callable[[Call], Verdict | None]
#: An unsigned function: its own checks and answer.
UnsignedHandler = Callable[[Call], "Verdict | FunctionResult"]

_READ = frozenset(
    {
        b"authorization", b"x-mc-date", b"x-mc-req-id", b"x-mc-app-id", b"host",
        b"x-forwarded-for", b"x-forwarded-proto",
    }
)  # fmt: skip


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, when it has a readable one."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class ClientGone(Exception):
    """The connection closed before the body was whole (the client left, or a timeout)."""


async def read_body(receive: Receive, declared: int | None = None) -> bytes | None:
    """The whole body, or ``None`` as soon as it is known to pass ``MAX_BODY_BYTES`` (from its
    Content-Length, or once more has arrived): the rest is never read. Raises
    :class:`ClientGone` when the connection closes first: a partial body is never answered."""
    if declared is not None and declared > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


#: The message of a signed call's 500 0006 while Redis does not answer.
REDIS_DOWN = (
    "the emulator's Redis (rate limits, replay protection) is unreachable; see GET /_emulator/ready"
)


def failure_verdict(path: str, exc: Exception, message: str | None = None) -> Verdict:
    """The answer to a call whose handling raised ``exc``, logged: ``500 0006`` while Redis (the
    shared limiter and replay cache) does not answer, with ``message``; else ``500
    err_internal``."""
    if isinstance(exc, UNREACHABLE):
        logger.warning("answering %s with 500 0006: Redis unreachable: %s", path, exc)
        return Verdict(
            lookup(500, "0006", "err_xdk_external_resource"), "dependency",
            f"Redis unreachable ({type(exc).__name__})", message=message,
        )  # fmt: skip
    logger.exception("unexpected error answering %s", path, exc_info=exc)
    return Verdict(
        lookup(500, None, "err_internal"), "internal", f"unexpected {type(exc).__name__}"
    )


def client_ip(scope: Scope, headers: Mapping[str, str], trust_forwarded: bool) -> str:
    if trust_forwarded and headers.get("x-forwarded-for"):
        return headers["x-forwarded-for"].split(",")[0].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def large_read(call: Call) -> bool:
    """Whether a read may make a large result: a page of more than :data:`INLINE_PAGE_ROWS`
    rows, or more than :data:`INLINE_ITEMS` items (each a query of its own). Those run in a
    worker thread, like writes."""
    spec, request = call.spec, call.request
    if spec is None or request is None:
        return False
    if len(request.data) > INLINE_ITEMS:
        return True
    asked = request.pagination.page_size if request.pagination is not None else None
    return spec.paginated and (asked or DEFAULT_PAGE_SIZE) > INLINE_PAGE_ROWS


def run_checks(call: Call, checks: Sequence[Check]) -> Verdict | None:
    for check in checks:
        verdict = check(call)
        if verdict is not None:
            return verdict
    return None


class ApiEndpoint:
    """ASGI app for ``/api/...``."""

    def __init__(
        self,
        state: EmulatorState,
        signed: Sequence[Check],
        unsigned_prefix: Sequence[Check],
        unsigned: Mapping[str, UnsignedHandler],
        bearer: Sequence[Check] = (),
    ) -> None:
        self.state = state
        self.signed = tuple(signed)
        self.bearer = tuple(bearer)
        self.unsigned_prefix = tuple(unsigned_prefix)
        self.unsigned = dict(unsigned)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        state = self.state
        # Only the headers the emulator reads (ASGI servers give the names lower-cased).
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _READ
        }
        declared = declared_length(scope)
        try:
            body = await read_body(receive, declared)
        except ClientGone:
            body, gone = b"", True
        else:
            gone = False
        reads = state.call_reads
        pin = await reads.begin() if reads is not None else None
        try:
            await self._call(scope, receive, send, started, headers, body, gone, declared)
        finally:
            if reads is not None and pin is not None:
                reads.end(pin)

    async def _call(
        self, scope: Scope, receive: Receive, send: Send, started: float,
        headers: dict[str, str], body: bytes | None, gone: bool, declared: int | None,
    ) -> None:  # fmt: skip
        state = self.state
        call = Call(
            state=state,
            method=scope["method"],
            path=scope["path"],
            headers=headers,
            client_ip=client_ip(scope, headers, state.config.trust_forwarded_for),
            body=body or b"",
            now=state.clock.now(),
            raw_headers=scope["headers"],
        )
        if gone:  # nobody to answer: nothing runs, the journal says why
            await self._journal(call, started, 0, None, "body", "the connection closed mid-body")
            return
        if body is None:
            await self._send(call, body_too_large(declared), send, started, receive)
            return
        try:
            await self._answer(call, send, started, receive)
        except TransportFault:
            await self._journal(
                call, started, 0, None, "fault", f"transport fault ({call.fault_rule})"
            )
            raise

    async def _answer(self, call: Call, send: Send, started: float, receive: Receive) -> None:
        handler = self.unsigned.get(call.path)
        try:
            verdict = run_checks(call, self._checks(call, handler))
            if verdict is None and call.pending_quota is not None:
                verdict = await settle_quota(call)
            verdict = settle_replay(call, verdict)
            settle_rate(call)
            effect = call.fault
            if effect is not None and effect.latency_ms:
                await anyio.sleep(effect.latency_ms / 1000)
            if verdict is None and effect is not None and effect.replaces_answer:
                if effect.after_execution:
                    await self._execute(call, handler)  # the write happens; its answer is lost
                if effect.transport is None:
                    await self._send_fault(call, effect, send, started, receive)
                    return
                limits = [(k.lower().encode(), v.encode()) for k, v in rate_headers(call).items()]
                await send_transport_fault(effect.transport, send, headers=limits)
                await self._journal(
                    call, started, 200, None, "fault", f"transport fault {effect.transport}",
                    response=(limits, None),
                )  # fmt: skip
                return
            outcome = verdict if verdict is not None else await self._execute(call, handler)
        except TransportFault:
            raise
        except Exception as exc:  # the fuzz tests make sure no input but Redis' absence gets here
            outcome = failure_verdict(call.path, exc, REDIS_DOWN)
            if call.rate is None:  # the error came before the decision was settled
                with contextlib.suppress(Exception):  # the limiter failed: no X-RateLimit-*
                    settle_rate(call)
        await self._send(call, outcome, send, started, receive)

    async def _send_fault(
        self, call: Call, effect: FaultEffect, send: Send, started: float, receive: Receive
    ) -> None:
        """Answer a fault's ``status`` in the function's place: without the envelope (``body``),
        or as the catalogue entry's envelope (after the function ran)."""
        assert effect.status is not None
        ran = " after the function ran" if effect.after_execution else ""
        if effect.body is None:
            verdict = fault_verdict(call, call.fault_rule, effect)
            verdict = replace(verdict, reason=verdict.reason + ran)
            await self._send(call, verdict, send, started, receive)
            return
        body, media_type = fault_body(effect.body, effect.status)
        headers = rate_headers(call)
        headers["content-length"] = str(len(body))
        reason = f"fault rule {call.fault_rule} answers {effect.status} with a {effect.body} body"
        pairs = header_list(headers, media_type)
        await self._journal(
            call, started, effect.status, None, "fault", reason + ran, response=(pairs, body)
        )
        await send({"type": "http.response.start", "status": effect.status, "headers": pairs})
        await self._send_body(call, body, send, receive, more=False)

    async def _send_body(
        self, call: Call, body: bytes, send: Send, receive: Receive, *, more: bool
    ) -> None:
        """Send ``body``, at the fault's ``dribble_bps`` when it has one: in chunks of a tenth of
        a second's worth (at least one byte), each after the time it takes at that rate. A
        client that leaves meanwhile (its timeout) stops the dribble: nobody is left to send to."""
        rate = call.fault.dribble_bps if call.fault is not None else None
        if rate is None or not body:
            await send({"type": "http.response.body", "body": body, "more_body": more})
            return
        size = max(1, rate // 10)

        async def watch(scope: anyio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            scope.cancel()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(watch, tasks.cancel_scope)
            for offset in range(0, len(body), size):
                chunk = body[offset : offset + size]
                await anyio.sleep(len(chunk) / rate)
                last = offset + size >= len(body)
                await send(
                    {"type": "http.response.body", "body": chunk, "more_body": more or not last}
                )
            tasks.cancel_scope.cancel()

    def _checks(self, call: Call, handler: UnsignedHandler | None) -> tuple[Check, ...]:
        if handler is not None:
            return self.unsigned_prefix
        return self.bearer if self.bearer and is_bearer(call) else self.signed

    async def _execute(
        self, call: Call, unsigned: UnsignedHandler | None
    ) -> Verdict | FunctionResult | StreamResult:
        """Run the login/discovery handler or the function. What can take long (a password hash,
        a write, a read of a large result) runs in a worker thread so that other calls are
        answered meanwhile; small reads run inline, which is faster than a thread hop."""
        if unsigned is not None:
            return await anyio.to_thread.run_sync(unsigned, call)
        assert call.spec is not None
        context = self._context(call)
        try:
            if call.spec.read_only and not large_read(call):
                return call.spec.handler(context)
            return await anyio.to_thread.run_sync(call.spec.handler, context)
        except FunctionError as exc:
            return Verdict(exc.entry, "function", f"function refused: {exc}", message=exc.message)

    def _context(self, call: Call) -> FunctionContext:
        assert call.auth is not None and call.request is not None and call.spec is not None
        effect = call.fault
        injected: dict[int, tuple[ErrorDetail, ...]] = {}
        if effect is not None and effect.item_failures:
            # Items are independent calls: the handlers skip the ones a rule fails.
            for index in range(max(1, len(call.request.data))):
                failures = effect.failures_for(index)
                if failures:
                    injected[index] = tuple(
                        ErrorDetail(
                            f.code, f.message or lookup(200, None, f.code).name, False, f.field
                        )
                        for f in failures
                    )
        return FunctionContext(
            store=call.state.store,
            clock=call.state.clock,
            account=call.auth.account,
            user=call.auth.user,
            app_id=call.auth.application.app_id,
            request=call.request,
            spec=call.spec,
            injected_failures=injected,
        )

    async def _send(
        self, call: Call, outcome: Verdict | FunctionResult | StreamResult, send: Send,
        started: float, receive: Receive,
    ) -> None:  # fmt: skip
        if isinstance(outcome, StreamResult):
            headers = rate_headers(call)
            headers.update(outcome.headers)
            pairs = header_list(headers, outcome.media_type)
            await send({"type": "http.response.start", "status": 200, "headers": pairs})
            for chunk in outcome.chunks:
                await self._send_body(call, chunk, send, receive, more=True)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            await self._journal(
                call, started, 200, None, "function", "file streamed",
                response=(pairs, STREAMED_BODY),
            )  # fmt: skip
            return
        extra: Mapping[str, str] | None
        if isinstance(outcome, Verdict):
            status, body, extra = outcome.entry.status, verdict_body(outcome), outcome.headers
        else:
            status, body, extra = 200, result_body(outcome), outcome.headers
        if extra:
            headers = rate_headers(call)
            headers.update(extra)
            headers["content-length"] = str(len(body))
            pairs = header_list(headers)
        else:
            pairs = json_headers(call, body)
        if isinstance(outcome, Verdict):
            await self._journal(
                call, started, status, outcome, outcome.check, outcome.reason,
                response=(pairs, body),
            )  # fmt: skip
        else:
            codes = tuple(e.code for f in outcome.fail for e in f.errors if e.code)
            reason = f"{len(outcome.data)} ok, {len(outcome.fail)} failed"
            await self._journal(
                call, started, 200, None, "function", reason, codes, response=(pairs, body)
            )
        await send({"type": "http.response.start", "status": status, "headers": pairs})
        await self._send_body(call, body, send, receive, more=False)

    async def _journal(
        self, call: Call, started: float, status: int, verdict: Verdict | None, check: str,
        reason: str, body_codes: tuple[str, ...] = (),
        response: tuple[Sequence[tuple[bytes, bytes]], bytes | str | None] | None = None,
    ) -> None:  # fmt: skip
        """Record the call; ``response`` is the answer's header pairs and body, when one was
        sent (the journal redacts and bounds them, and the request's)."""
        if verdict is not None and verdict.entry.body_code:
            body_codes = (verdict.entry.body_code,)
        await self.state.journal.record_async(
            JournalEntry(
                time=call.now,
                request_id=call.request_id,
                method=call.method,
                path=call.path,
                user=call.user_email or call.login_user,
                app_id=call.headers.get("x-mc-app-id") or _api2_client(call),
                client_ip=call.client_ip,
                status=status,
                sub_code=verdict.entry.sub_code if verdict is not None else None,
                body_codes=body_codes,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                check=check,
                reason=reason,  # the journal redacts it
                fault=call.fault_rule,
                request_headers=header_map(call.raw_headers),
                request_body=call.body if call.path not in self.unsigned else _unsigned_body(call),
                response_headers=None if response is None else header_map(response[0]),
                response_body=None if response is None else response[1],
            )
        )


#: What the journal keeps of a login's or discovery's value that is not the recorded address.
NOT_KEPT = "[not kept]"


def _unsigned_body(call: Call) -> str:
    """A login's or discovery's body as the journal keeps it: the user name only where it is the
    address the call was recorded under (one of a managed domain), every other text value
    replaced, since it may be a password typed into the wrong field."""
    address = (call.login_user or "").strip().lower()

    def kept(value: object) -> object:
        if isinstance(value, str):
            return value if address and value.strip().lower() == address else NOT_KEPT
        if isinstance(value, dict):
            return {str(k): kept(v) for k, v in value.items()}
        if isinstance(value, list):
            return [kept(v) for v in value]
        return value

    try:
        document = json.loads(call.body)
    except (ValueError, RecursionError):
        return f"{NOT_KEPT}: not JSON" if call.body else ""
    return json.dumps(kept(document), ensure_ascii=False)


def _api2_client(call: Call) -> str | None:
    """The client id of an API 2.0 call (its journal entry's ``app_id``)."""
    return call.auth.application.app_id if call.auth is not None and is_bearer(call) else None
