"""Every code of the table, produced through real HTTP by the condition that causes it.

Each test sets the condition up the way a user would meet it (a wrong key, an administrator's
action, time passing on the emulator clock, a policy) and never reaches into internals to force an
answer. The journal then says which check decided.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from mcapi._codes import missing_permission
from mcapi.emulator import Emulator
from tests.emulator.conftest import Api, Keys, code_of

pytestmark = pytest.mark.anyio

ACCOUNT = "/api/account/get-account"
LOGOUT = "/api/login/logout"


def last_entry(emu: Emulator) -> dict[str, object]:
    entries = emu.journal.entries(limit=1)
    assert entries
    return entries[-1].to_dict()


async def test_200_success_with_rate_limit_headers(api: Api) -> None:
    response = await api.call(ACCOUNT)
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["status"] == 200
    assert body["fail"] == []
    assert body["data"][0]["accountCode"] == "CUSA12345"
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert response.headers[header].isdigit()


async def test_404_unknown_function(api: Api) -> None:
    response = await api.call("/api/account/no-such-function")
    assert code_of(response) == "404 err_not_found"
    assert last_entry(api.emu)["check"] == "route"


async def test_405_method_not_post(api: Api) -> None:
    response = await api.http.get(ACCOUNT, headers=api.headers(ACCOUNT))
    assert code_of(response) == "405 err_method_not_allowed"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "neither JSON"),
        (b"{'data': [print]}", "neither JSON"),
        (b"[]", "JSON object"),
        (b'{"data": {}}', "array"),
        (b'{"data": ["x"]}', "data[0]"),
    ],
)
async def test_400_malformed_body(api: Api, body: bytes, reason: str) -> None:
    response = await api.call(ACCOUNT, body=body)
    assert code_of(response) == "400 err_request_malformed"
    assert reason in response.json()["fail"][0]["errors"][0]["message"]


@pytest.mark.parametrize(
    "body", [b"", b"  ", b"{}", b'{"meta": {}}', b'{"data": null}', b"{'data': []}"]
)
async def test_a_body_without_items_is_one_empty_item(api: Api, body: bytes) -> None:
    response = await api.call(ACCOUNT, body=body)
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["accountCode"] == api.creds.account_code


async def test_400_0001_no_authorization(api: Api) -> None:
    headers = api.headers(ACCOUNT)
    del headers["Authorization"]
    response = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    assert code_of(response) == "400 0001 err_xdk_credentials_missing"


@pytest.mark.parametrize("missing", ["x-mc-date", "x-mc-req-id", "x-mc-app-id"])
async def test_400_developer_headers_missing(api: Api, missing: str) -> None:
    headers = api.headers(ACCOUNT)
    del headers[missing]
    response = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    assert code_of(response) == "400 err_developer_key"
    assert missing in str(last_entry(api.emu)["reason"])


@pytest.mark.parametrize("header", ["Basic-Cloud abc", "mc key:sig", "Bearerabc:def"])
async def test_401_0005_realm_not_mc(api: Api, header: str) -> None:
    response = await api.call(ACCOUNT, headers={"Authorization": header})
    assert code_of(response) == "401 0005 err_xdk_realm_missing"


async def test_bearer_is_an_api_2_0_call_not_a_wrong_realm(api: Api) -> None:
    # A Bearer token is API 2.0's credential (tests/emulator/test_api2.py): an unknown one is
    # an invalid token, whatever signing headers come with it.
    response = await api.call(ACCOUNT, headers={"Authorization": "Bearer abc:def"})
    assert code_of(response) == "401 err_invalid_token"


async def test_401_0013_unknown_access_key(api: Api) -> None:
    keys = Keys("no-such-key", api.keys.secret_key, api.keys.app_id, api.keys.app_key)
    response = await api.call(ACCOUNT, keys=keys)
    assert code_of(response) == "401 0013 err_xdk_access_key_not_found"


async def test_401_0013_after_logout(api: Api) -> None:
    keys = await api.binding_for("admin@demo.example")
    response = await api.call(LOGOUT, [{"accessKey": keys.access_key}], keys=keys)
    assert response.json()["data"] == [{"accessKey": keys.access_key, "logout": True}]
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "401 0013 err_xdk_access_key_not_found"


async def test_401_0012_revoked_by_administrator(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example")
    await api.admin("POST", "/users/reader@demo.example/revoke-bindings")
    response = await api.call(ACCOUNT, keys=keys)
    assert code_of(response) == "401 0012 err_xdk_binding_revoked"
    assert "administrator" in str(last_entry(api.emu)["reason"])


async def test_401_0012_revoked_by_password_change(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example")
    await api.admin("POST", "/users/reader@demo.example/password", {"password": "n3w-Pass!"})
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "401 0012 err_xdk_binding_revoked"


async def test_401_0004_wrong_secret(api: Api) -> None:
    keys = Keys(api.keys.access_key, "AAAA" + api.keys.secret_key[4:], api.keys.app_id,
                api.keys.app_key)  # fmt: skip
    response = await api.call(ACCOUNT, keys=keys)
    assert code_of(response) == "401 0004 err_xdk_invalid_signature"
    assert response.json()["fail"][0]["errors"][0]["message"] == "0004 Invalid Signature"
    assert "signature mismatch" in str(last_entry(api.emu)["reason"])


async def test_401_0004_wrong_app_key(api: Api) -> None:
    keys = Keys(api.keys.access_key, api.keys.secret_key, api.keys.app_id, "wrong-app-key")
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "401 0004 err_xdk_invalid_signature"


async def test_401_0004_unknown_app_id(api: Api) -> None:
    keys = Keys(api.keys.access_key, api.keys.secret_key, "not-an-app", api.keys.app_key)
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "401 0004 err_xdk_invalid_signature"


async def test_401_0004_path_differs_from_the_signed_one(api: Api) -> None:
    headers = api.headers("/api/audit/get-audit-events")
    response = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    assert code_of(response) == "401 0004 err_xdk_invalid_signature"


async def test_401_0004_date_outside_the_skew_window(api: Api) -> None:
    # measured against the emulator clock (``--skew-clock emulator``), which the test moves
    api.emu.state.config = replace(api.emu.state.config, skew_reference="emulator")
    stale = api.headers(ACCOUNT)  # signed now...
    api.emu.clock.freeze()
    api.emu.clock.advance(21 * 60)  # ...and arriving 21 minutes later
    response = await api.http.post(ACCOUNT, json={"data": []}, headers=stale)
    assert code_of(response) == "401 0004 err_xdk_invalid_signature"
    reason = str(last_entry(api.emu)["reason"])
    assert "x-mc-date 21 minutes behind" in reason
    assert "window 15" in reason


async def test_date_within_the_window_is_accepted(api: Api) -> None:
    headers = api.headers(ACCOUNT)
    api.emu.clock.freeze()
    api.emu.clock.advance(14 * 60)
    assert (await api.http.post(ACCOUNT, json={"data": []}, headers=headers)).status_code == 200


async def test_401_0004_unreadable_date(api: Api) -> None:
    headers = api.headers(ACCOUNT)
    headers["x-mc-date"] = "yesterday"
    response = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    assert code_of(response) == "401 0004 err_xdk_invalid_signature"


async def test_401_0004_replayed_request_id(api: Api) -> None:
    headers = api.headers(ACCOUNT)
    first = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    again = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    assert first.status_code == 200
    assert code_of(again) == "401 0004 err_xdk_invalid_signature"
    assert "replay" in str(last_entry(api.emu)["reason"])


@pytest.mark.parametrize("reference", ["wall", "either"])
async def test_a_replay_after_the_clock_moved_is_still_refused(api: Api, reference: str) -> None:
    """Replays are remembered on the clock the date was accepted by: moving the emulator clock
    3 days does not make a wall-clock request id that is minutes old usable again."""
    api.emu.state.config = replace(api.emu.state.config, skew_reference=reference)
    headers = api.headers(ACCOUNT)  # dated now: the emulator clock is the wall clock here
    assert (await api.http.post(ACCOUNT, json={"data": []}, headers=headers)).status_code == 200
    api.emu.clock.advance(3 * 86400)
    again = await api.http.post(ACCOUNT, json={"data": []}, headers=headers)
    assert code_of(again) == "401 0004 err_xdk_invalid_signature"
    assert "replay" in str(last_entry(api.emu)["reason"])


async def test_401_0010_locked_by_administrator(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example")
    await api.admin("POST", "/users/reader@demo.example/lock", {"minutes": 15})
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "401 0010 err_xdk_account_locked"
    api.emu.clock.freeze()
    api.emu.clock.advance(16 * 60)  # the lock lapses; a new signature with the new time passes
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 200


async def test_401_0010_unlocked_by_administrator(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example")
    await api.admin("POST", "/users/reader@demo.example/lock", {"minutes": 15})
    await api.admin("POST", "/users/reader@demo.example/unlock")
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 200


async def test_418_0001_binding_ttl_lapsed(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example", ttl_seconds=3600)
    api.emu.clock.freeze()
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 200
    api.emu.clock.advance(3600)
    response = await api.call(ACCOUNT, keys=keys)
    assert code_of(response) == "418 0001 err_xdk_binding_expired"
    assert response.json()["fail"][0]["errors"][0]["retryable"] is True
    assert last_entry(api.emu)["check"] == "ttl"


async def test_403_0016_address_outside_permitted_ranges(api: Api) -> None:
    await api.admin("POST", "/users/admin@demo.example/ip-ranges", {"ranges": ["10.0.0.0/8"]})
    response = await api.call(ACCOUNT)  # the test transport calls from 198.51.100.7
    assert code_of(response) == "403 0016 err_xdk_forbidden_ip"
    await api.admin("POST", "/users/admin@demo.example/ip-ranges", {"ranges": ["198.51.100.0/24"]})
    assert (await api.call(ACCOUNT)).status_code == 200


async def test_403_0016_account_ranges_apply_when_the_user_has_none(api: Api) -> None:
    await api.admin("POST", "/accounts/CUSA12345/policy", {"permitted_ip_ranges": ["10.0.0.0/8"]})
    assert code_of(await api.call(ACCOUNT)) == "403 0016 err_xdk_forbidden_ip"


async def test_403_0002_permission_missing(api: Api) -> None:
    await api.admin("POST", "/users/reader@demo.example/permissions", {"permissions": []})
    keys = await api.binding_for("reader@demo.example")  # the change revoked older bindings
    response = await api.call(ACCOUNT, keys=keys)
    assert code_of(response) == "403 0002 err_xdk_forbidden"
    assert "Account | Dashboard | Read" in str(last_entry(api.emu)["reason"])
    # the answer names the permission too, after the sub code, so a caller can say which
    message = response.json()["fail"][0]["errors"][0]["message"]
    assert message == "0002 Forbidden, Missing Permission: Account | Dashboard | Read"
    assert missing_permission([message]) == "Account | Dashboard | Read"


async def test_429_0008_quota_spent_and_function_not_run(api: Api) -> None:
    api.emu.clock.freeze()
    await api.admin("POST", "/accounts/CUSA12345/policy", {"quota_limit": 2, "quota_reset_ms": 500})
    first, second, third = [await api.call(ACCOUNT) for _ in range(3)]
    assert [r.headers["x-ratelimit-remaining"] for r in (first, second)] == ["1", "0"]
    assert code_of(third) == "429 0008 err_xdk_rate_limit_exceeded"
    assert third.headers["x-ratelimit-limit"] == "2"
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert third.headers["x-ratelimit-reset"] == "500"
    api.emu.clock.advance(0.5)  # one call comes back
    fourth = await api.call(ACCOUNT)
    assert fourth.status_code == 200
    assert fourth.headers["x-ratelimit-remaining"] == "0"


async def test_429_quota_is_per_user_across_bindings(api: Api) -> None:
    await api.admin(
        "POST", "/accounts/CUSA12345/policy", {"quota_limit": 1, "quota_reset_ms": 60000}
    )
    other_binding = await api.binding_for("admin@demo.example")
    assert (await api.call(ACCOUNT)).status_code == 200
    assert (await api.call(ACCOUNT, keys=other_binding)).status_code == 429


async def test_429_0008_function_not_executed(api: Api) -> None:
    await api.admin(
        "POST", "/accounts/CUSA12345/policy", {"quota_limit": 1, "quota_reset_ms": 60000}
    )
    keys = await api.binding_for("admin@demo.example")
    assert (await api.call(ACCOUNT)).status_code == 200
    refused = await api.call(LOGOUT, [{"accessKey": keys.access_key}])
    assert refused.status_code == 429
    assert api.emu.store.get_binding(keys.access_key) is not None  # logout did not run


async def test_429_per_function_quota(api: Api) -> None:
    policy = {"function_quotas": {ACCOUNT: {"limit": 1, "reset_ms": 1000}}}
    await api.admin("POST", "/accounts/CUSA12345/policy", policy)
    assert (await api.call(ACCOUNT)).status_code == 200
    assert (await api.call(ACCOUNT)).status_code == 429
    assert (await api.call(LOGOUT, [])).status_code == 200  # the default bucket is untouched


async def test_429_forced_nth_call(api: Api) -> None:
    rule = {
        "at": "quota",
        "match": {"path": ACCOUNT, "call_number": 2},
        "effect": {"status": 429, "reset_ms": 1234},
    }
    await api.admin("POST", "/faults", rule)
    first, second, third = [await api.call(ACCOUNT) for _ in range(3)]
    assert [first.status_code, second.status_code, third.status_code] == [200, 429, 200]
    assert second.headers["x-ratelimit-reset"] == "1234"


async def test_500_0006_fault_rule_fail_twice_then_succeed(api: Api) -> None:
    rule = {"match": {"path": ACCOUNT, "times": 2}, "effect": {"status": 500, "sub_code": "0006"}}
    await api.admin("POST", "/faults", rule)
    answers = [await api.call(ACCOUNT) for _ in range(3)]
    assert [code_of(r) for r in answers[:2]] == ["500 0006 err_xdk_external_resource"] * 2
    # the catalogue marks 0006 not retryable: it may follow execution (a read is still repeated)
    assert answers[0].json()["fail"][0]["errors"][0]["retryable"] is False
    assert answers[2].status_code == 200
    assert last_entry(api.emu)["fault"] is None


async def test_fault_rule_any_catalogue_code(api: Api) -> None:
    rule = {"match": {"path": ACCOUNT}, "effect": {"status": 418, "sub_code": "0001"}}
    await api.admin("POST", "/faults", rule)
    assert code_of(await api.call(ACCOUNT)) == "418 0001 err_xdk_binding_expired"


async def test_fault_item_failures_inside_a_200(api: Api) -> None:
    a = await api.binding_for("admin@demo.example")
    b = await api.binding_for("admin@demo.example")
    effect = {"item_failures": [{"index": 1, "code": "err_validation_blank", "field": "accessKey"}]}
    await api.admin("POST", "/faults", {"match": {"path": LOGOUT}, "effect": effect})
    response = await api.call(LOGOUT, [{"accessKey": a.access_key}, {"accessKey": b.access_key}])
    body = response.json()
    assert response.status_code == 200
    assert body["data"] == [{"accessKey": a.access_key, "logout": True}]
    assert body["fail"][0]["key"] == {"accessKey": b.access_key}
    assert body["fail"][0]["errors"][0]["code"] == "err_validation_blank"
    assert body["fail"][0]["errors"][0]["field"] == "accessKey"
    assert api.emu.store.get_binding(b.access_key) is not None  # item 1 never ran


# ---- login ------------------------------------------------------------------------------------


async def test_login_success_and_new_binding(api: Api) -> None:
    response = await api.login("admin@demo.example", str(api.creds.admin_password))
    assert response.status_code == 200
    item = response.json()["data"][0]
    keys = Keys(item["accessKey"], item["secretKey"], api.creds.app_id, api.creds.app_key)
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 200


async def test_login_400_0001_no_authorization(api: Api) -> None:
    response = await api.http.post(
        "/api/login/login", json={"data": [{"userName": "admin@demo.example"}]},
        headers={"x-mc-app-id": api.creds.app_id, "x-mc-date": "Tue, 24 Nov 2015 12:50:11 UTC",
                 "x-mc-req-id": "1"},
    )  # fmt: skip
    assert code_of(response) == "400 0001 err_xdk_credentials_missing"


async def test_login_401_0001_user_or_password_missing(api: Api) -> None:
    headers = {
        "Authorization": "Basic-Cloud " + "YWRtaW5AZGVtby5leGFtcGxl",  # "admin@demo.example"
        "x-mc-app-id": api.creds.app_id, "x-mc-date": "Tue, 24 Nov 2015 12:50:11 UTC",
        "x-mc-req-id": "1",
    }  # fmt: skip
    response = await api.http.post("/api/login/login", json={"data": []}, headers=headers)
    assert code_of(response) == "401 0001 err_xdk_credentials_incomplete"


async def test_login_401_0001_auth_type_not_supported(api: Api) -> None:
    seed = {
        "accounts": [{
            "code": "CUSA20002", "name": "Cloud Only",
            "domains": [{"domain": "cloudonly.example"}],
            "users": [{"email": "ann@cloudonly.example", "password": "pw-1234",
                       "auth_types": ["cloud"]}],
        }]
    }  # fmt: skip
    await api.admin("POST", "/seed?wait=60", seed)
    response = await api.login("ann@cloudonly.example", "pw-1234", auth="domain")
    assert code_of(response) == "401 0001 err_xdk_auth_type_not_supported"
    # the auth type is judged only once the password is right: a wrong one says nothing more
    wrong = await api.login("ann@cloudonly.example", "not-it", auth="domain")
    assert code_of(wrong) == "401 0003 err_xdk_invalid_credentials"


async def test_login_404_0003_domain_not_managed(api: Api) -> None:
    response = await api.login("someone@unmanaged.example", "pw")
    assert code_of(response) == "404 0003 err_xdk_domain_not_managed"
    discovered = await api.http.post(
        "/api/login/discover-authentication",
        json={"data": [{"emailAddress": "x@unmanaged.example"}]},
        headers={"x-mc-app-id": "a", "x-mc-date": "d", "x-mc-req-id": "r"},
    )
    assert code_of(discovered) == "404 0003 err_xdk_domain_not_managed"


async def test_discover_gives_base_url_and_auth_types(api: Api) -> None:
    response = await api.http.post(
        "/api/login/discover-authentication",
        json={"data": [{"emailAddress": "admin@demo.example"}]},
        headers={"x-mc-app-id": api.creds.app_id, "x-mc-date": "d", "x-mc-req-id": "r"},
    )
    item = response.json()["data"][0]
    assert item["region"]["api"] == "http://emulator.test"
    assert "cloud" in item["authenticate"]


async def test_login_401_0003_wrong_password_and_unknown_user_alike(api: Api) -> None:
    wrong = await api.login("admin@demo.example", "wrong")
    unknown = await api.login("nobody@demo.example", "wrong")
    assert code_of(wrong) == code_of(unknown) == "401 0003 err_xdk_invalid_credentials"
    assert wrong.json() == unknown.json()


async def test_unknown_addresses_lock_like_users(api: Api) -> None:
    """Unknown users and wrong passwords stay indistinguishable through a whole lockout."""
    api.emu.clock.freeze()
    known = [(await api.login("admin@demo.example", "wrong")).json() for _ in range(7)]
    unknown = [(await api.login("nobody@demo.example", "wrong")).json() for _ in range(7)]
    assert known == unknown
    assert [k["fail"][0]["errors"][0]["message"][:4] for k in known] == ["0003"] * 5 + ["0010"] * 2
    api.emu.clock.advance(15 * 60)
    assert code_of(await api.login("nobody@demo.example", "wrong")) == (
        "401 0003 err_xdk_invalid_credentials"
    )


async def test_discovery_answers_every_address_alike(api: Api) -> None:
    async def discover(address: str) -> object:
        response = await api.http.post(
            "/api/login/discover-authentication",
            json={"data": [{"emailAddress": address}]},
            headers={"x-mc-app-id": api.creds.app_id, "x-mc-date": "d", "x-mc-req-id": "r"},
        )
        item = response.json()["data"][0]
        item.pop("emailAddress")
        return item

    assert await discover("reader@demo.example") == await discover("nobody@demo.example")


async def test_login_lockout_at_threshold_then_lapse(api: Api) -> None:
    api.emu.clock.freeze()
    codes = [code_of(await api.login("admin@demo.example", "wrong")) for _ in range(6)]
    assert codes[:5] == ["401 0003 err_xdk_invalid_credentials"] * 5
    assert codes[5] == "401 0010 err_xdk_account_locked"
    right = str(api.creds.admin_password)
    assert (
        code_of(await api.login("admin@demo.example", right)) == "401 0010 err_xdk_account_locked"
    )
    api.emu.clock.advance(15 * 60)
    assert (await api.login("admin@demo.example", right)).status_code == 200


async def test_login_401_0011_disabled(api: Api) -> None:
    password = api.creds.passwords["former@demo.example"]
    response = await api.login("former@demo.example", password)
    assert code_of(response) == "401 0011 err_xdk_account_disabled"
    wrong = await api.login("former@demo.example", "not-the-password")
    assert code_of(wrong) == "401 0003 err_xdk_invalid_credentials"


async def test_login_403_0009_password_expired(api: Api) -> None:
    await api.admin("POST", "/users/admin@demo.example/expire-password")
    response = await api.login("admin@demo.example", str(api.creds.admin_password))
    assert code_of(response) == "403 0009 err_xdk_password_expired"


async def test_login_403_0016_address(api: Api) -> None:
    await api.admin("POST", "/users/admin@demo.example/ip-ranges", {"ranges": ["10.0.0.0/8"]})
    response = await api.login("admin@demo.example", str(api.creds.admin_password))
    assert code_of(response) == "403 0016 err_xdk_forbidden_ip"


async def test_login_403_0012_binding_limit(api: Api) -> None:
    await api.admin("POST", "/accounts/CUSA12345/policy", {"max_bindings_per_user": 2})
    password = str(api.creds.admin_password)
    first = await api.login("admin@demo.example", password)  # the demo binding is the other one
    second = await api.login("admin@demo.example", password)
    assert first.status_code == 200
    assert code_of(second) == "403 0012 err_xdk_binding_limit_reached"


async def test_refresh_extends_the_same_binding(api: Api) -> None:
    await api.admin("POST", "/accounts/CUSA12345/policy", {"binding_ttl_seconds": 3600})
    api.emu.clock.freeze()
    password = str(api.creds.admin_password)
    item = (await api.login("admin@demo.example", password)).json()["data"][0]
    keys = Keys(item["accessKey"], item["secretKey"], api.creds.app_id, api.creds.app_key)
    api.emu.clock.advance(3601)
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 418
    refreshed = await api.login(
        "admin@demo.example", password,
        item={"userName": "admin@demo.example", "accessKey": keys.access_key},
    )  # fmt: skip
    assert refreshed.json()["data"][0]["accessKey"] == keys.access_key
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 200


@pytest.mark.parametrize("case", ["unknown", "revoked", "other-user"])
async def test_login_401_0008_refresh_impossible(api: Api, case: str) -> None:
    access_key = "no-such-key"
    if case == "revoked":
        keys = await api.binding_for("admin@demo.example")
        await api.admin("POST", "/users/admin@demo.example/revoke-bindings")
        access_key = keys.access_key
    if case == "other-user":
        access_key = (await api.binding_for("reader@demo.example")).access_key
    response = await api.login(
        "admin@demo.example", str(api.creds.admin_password),
        item={"userName": "admin@demo.example", "accessKey": access_key},
    )  # fmt: skip
    assert code_of(response) == "401 0008 err_xdk_binding_not_refreshable"


# ---- precedence: where two checks apply, the contract's order decides --------------------------


async def test_precedence_missing_credentials_before_developer_headers(api: Api) -> None:
    response = await api.http.post(ACCOUNT, json={"data": []})
    assert code_of(response) == "400 0001 err_xdk_credentials_missing"


async def test_precedence_route_before_everything(api: Api) -> None:
    response = await api.http.get("/api/nope")
    assert code_of(response) == "404 err_not_found"


async def test_precedence_revoked_before_bad_signature(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example")
    await api.admin("POST", "/users/reader@demo.example/revoke-bindings")
    bad = Keys(keys.access_key, keys.secret_key, keys.app_id, "wrong")
    assert code_of(await api.call(ACCOUNT, keys=bad)) == "401 0012 err_xdk_binding_revoked"


async def test_precedence_bad_signature_before_expiry_and_lock(api: Api) -> None:
    keys = await api.binding_for("reader@demo.example", ttl_seconds=60)
    await api.admin("POST", "/users/reader@demo.example/lock")
    api.emu.clock.freeze()
    api.emu.clock.advance(120)
    bad = Keys(keys.access_key, keys.secret_key, keys.app_id, "wrong")
    assert code_of(await api.call(ACCOUNT, keys=bad)) == "401 0004 err_xdk_invalid_signature"
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "401 0010 err_xdk_account_locked"


async def test_precedence_expiry_before_ip_and_permission(api: Api) -> None:
    await api.admin("POST", "/users/reader@demo.example/permissions", {"permissions": []})
    keys = await api.binding_for("reader@demo.example", ttl_seconds=60)
    await api.admin("POST", "/users/reader@demo.example/ip-ranges", {"ranges": ["10.0.0.0/8"]})
    api.emu.clock.freeze()
    api.emu.clock.advance(61)
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "418 0001 err_xdk_binding_expired"


async def test_precedence_ip_before_permission(api: Api) -> None:
    await api.admin("POST", "/users/reader@demo.example/permissions", {"permissions": []})
    keys = await api.binding_for("reader@demo.example")
    await api.admin("POST", "/users/reader@demo.example/ip-ranges", {"ranges": ["10.0.0.0/8"]})
    assert code_of(await api.call(ACCOUNT, keys=keys)) == "403 0016 err_xdk_forbidden_ip"


async def test_precedence_permission_before_quota(api: Api) -> None:
    await api.admin(
        "POST", "/accounts/CUSA12345/policy", {"quota_limit": 1, "quota_reset_ms": 60000}
    )
    await api.admin("POST", "/users/reader@demo.example/permissions", {"permissions": []})
    keys = await api.binding_for("reader@demo.example")
    for _ in range(3):  # refused calls take nothing from the quota
        assert code_of(await api.call(ACCOUNT, keys=keys)) == "403 0002 err_xdk_forbidden"


async def test_precedence_quota_before_faults(api: Api) -> None:
    await api.admin(
        "POST", "/accounts/CUSA12345/policy", {"quota_limit": 1, "quota_reset_ms": 60000}
    )
    await api.admin("POST", "/faults", {"match": {"path": ACCOUNT}, "effect": {"status": 500}})
    assert (await api.call(ACCOUNT)).status_code == 500
    assert code_of(await api.call(ACCOUNT)) == "429 0008 err_xdk_rate_limit_exceeded"


async def test_journal_redacts_secrets(api: Api) -> None:
    await api.call(ACCOUNT)
    await api.login("admin@demo.example", str(api.creds.admin_password))
    await api.login("admin@demo.example", "Sup3rSecretGuess")
    dumped = json.dumps(api.emu.journal.to_dict())
    jsonl = (await api.admin("GET", "/journal?format=jsonl")).text
    for secret in (api.keys.secret_key, api.keys.app_key, str(api.creds.admin_password),
                   "Sup3rSecretGuess"):  # fmt: skip
        assert secret not in dumped
        assert secret not in jsonl
