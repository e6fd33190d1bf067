"""Checks 7-11: the binding exists, is not revoked, signs correctly, its user may log in, and it
has not expired.

In a shared deployment (Redis) the signature check leaves the replay check to the rate limiter's
script, so that a signed call makes one round trip for both: the checks between them (user state,
expiry, address, permission) read nothing from Redis, and a call one of them refuses, or that a
quota fault rule may answer, has its request id checked on its own (:func:`settle_replay`)."""

from __future__ import annotations

from mcapi._errors import ProtocolError
from mcapi._signing import parse_date, verify
from mcapi.emulator._pipeline._call import Call, Verdict, refuse
from mcapi.emulator._ratelimit import RedisRateLimiter
from mcapi.emulator._replay import RedisReplayCache


def check_access_key(call: Call) -> Verdict | None:
    assert call.signed is not None
    call.auth = call.state.store.auth_context(call.signed.access_key)
    if call.auth is None:
        return refuse("binding", "access key not found", 401, "0013")
    return None


def check_revoked(call: Call) -> Verdict | None:
    assert call.auth is not None
    binding = call.auth.binding
    if binding.revoked:
        why = binding.revoked_reason or "revoked"
        return refuse("binding", f"binding revoked ({why})", 401, "0012")
    return None


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f}" if minutes >= 1 else f"{minutes:.1f}"


def _date_reference(call: Call, signed_at: float) -> tuple[float, str]:
    """The instant x-mc-date is measured against (``EmulatorConfig.skew_reference``): the wall
    clock, the emulator's, or under ``"either"`` whichever of the two is nearer the date. Replays
    are remembered on the same instant, so that a date accepted within the window keeps its id
    refused for the window's length on that clock. Returns the instant and the clock's name."""
    reference = call.state.config.skew_reference
    if reference == "emulator":
        return call.now, "emulator clock"
    wall = call.state.clock.wall()
    if reference == "either" and abs(signed_at - call.now) < abs(signed_at - wall):
        return call.now, "emulator clock"
    return wall, "wall clock"


def check_signature(call: Call) -> Verdict | None:
    assert call.auth is not None and call.signed is not None
    config = call.state.config
    app_id = call.headers["x-mc-app-id"].strip()
    if app_id != call.auth.application.app_id:
        return refuse(
            "signature", "x-mc-app-id is not the application of this binding", 401, "0004"
        )
    raw_date = call.headers["x-mc-date"]
    try:
        signed_at = parse_date(raw_date).timestamp()
    except ProtocolError:
        return refuse("signature", "x-mc-date is not a date like 'Tue, 24 Nov 2015 12:50:11 UTC'",
                      401, "0004")  # fmt: skip
    reference, clock = _date_reference(call, signed_at)
    drift = signed_at - reference
    if abs(drift) > config.skew_seconds:
        side = "behind" if drift < 0 else "ahead of"
        reason = (
            f"signature refused: x-mc-date {_minutes(abs(drift))} minutes {side} the {clock}, "
            f"window {_minutes(config.skew_seconds)}"
        )
        return refuse("signature", reason, 401, "0004")
    request_id = call.headers["x-mc-req-id"].strip()
    if not verify(
        call.auth.binding.secret_key, raw_date, request_id, call.path,
        call.auth.application.app_key, call.signed.signature,
    ):  # fmt: skip
        return refuse(
            "signature",
            "signature mismatch: HMAC of x-mc-date:x-mc-req-id:path:appKey does not match",
            401, "0004",
        )  # fmt: skip
    if isinstance(call.state.replay, RedisReplayCache) and isinstance(
        call.state.limiter, RedisRateLimiter
    ):
        call.pending_replay = (request_id, reference)  # checked with the quota: one round trip
        return None
    if not call.state.replay.first_use(request_id, now=reference, window=config.replay_seconds):
        return replay_verdict(call)
    return None


def replay_verdict(call: Call) -> Verdict:
    minutes = _minutes(call.state.config.replay_seconds)
    return refuse(
        "signature", f"replay: x-mc-req-id already used within {minutes} minutes", 401, "0004"
    )


def settle_replay(call: Call, verdict: Verdict | None) -> Verdict | None:
    """The verdict of a call whose replay check was left to the quota step (a shared deployment
    checks the request id in the rate limiter's round trip) but which did not get there: a check
    after the signature's refused it, or a quota fault rule is installed. The check is made now,
    and a replay is answered as the signature check would have answered it, before any later
    check's verdict."""
    pending = call.pending_replay
    if pending is None:
        return verdict
    call.pending_replay = None
    request_id, reference = pending
    window = call.state.config.replay_seconds
    if not call.state.replay.first_use(request_id, now=reference, window=window):
        return replay_verdict(call)
    return verdict


def check_user_state(call: Call) -> Verdict | None:
    assert call.auth is not None
    user = call.auth.user
    if user.disabled:
        return refuse("user", f"user {user.email} is disabled", 401, "0011")
    if user.locked(call.now):
        assert user.locked_until is not None
        left = _minutes(user.locked_until - call.now)
        return refuse("user", f"user {user.email} is locked for {left} more minutes", 401, "0010")
    return None


def check_ttl(call: Call) -> Verdict | None:
    assert call.auth is not None
    binding = call.auth.binding
    if binding.expired(call.now):
        assert binding.expires_at is not None
        ago = _minutes(call.now - binding.expires_at)
        return refuse("ttl", f"binding expired {ago} minutes ago", 418, "0001")
    return None
