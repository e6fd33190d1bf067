"""API 2.0: the Bearer token check that replaces checks 4-11 of a signed call.

A call whose ``Authorization`` is ``Bearer <token>`` is an API 2.0 call: it passes the route,
method and body checks, then :func:`check_bearer`, then the same IP range, permission, quota and
fault checks as a signed call (``BEARER_PIPELINE`` in ``mcapi.emulator._app``). The token names an
API 2.0 application; the call acts as that application's principal (``api2:<client id>``), with
the role's permissions and a quota of its own.
"""

from __future__ import annotations

from mcapi.emulator._pipeline._call import Call, Verdict, refuse

_SCHEME = "bearer "
#: RFC 6750 section 3: how a resource server names a bad token (the emulator's own choice here).
_CHALLENGE = 'Bearer error="invalid_token"'


def is_bearer(call: Call) -> bool:
    """Whether the call authenticates with an API 2.0 access token."""
    return call.headers.get("authorization", "")[:7].lower() == _SCHEME


def _invalid(reason: str) -> Verdict:
    verdict = refuse("token", reason, 401, None, "err_invalid_token")
    return Verdict(verdict.entry, verdict.check, reason, headers={"WWW-Authenticate": _CHALLENGE})


def check_bearer(call: Call) -> Verdict | None:
    token = call.headers["authorization"][7:].strip()
    if not token:
        return _invalid("Authorization: Bearer without a token")
    auth = call.state.store.api2_auth_context(token)
    if auth is None:
        return _invalid("access token unknown (never issued, or its application was revoked)")
    call.auth = auth
    if auth.binding.revoked:
        return _invalid(f"API 2.0 application {auth.application.app_id} is revoked")
    if call.now >= auth.token_expires_at:
        ago = (call.now - auth.token_expires_at) / 60
        return _invalid(f"access token expired {ago:.1f} minutes ago")
    return None
