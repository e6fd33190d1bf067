"""The ASGI app of API 2.0's REST-style SIEM paths (``/siem/v1/...``).

``GET /siem/v1/events/cg`` answers ``{"value": [events], "@nextPage"?, "pageSize",
"isCaughtUp"}``; ``GET /siem/v1/batch/events/cg`` answers ``{"value": [{"url", "expiry",
"size"}], "@nextPage", "pageSize", "isCaughtUp"}``, whose URLs
(``/siem/v1/batch/files/<token>.json.gz``) this app serves too: gzipped JSON lines, fetched
without a token as a pre-signed URL is. The data is the tenant's SIEM files
(``mcapi.emulator.functions._siem_rest``).

A listing passes the Bearer token check, the IP ranges, the application's permission and its
quota, the checks of a Bearer call to ``/api/...`` (``mcapi.emulator._app.BEARER_PIPELINE``),
and nothing else: there is no 1.0 signature here, and a call without a Bearer token answers 401.
A spent quota answers 429 ``{"detail": "Over throttling limit (N/hour)"}``. Every request makes
one journal entry. Fault rules do not apply to these paths.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.types import Receive, Scope, Send

from mcapi._codes import lookup
from mcapi.emulator._journal import JournalEntry
from mcapi.emulator._pipeline._access import check_ip, check_permission, check_quota, settle_rate
from mcapi.emulator._pipeline._bearer import check_bearer, is_bearer
from mcapi.emulator._pipeline._call import Call, Verdict, refuse
from mcapi.emulator._pipeline._respond import dumps, verdict_body
from mcapi.emulator._pipeline._runner import client_ip, failure_verdict
from mcapi.emulator._redaction import header_map
from mcapi.emulator._state import EmulatorState
from mcapi.emulator.functions import _siem
from mcapi.emulator.functions import _siem_rest as core
from mcapi.emulator.functions._registry import FunctionError, FunctionSpec

__all__ = ["PREFIX", "SPECS", "SiemRestEndpoint"]

PREFIX = "/siem/v1/"
_FILE_SUFFIX = ".json.gz"


def _answered_here(_context: Any) -> Any:
    """The rows below give the pipeline's checks a permission and a quota bucket; the endpoint
    answers the GET itself, so the function table never routes a call to this handler."""
    raise FunctionError(lookup(405, None, "err_method_not_allowed"))


SPECS = {
    path: FunctionSpec(
        path=path,
        handler=_answered_here,
        summary=summary,
        permission=core.PERMISSION,
        read_only=True,
    )
    for path, summary in (
        (core.EVENTS_PATH, "SIEM events of the Cloud Gateway, paged by nextPage (API 2.0)"),
        (core.BATCH_PATH, "Download URLs of gzipped SIEM event files (API 2.0)"),
    )
}
_CHECKS = (check_bearer, check_ip, check_permission, check_quota)


def throttle_detail(reset_ms: int) -> str:
    """The 429 body's text: the bucket's sustained rate (one call back every ``reset_ms``), in
    calls per hour, as the platform words it."""
    rate = 3_600_000 / reset_ms
    return f"Over throttling limit ({int(rate) if rate.is_integer() else round(rate, 2)}/hour)"


def _json(status: int, document: Any) -> tuple[int, bytes]:
    return status, dumps(document)


class SiemRestEndpoint:
    """The ASGI app of ``/siem/v1/...`` for one emulator state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        state = self.state
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        call = Call(
            state=state, method=scope["method"], path=scope["path"], headers=headers,
            client_ip=client_ip(scope, headers, state.config.trust_forwarded_for), body=b"",
            now=state.clock.now(), raw_headers=scope["headers"],
        )  # fmt: skip
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            await self._serve(send, call, started, params, scope)
        except Exception as exc:  # Redis down (500 0006), or unexpected (500 err_internal)
            await self._verdict(send, call, started, failure_verdict(call.path, exc))

    async def _serve(
        self, send: Send, call: Call, started: float, params: dict[str, str], scope: Scope
    ) -> None:
        if call.path.startswith(core.FILES_PREFIX):
            status, body, extra, reason = await anyio.to_thread.run_sync(self._file, call)
            content_type = "application/gzip" if status == 200 else "application/json"
            await self._send(
                send, call, started, status, body, extra, "function", reason, content_type
            )
            return
        spec = SPECS.get(call.path)
        if spec is None or call.method != "GET":
            verdict = (
                refuse("route", f"{call.path} is not a SIEM endpoint", 404, None, "err_not_found")
                if spec is None
                else refuse("method", f"{call.method} is not allowed; GET", 405, None,
                            "err_method_not_allowed")
            )  # fmt: skip
            await self._verdict(send, call, started, verdict)
            return
        call.spec = spec
        refused = self._authorise(call)
        if refused is not None:
            await self._verdict(send, call, started, refused)
            return
        try:
            document = await anyio.to_thread.run_sync(self._list, call, params, scope)
        except core.BadQuery as exc:
            entry = lookup(400, None, "err_siem_bad_request")
            bad = Verdict(entry, "function", str(exc), str(exc))
            await self._verdict(send, call, started, bad)
            return
        listed = len(document["value"])
        reason = f"{listed} {'file(s)' if call.path == core.BATCH_PATH else 'event(s)'}"
        await self._send(send, call, started, 200, dumps(document), {}, "function", reason)

    def _authorise(self, call: Call) -> Verdict | None:
        if not is_bearer(call):
            sent = call.headers.get("authorization", "")
            why = "an API 1.0 signature" if sent[:3].upper() == "MC " else "no Bearer token"
            token = refuse("token", f"{why} on an API 2.0 endpoint", 401, None,
                           "err_invalid_token")  # fmt: skip
            return Verdict(
                token.entry, "token", token.reason,
                headers={"WWW-Authenticate": 'Bearer realm="siem"'},
            )  # fmt: skip
        for check in _CHECKS:
            found = check(call)
            if found is not None:
                return found
        return None

    def _list(self, call: Call, params: dict[str, str], scope: Scope) -> dict[str, Any]:
        assert call.auth is not None
        account = call.auth.account
        batch = call.path == core.BATCH_PATH
        query, size = core.parse_query(params, account.id, call.now, batch=batch)
        stream = core.load_stream(self.state.store, account)
        if not batch:
            page = core.event_page(self.state.store, stream, query, size, call.now)
            document: dict[str, Any] = {"value": page.events}
            if page.next_query is not None:
                document["@nextPage"] = core.encode_cursor(page.next_query, account.id, batch=False)
            return {**document, "pageSize": size, "isCaughtUp": page.next_query is None}
        found = core.batch_page(self.state.store, stream, query, size, call.now)
        expires = int(call.now) + core.URL_SECONDS
        base = _base_url(scope, call.headers, self.state.config.trust_forwarded_for)
        value = []
        for slot, index in found.files:
            assert stream is not None
            token = core.encode_file_token(account.id, slot, index, expires)
            value.append(
                {
                    "url": f"{base}{core.FILES_PREFIX}{token}{_FILE_SUFFIX}",
                    "expiry": datetime.fromtimestamp(expires, tz=UTC).strftime(
                        "%Y-%m-%dT%H:%M:%S.000Z"
                    ),
                    "size": len(self._file_bytes(stream, slot, index)),
                }
            )
        return {
            "value": value,
            "@nextPage": core.encode_cursor(found.next_query, account.id, batch=True),
            "pageSize": size,
            "isCaughtUp": found.caught_up,
        }

    def _file_bytes(self, stream: _siem.SiemStream, slot: int, index: int) -> bytes:
        log_type = _siem.LOG_TYPES[index]
        records = core.file_records(self.state.store, stream, slot, log_type)
        return core.gzip_lines(core.to_file_line(r, log_type, stream.account_code) for r in records)

    def _file(self, call: Call) -> tuple[int, bytes, dict[str, str], str]:
        """A download: the gzip file a batch listing named, while its URL is valid."""
        name = call.path.removeprefix(core.FILES_PREFIX)
        named = core.decode_file_token(name.removesuffix(_FILE_SUFFIX))
        if call.method != "GET" or named is None or not name.endswith(_FILE_SUFFIX):
            return (*_json(404, {"detail": "Not Found"}), {}, "no such file")
        account_id, slot, index, expires = named
        account = self.state.store.get_account(account_id)
        stream = core.load_stream(self.state.store, account) if account is not None else None
        if stream is None:
            return (*_json(404, {"detail": "Not Found"}), {}, "no such file")
        if call.now >= expires or slot < _siem.first_kept_slot(call.now):
            return (*_json(403, {"detail": "Request has expired"}), {}, "download URL expired")
        body = self._file_bytes(stream, slot, index)
        return 200, body, {}, f"file {_siem.LOG_TYPES[index]} of slot {slot} downloaded"

    async def _verdict(self, send: Send, call: Call, started: float, verdict: Verdict) -> None:
        if verdict.entry.status == 429:
            body = dumps({"detail": throttle_detail(self._reset_ms(call))})
        else:
            body = verdict_body(verdict)
        await self._send(
            send, call, started, verdict.entry.status, body, dict(verdict.headers), verdict.check,
            verdict.reason, verdict=verdict,
        )  # fmt: skip

    def _reset_ms(self, call: Call) -> int:
        assert call.auth is not None and call.spec is not None
        return call.auth.account.quota_for(call.spec.path).reset_ms

    async def _send(
        self, send: Send, call: Call, started: float, status: int, body: bytes,
        extra: dict[str, str], check: str, reason: str, content_type: str = "application/json",
        verdict: Verdict | None = None,
    ) -> None:  # fmt: skip
        pairs: list[tuple[bytes, bytes]] = [(b"content-type", content_type.encode())]
        if call.spec is not None and call.auth is not None:
            with contextlib.suppress(Exception):  # a limiter that failed: no X-RateLimit-*
                pairs += settle_rate(call).header_pairs()
        pairs += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        pairs.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": pairs})
        await send({"type": "http.response.body", "body": body, "more_body": False})
        self._journal(call, started, status, check, reason, verdict, pairs, body, content_type)

    def _journal(
        self, call: Call, started: float, status: int, check: str, reason: str,
        verdict: Verdict | None, pairs: Sequence[tuple[bytes, bytes]], body: bytes,
        content_type: str,
    ) -> None:  # fmt: skip
        entry = verdict.entry if verdict is not None else None
        auth = call.auth
        self.state.journal.record(
            JournalEntry(
                time=call.now, request_id=None, method=call.method, path=call.path,
                user=auth.user.email if auth is not None else None,
                app_id=auth.application.app_id if auth is not None else None,
                client_ip=call.client_ip, status=status,
                sub_code=entry.sub_code if entry is not None else None,
                body_codes=(entry.body_code,) if entry is not None and entry.body_code else (),
                latency_ms=round((time.perf_counter() - started) * 1000, 3), check=check,
                reason=reason, request_headers=header_map(call.raw_headers), request_body=b"",
                response_headers=header_map(pairs),
                response_body=body if content_type == "application/json" else "[a gzip file]",
            )
        )  # fmt: skip


def _base_url(scope: Scope, headers: Mapping[str, str], trust_forwarded: bool) -> str:
    """Where the client reached the emulator, so the URLs it downloads come back here (the
    scheme a proxy names, when the emulator trusts forwarded headers)."""
    forwarded = headers.get("x-forwarded-proto") if trust_forwarded else None
    scheme = forwarded or scope.get("scheme", "http")
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scheme}://{host}"
