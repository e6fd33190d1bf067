"""``POST /oauth/token``: API 2.0's token endpoint (OAuth 2.0 client credentials grant).

The request is form-encoded ``client_id``, ``client_secret`` and
``grant_type=client_credentials`` (the client may instead send its id and secret as HTTP Basic
credentials, RFC 6749 section 2.3.1). The answer is
``{"access_token", "token_type": "Bearer", "expires_in": 1800, "scope": ""}``; the token expires
1800 seconds later on the emulator's clock.

A refusal carries the OAuth error fields (``error``, ``error_description``, RFC 6749 section 5.2)
and the platform's ``meta``/``data``/``fail`` envelope with the same code, so that an integration
reading either finds the reason: the shape is the emulator's own (docs/api2.md). An unknown
client id, a wrong secret and a revoked application get the same answer, 401 ``invalid_client``.
Every request makes one journal entry (``check`` = ``token``), the secret never in it.
"""

from __future__ import annotations

import base64
import binascii
import time
from typing import Any
from urllib.parse import parse_qs, unquote_plus

import anyio
from starlette.types import Receive, Scope, Send

from mcapi._codes import CodeEntry, lookup
from mcapi._constants import TOKEN_PATH
from mcapi._envelope import render_error
from mcapi.emulator._journal import JournalEntry
from mcapi.emulator._pipeline._body import MAX_BODY_BYTES
from mcapi.emulator._pipeline._respond import dumps
from mcapi.emulator._pipeline._runner import ClientGone, client_ip, declared_length, read_body
from mcapi.emulator._redaction import header_map
from mcapi.emulator._state import EmulatorState
from mcapi.emulator._store._api2 import TOKEN_TTL_SECONDS

__all__ = ["TOKEN_PATH", "TokenEndpoint", "token_endpoint"]

GRANT_TYPE = "client_credentials"
_FORM = "application/x-www-form-urlencoded"


class _Refusal(Exception):
    """A refused token request: the answer's entry and text, and for the journal only, why."""

    def __init__(
        self, entry: CodeEntry, description: str, client_id: str | None = None,
        reason: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(description)
        self.entry = entry
        self.description = description
        self.client_id = client_id
        self.reason = reason or description


def _refuse(status: int, code: str, description: str, client_id: str | None = None) -> _Refusal:
    return _Refusal(lookup(status, None, code), description, client_id)


def error_body(entry: CodeEntry, description: str) -> dict[str, Any]:
    """The OAuth error fields over the platform's error envelope: ``error`` is the catalogue's
    body code without ``err_`` (``invalid_client``), as RFC 6749 section 5.2 names it."""
    document = render_error(entry, message=description)
    code = (entry.body_code or f"err_http_{entry.status}").removeprefix("err_")
    return {"error": code, "error_description": description, **document}


def _basic(header: str) -> tuple[str, str] | None:
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise _refuse(400, "err_invalid_request", "Authorization: Basic is not base64") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _refuse(400, "err_invalid_request", "Authorization: Basic lacks client_id:secret")
    return unquote_plus(client_id), unquote_plus(secret)


def _fields(headers: dict[str, str], body: bytes) -> tuple[str, str, str]:
    content_type = headers.get("content-type", _FORM).split(";")[0].strip().lower()
    if content_type != _FORM:
        raise _refuse(
            400, "err_invalid_request", f"the body must be {_FORM}, not {content_type[:60]}"
        )
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise _refuse(400, "err_invalid_request", "the body is not a UTF-8 form") from None
    values = {name: form[name][0].strip() for name in form if form[name]}
    basic = _basic(headers.get("authorization", ""))
    if basic is not None:
        values.setdefault("client_id", basic[0])
        values.setdefault("client_secret", basic[1])
    missing = [f for f in ("grant_type", "client_id", "client_secret") if not values.get(f)]
    if missing:
        raise _refuse(400, "err_invalid_request", f"missing {', '.join(missing)}")
    if values["grant_type"] != GRANT_TYPE:
        raise _refuse(
            400, "err_unsupported_grant_type", f"grant_type must be {GRANT_TYPE}",
            values["client_id"][:64],
        )  # fmt: skip
    return values["grant_type"], values["client_id"], values["client_secret"]


class TokenEndpoint:
    """The ASGI app of ``/oauth/token`` for one emulator state."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        state = self.state
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        now = state.clock.now()
        address = client_ip(scope, headers, state.config.trust_forwarded_for)
        try:
            body = await read_body(receive, declared_length(scope))
        except ClientGone:  # nobody to answer
            self._journal(
                now, scope, address, None, None, "the connection closed mid-body", started
            )
            return
        client_id: str | None = None
        sent = (body or b"",)
        try:
            if body is None:
                raise _refuse(400, "err_invalid_request", f"the body passes {MAX_BODY_BYTES} bytes")
            if scope["method"] != "POST":
                raise _Refusal(
                    lookup(405, None, "err_method_not_allowed"),
                    f"{scope['method']} is not allowed; the token endpoint takes POST",
                )
            _grant, client_id, secret = _fields(headers, body)
            answer = await anyio.to_thread.run_sync(self._issue, client_id, secret, now)
        except _Refusal as refusal:
            client_id = client_id or refusal.client_id
            entry = refusal.entry
            extra = {}
            if entry.status == 401:
                extra["www-authenticate"] = 'Basic realm="oauth", error="invalid_client"'
            response = await _send(
                send, entry.status, error_body(entry, refusal.description), extra
            )
            self._journal(
                now, scope, address, client_id, entry, refusal.reason, started, (*sent, *response)
            )
            return
        response = await _send(
            send, 200, answer, {"cache-control": "no-store", "pragma": "no-cache"}
        )
        self._journal(
            now, scope, address, client_id, None, "token issued", started, (*sent, *response)
        )

    def _issue(self, client_id: str, secret: str, now: float) -> dict[str, Any]:
        store = self.state.store
        app = store.get_api2_application(client_id)
        if app is None or app.revoked or not store.check_api2_secret(app, secret):
            why = "unknown client" if app is None else "revoked" if app.revoked else "bad secret"
            raise _Refusal(
                lookup(401, None, "err_invalid_client"), "client authentication failed",
                client_id[:64], f"client authentication failed: {why}",
            )  # fmt: skip
        issued = store.issue_api2_token(client_id, now=now, ttl_seconds=TOKEN_TTL_SECONDS)
        return {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": "",
        }

    def _journal(
        self, now: float, scope: Scope, address: str, client_id: str | None,
        entry: CodeEntry | None, reason: str, started: float,
        exchange: tuple[bytes, list[tuple[bytes, bytes]], bytes] | None = None,
    ) -> None:  # fmt: skip
        """Record the request; ``exchange`` is its body, the answer's header pairs and body (the
        journal redacts the client secret and the access token)."""
        self.state.journal.record(
            JournalEntry(
                time=now, request_id=None, method=scope["method"], path=TOKEN_PATH,
                user=f"api2:{client_id}" if client_id else None, app_id=client_id,
                client_ip=address, status=200 if entry is None else entry.status,
                body_codes=(entry.body_code,) if entry is not None and entry.body_code else (),
                latency_ms=round((time.perf_counter() - started) * 1000, 3), check="token",
                reason=reason, request_headers=header_map(scope["headers"]),
                request_body=exchange[0] if exchange else None,
                response_headers=header_map(exchange[1]) if exchange else None,
                response_body=exchange[2] if exchange else None,
            )
        )  # fmt: skip


async def _send(
    send: Send, status: int, document: dict[str, Any], extra: dict[str, str]
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Send the answer; returns its header pairs and body (for the journal)."""
    body = dumps(document)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        *[(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()],
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
    return headers, body


def token_endpoint(state: EmulatorState) -> TokenEndpoint:
    """The token endpoint of ``state``."""
    return TokenEndpoint(state)
