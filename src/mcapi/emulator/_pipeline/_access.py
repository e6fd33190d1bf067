"""Checks 12-15: permitted IP ranges, the function's permission, the quota, and fault rules.

The quota check takes the call's token; :func:`settle_rate` gives every other call (refused
earlier, or unsigned) the decision its ``X-RateLimit-*`` headers report. Both leave it on the
call, so the renderer only formats what was decided here.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from mcapi._codes import lookup, missing_permission_message
from mcapi.emulator._faults import FaultEffect
from mcapi.emulator._pipeline._binding import replay_verdict, settle_replay
from mcapi.emulator._pipeline._call import Call, Verdict, refuse
from mcapi.emulator._ratelimit import DEFAULT_BUCKET, Decision, RedisRateLimiter
from mcapi.emulator._replay import RedisReplayCache, expiry_ms
from mcapi.emulator._store import Account, AuthContext
from mcapi.emulator._store._api2 import Api2AuthContext


@lru_cache(maxsize=1024)
def _networks(
    ranges: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(r, strict=False) for r in ranges)


def ip_permitted(client_ip: str, ranges: tuple[str, ...]) -> bool:
    """Whether ``client_ip`` lies in one of ``ranges`` (no ranges: every address)."""
    if not ranges:
        return True
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in _networks(ranges))


def check_ip(call: Call) -> Verdict | None:
    assert call.auth is not None
    ranges = call.auth.user.effective_ip_ranges(call.auth.account)
    if not ip_permitted(call.client_ip, ranges):
        return refuse(
            "ip", f"client address {call.client_ip} is outside the permitted ranges", 403, "0016"
        )
    return None


def check_permission(call: Call) -> Verdict | None:
    assert call.auth is not None and call.spec is not None
    permission = call.spec.permission
    if permission is not None and not call.auth.user.has_permission(permission):
        return Verdict(
            entry=lookup(403, "0002"),
            check="permission",
            reason=f"user {call.auth.user.email} lacks '{permission}'",
            message=missing_permission_message(permission),
        )
    return None


def rate_key(user_id: int) -> str:
    return f"user:{user_id}"


def app_rate_key(client_id: str) -> str:
    """The rate-limit key of an API 2.0 application's calls."""
    return f"app:{client_id}"


def quota_key(auth: AuthContext) -> str:
    """Whose quota a call spends: the user's (API 1.0) or the API 2.0 application's."""
    if isinstance(auth, Api2AuthContext):
        return app_rate_key(auth.api2_app.client_id)
    return rate_key(auth.user.id)


def user_bucket(account: Account, path: str) -> tuple[str, int, int]:
    """The rate-limit bucket a call to ``path`` spends from, with its limit and reset interval:
    the function's own when the account gives it one, else the user's shared bucket."""
    quota = account.quota_for(path)
    bucket = path if path in account.function_quotas else DEFAULT_BUCKET
    return bucket, quota.limit, quota.reset_ms


def check_quota(call: Call) -> Verdict | None:
    assert call.auth is not None and call.spec is not None
    state = call.state
    path = call.spec.path
    bucket, limit, reset_ms = user_bucket(call.auth.account, path)
    if call.pending_replay is not None and state.faults.has_rules("quota"):
        replayed = settle_replay(call, None)  # a replay is not counted by the quota rules
        if replayed is not None:
            return replayed
    forced = state.faults.match(path, call.auth.user.email, at="quota")
    if forced is not None:  # a quota rule: answered as a spent quota, no token taken
        assert forced.effect.reset_ms is not None
        call.rate = Decision(False, limit, 0, forced.effect.reset_ms)
        call.fault_rule = forced.id
        return _quota_verdict(call, f"forced quota rule {forced.id}: call to {path} refused")
    key = quota_key(call.auth)
    limiter = state.limiter
    if call.pending_replay is not None and not state.faults.has_rules("fault"):
        # Nothing after this check reads Redis: the runner awaits the round trip after the checks
        # (settle_quota), and the event loop answers other calls meanwhile.
        call.pending_quota = (key, bucket, limit, reset_ms)
        return None
    if call.pending_replay is not None:
        assert isinstance(limiter, RedisRateLimiter)
        decision = limiter.acquire_first_use(
            key, bucket, limit=limit, reset_ms=reset_ms, now=call.now, **_first_use(call)
        )
        return _first_used(call, decision, bucket, limit, reset_ms)
    call.rate = limiter.acquire(key, bucket, limit=limit, reset_ms=reset_ms, now=call.now)
    return _spent(call, bucket, limit, reset_ms)


async def settle_quota(call: Call) -> Verdict | None:
    """The quota step's round trip that :func:`check_quota` left to the runner: the replay check
    and a token in one script; the verdict ``check_quota`` would have given."""
    assert call.pending_quota is not None and call.pending_replay is not None
    limiter = call.state.limiter
    assert isinstance(limiter, RedisRateLimiter)
    key, bucket, limit, reset_ms = call.pending_quota
    call.pending_quota = None
    decision = await limiter.acquire_first_use_async(
        key, bucket, limit=limit, reset_ms=reset_ms, now=call.now, **_first_use(call)
    )
    return _first_used(call, decision, bucket, limit, reset_ms)


def _first_use(call: Call) -> dict[str, Any]:
    """The replay half of the first-use script's arguments (the pending replay check taken)."""
    replay = call.state.replay
    assert isinstance(replay, RedisReplayCache) and call.pending_replay is not None
    request_id, reference = call.pending_replay
    call.pending_replay = None
    return {
        "replay_key": replay.key(request_id),
        "seen_at": reference,
        "window_ms": expiry_ms(call.state.config.replay_seconds),
    }


def _first_used(
    call: Call, decision: Decision | None, bucket: str, limit: int, reset_ms: int
) -> Verdict | None:
    """The verdict after the first-use script: a replay (no token taken), or the quota's."""
    if decision is None:
        return replay_verdict(call)
    call.rate = decision
    return _spent(call, bucket, limit, reset_ms)


def _spent(call: Call, bucket: str, limit: int, reset_ms: int) -> Verdict | None:
    assert call.rate is not None and call.spec is not None
    if call.rate.allowed:
        return None
    path = call.spec.path
    which = f"the quota of {path}" if bucket != DEFAULT_BUCKET else "the user's quota"
    return _quota_verdict(call, f"{which} is spent ({limit} calls, one back every {reset_ms} ms)")


def _quota_verdict(call: Call, reason: str) -> Verdict:
    return refuse("quota", reason, 429, "0008")


def settle_rate(call: Call) -> Decision:
    """The quota decision the call's answer reports, decided once, before the answer is built.

    A call that reached the quota check keeps its decision. A call refused earlier whose binding
    is known reports the user's bucket without taking from it; any other call (login, discovery,
    refused credentials) takes a token from a per-address bucket that counts anonymous calls but
    never refuses one: the quota check comes after authentication, as the contract orders it.
    """
    if call.rate is not None:
        return call.rate
    state = call.state
    if call.auth is not None:
        bucket, limit, reset_ms = user_bucket(
            call.auth.account, call.spec.path if call.spec else ""
        )
        call.rate = state.limiter.peek(
            quota_key(call.auth), bucket, limit=limit, reset_ms=reset_ms, now=call.now
        )
    else:
        limit, reset_ms = state.config.anonymous_quota
        call.rate = state.limiter.acquire(
            f"ip:{call.client_ip}", DEFAULT_BUCKET, limit=limit, reset_ms=reset_ms, now=call.now
        )
    return call.rate


def check_faults(call: Call) -> Verdict | None:
    state = call.state
    rule = state.faults.match(call.path, call.user_email)
    if rule is None:
        return None
    effect = rule.effect
    call.fault = effect
    call.fault_rule = rule.id
    if effect.status is None or effect.after_execution or effect.body is not None:
        # latency, a transport fault, item failures, an answer after the function ran or
        # without the envelope: applied by the runner
        return None
    return fault_verdict(call, rule.id, effect)


def fault_verdict(call: Call, rule_id: str | None, effect: FaultEffect) -> Verdict:
    """The envelope answer of a fault with a catalogue ``status``."""
    assert effect.status is not None
    entry = lookup(effect.status, effect.sub_code, effect.body_code)
    headers: dict[str, str] = {}
    if effect.status == 429 and effect.reset_ms is not None and call.rate is not None:
        headers["X-RateLimit-Remaining"] = "0"
        headers["X-RateLimit-Reset"] = str(effect.reset_ms)
    return Verdict(
        entry=entry,
        check="fault",
        reason=f"fault rule {rule_id} answers {entry.label}",
        retryable=effect.retryable,
        headers=headers,
    )
