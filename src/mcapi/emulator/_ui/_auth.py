"""Who may see the dashboard: the admin token, turned into a browser session once.

Theory of operation
-------------------
The dashboard takes the admin API's token, but never keeps it in a page or a URL. A browser gets
in one of two ways, both ending with a session cookie:

* a one-time link, ``/_emulator/ui/login?once=<ticket>`` (``serve`` prints one; ``POST
  /_emulator/ui/links`` with the token makes another): the ticket is good for
  ``ONCE_SECONDS`` of the real clock and for one use;
* the login form, where the user pastes the admin token.

Tickets and sessions are ``<expiry>.<nonce>.<mac>``: an HMAC-SHA256, keyed by a digest of the
admin token, over what they are, their expiry (real-clock seconds) and a random nonce. Nothing
needs storing to check one, so every process of a deployment accepts what another issued; a used
ticket's nonce is saved in the database (``USED_SETTING``, pruned of expired ones) so that a
second use fails in any process. The session cookie is ``HttpOnly``, ``SameSite=Strict``, limited
to ``/_emulator/ui`` (and ``Secure`` over HTTPS) and lasts ``SESSION_SECONDS``.

Every page that changes something takes a POST carrying the session's CSRF token, an HMAC of
the session's nonce that the pages put in the ``X-CSRF-Token`` header of htmx requests (and in a
hidden field of each form): a request another site forges carries neither the cookie (Strict)
nor the token. A request with ``Authorization: Bearer <admin token>`` (a script, a test) needs
neither cookie nor CSRF token, as in the admin API.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from starlette.requests import Request

from mcapi.emulator._state import EmulatorState

__all__ = [
    "COOKIE",
    "ONCE_SECONDS",
    "SESSION_SECONDS",
    "UiAuth",
]

#: The session cookie's name.
COOKIE = "mcapi_ui"
#: How long a one-time link is good for (real clock).
ONCE_SECONDS = 600
#: How long a browser session lasts (real clock).
SESSION_SECONDS = 12 * 3600
#: The setting holding the nonces of used one-time links (with their expiry).
USED_SETTING = "ui_used_login_links"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"


class UiAuth:
    """Issues and checks one-time tickets, sessions and CSRF tokens for one emulator state."""

    def __init__(self, state: EmulatorState, now: Callable[[], float] = time.time) -> None:
        self._state = state
        self._now = now
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        token = self._state.config.admin_token
        return hashlib.sha256(b"mcapi-dashboard\0" + token.encode()).digest()

    def _mac(self, kind: str, expires: int, nonce: str) -> str:
        message = f"{kind}|{expires}|{nonce}".encode()
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def _issue(self, kind: str, seconds: int) -> str:
        expires = int(self._now()) + seconds
        nonce = secrets.token_urlsafe(18)
        return f"{expires}.{nonce}.{self._mac(kind, expires, nonce)}"

    def _check(self, kind: str, value: str | None) -> tuple[int, str] | None:
        """(expiry, nonce) of a genuine, unexpired ``value`` of ``kind``; None otherwise."""
        if not value or not self._state.config.admin_token:
            return None
        expires_text, _, rest = value.partition(".")
        nonce, _, mac = rest.partition(".")
        if not expires_text.isdigit() or not nonce or len(expires_text) > 12:
            return None
        expires = int(expires_text)
        if not hmac.compare_digest(mac.encode(), self._mac(kind, expires, nonce).encode()):
            return None
        if expires <= self._now():
            return None
        return expires, nonce

    # ---- the admin token itself --------------------------------------------------------------
    def token_matches(self, given: str) -> bool:
        token = self._state.config.admin_token
        return bool(token) and hmac.compare_digest(given.strip().encode(), token.encode())

    def bearer(self, request: Request) -> bool:
        """Whether the request carries ``Authorization: Bearer <admin token>``."""
        given = request.headers.get("authorization", "")
        return given.lower().startswith("bearer ") and self.token_matches(given[7:])

    # ---- one-time links ----------------------------------------------------------------------
    def once_ticket(self) -> str:
        """A ticket for ``/_emulator/ui/login?once=``: one use, ``ONCE_SECONDS`` long."""
        return self._issue("once", ONCE_SECONDS)

    def use_once(self, ticket: str | None) -> bool:
        """Whether ``ticket`` is genuine, unexpired and unused; marks it used."""
        checked = self._check("once", ticket)
        if checked is None:
            return False
        expires, nonce = checked
        store = self._state.store
        with self._lock:
            saved = store.get_setting(USED_SETTING)
            used = saved if isinstance(saved, dict) else {}
            if nonce in used:
                return False
            now = self._now()
            kept = {n: e for n, e in used.items() if isinstance(e, int | float) and e > now}
            kept[nonce] = expires
            store.set_setting(USED_SETTING, kept)
        return True

    # ---- sessions ----------------------------------------------------------------------------
    def new_session(self) -> str:
        return self._issue("session", SESSION_SECONDS)

    def session(self, request: Request) -> str | None:
        """The nonce of the request's valid session cookie, or None."""
        checked = self._check("session", request.cookies.get(COOKIE))
        return None if checked is None else checked[1]

    def binding_ref(self, access_key: str) -> str:
        """A stable name for a binding that pages can carry: unique like its access key (the
        bindings' key), but neither the key nor a part of it."""
        message = f"binding|{access_key}".encode()
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()[:32]

    def csrf_token(self, session_nonce: str) -> str:
        message = f"csrf|{session_nonce}".encode()
        return hmac.new(self._key(), message, hashlib.sha256).hexdigest()

    def csrf_ok(self, request: Request, session_nonce: str, form_value: str | None) -> bool:
        """Whether a write request carries the session's CSRF token (header or form field)."""
        expected = self.csrf_token(session_nonce).encode()
        given = request.headers.get(CSRF_HEADER) or form_value or ""
        return hmac.compare_digest(given.encode(), expected)
