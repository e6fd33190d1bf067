"""The quota decision is settled once, before the answer is built; rendering takes no token.

Every answer's ``X-RateLimit-*`` headers report the decision the access step made for that call:
the token the quota check took, the user's bucket as it stood (a signed call refused before the
quota check), or the token an anonymous call took from its address's bucket. Building the answer,
however often, neither takes another token nor reads the limiter again.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from mcapi._signing import build_login_header, format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._app import PIPELINE, UNSIGNED_PIPELINE
from mcapi.emulator._pipeline._access import rate_key, settle_rate, user_bucket
from mcapi.emulator._pipeline._call import Call
from mcapi.emulator._pipeline._respond import json_headers, rate_headers
from mcapi.emulator._pipeline._runner import run_checks
from mcapi.emulator._ratelimit import DEFAULT_BUCKET, Decision
from tests.emulator.conftest import Api, Keys

pytestmark = pytest.mark.anyio

ACCOUNT = "/api/account/get-account"
LOGIN = "/api/login/login"
CLIENT_IP = "198.51.100.7"  # the api fixture's client address


def _call(emu: Emulator, path: str, headers: dict[str, str]) -> Call:
    return Call(
        state=emu.state, method="POST", path=path,
        headers={name.lower(): value for name, value in headers.items()},
        client_ip=CLIENT_IP, body=b'{"data": []}', now=emu.clock.now(),
    )  # fmt: skip


def _signed(emu: Emulator, keys: Keys, path: str = ACCOUNT) -> dict[str, str]:
    return signed_headers(
        access_key=keys.access_key, secret_key=keys.secret_key, app_id=keys.app_id,
        app_key=keys.app_key, path=path, date=format_date(emu.clock.now()),
        request_id=new_request_id(),
    )  # fmt: skip


def _user_bucket(emu: Emulator) -> Decision:
    user = emu.store.find_user("admin@demo.example")
    account = emu.store.find_account("CUSA12345")
    assert user is not None and account is not None
    bucket, limit, reset_ms = user_bucket(account, ACCOUNT)
    return emu.state.limiter.peek(
        rate_key(user.id), bucket, limit=limit, reset_ms=reset_ms, now=emu.clock.now()
    )


def _address_bucket(emu: Emulator) -> Decision:
    limit, reset_ms = emu.config.anonymous_quota
    return emu.state.limiter.peek(
        f"ip:{CLIENT_IP}", DEFAULT_BUCKET, limit=limit, reset_ms=reset_ms, now=emu.clock.now()
    )


def _keys(creds: EmulatorCredentials, **override: str) -> Keys:
    return replace(
        Keys(creds.access_key, creds.secret_key, creds.app_id, creds.app_key), **override
    )


@pytest.mark.parametrize(
    ("case", "checks", "refused_by"),
    [
        ("success", PIPELINE, None),
        ("bad signature", PIPELINE, "signature"),
        ("unknown access key", PIPELINE, "binding"),
        ("login", UNSIGNED_PIPELINE, None),
    ],
)
def test_rendering_an_answer_takes_no_token(
    emu: Emulator, creds: EmulatorCredentials, case: str, checks: object, refused_by: str | None
) -> None:
    emu.clock.freeze()
    emu.admin.set_policy("CUSA12345", quota_limit=5, quota_reset_ms=60000)
    if case == "login":
        call = _call(emu, LOGIN, {
            "Authorization": build_login_header("cloud", "admin@demo.example", "x"),
            "x-mc-app-id": creds.app_id, "x-mc-date": format_date(emu.clock.now()),
            "x-mc-req-id": new_request_id(),
        })  # fmt: skip
    elif case == "bad signature":
        wrong = "c2VjcmV0IHRoYXQgaXMgbm90IHRoZSBiaW5kaW5nJ3M="
        call = _call(emu, ACCOUNT, _signed(emu, _keys(creds, secret_key=wrong)))
    elif case == "unknown access key":
        call = _call(emu, ACCOUNT, _signed(emu, _keys(creds, access_key="no-such-access-key")))
    else:
        call = _call(emu, ACCOUNT, _signed(emu, _keys(creds)))
    assert isinstance(checks, tuple)
    verdict = run_checks(call, checks)
    assert (verdict.check if verdict else None) == refused_by
    decision = settle_rate(call)
    anonymous = call.auth is None
    bucket = _address_bucket if anonymous else _user_bucket
    # The access step took exactly one token, or none for a signed call refused before the quota
    # check (its answer shows the user's bucket as it stands).
    expected_remaining = {"success": 4, "bad signature": 5}.get(case, 299)
    assert decision.remaining == expected_remaining
    assert bucket(emu).remaining == expected_remaining

    rendered = [rate_headers(call) for _ in range(3)]
    pairs = [json_headers(call, b"{}") for _ in range(3)]
    assert rendered == [decision.headers()] * 3
    assert all(p == pairs[0] for p in pairs)
    assert (b"x-ratelimit-remaining", str(expected_remaining).encode()) in pairs[0]
    assert bucket(emu).remaining == expected_remaining  # rendering took nothing


def _remaining(response: httpx.Response) -> tuple[int, str, str]:
    headers = response.headers
    return response.status_code, headers["x-ratelimit-limit"], headers["x-ratelimit-remaining"]


async def test_headers_over_a_sequence_count_one_token_per_call(api: Api) -> None:
    """Signed calls count down the user's bucket; refused ones before the quota check show it
    unchanged; anonymous calls count down the address's bucket, each call by one."""
    emu = api.emu
    emu.clock.freeze()
    await api.admin(
        "POST", "/accounts/CUSA12345/policy", {"quota_limit": 3, "quota_reset_ms": 1000}
    )
    wrong = replace(api.keys, secret_key="d3Jvbmcgc2VjcmV0IGtleSBoZXJl")
    unknown = replace(api.keys, access_key="no-such-access-key")
    seen = [
        _remaining(await api.call(ACCOUNT)),
        _remaining(await api.call(ACCOUNT, keys=wrong)),
        _remaining(await api.login("admin@demo.example", "not the password")),
        _remaining(await api.call(ACCOUNT)),
        _remaining(await api.call(ACCOUNT, keys=unknown)),
        _remaining(await api.call(ACCOUNT)),
        _remaining(await api.call(ACCOUNT)),
        _remaining(await api.login("admin@demo.example", "not the password")),
    ]
    assert seen == [
        (200, "3", "2"),
        (401, "3", "2"),  # refused at the signature: the user's bucket, untouched
        (401, "300", "299"),  # anonymous: the address's bucket
        (200, "3", "1"),
        (401, "300", "298"),
        (200, "3", "0"),
        (429, "3", "0"),  # denied: takes nothing
        (401, "300", "297"),
    ]
    assert _user_bucket(emu).remaining == 0
    assert _address_bucket(emu).remaining == 297
    emu.clock.advance(1.0)  # one call comes back
    assert _remaining(await api.call(ACCOUNT)) == (200, "3", "0")
    assert _user_bucket(emu).remaining == 0
