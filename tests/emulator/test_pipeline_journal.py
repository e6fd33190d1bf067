"""The edges of the pipeline's checks, through real HTTP: where a literal body stops being
acceptable, and what the journal records about the check that decided.

Written against the survivors of ``make mutation-pipeline``: each test pins a bound or a journal
field that a one-token change could otherwise break unnoticed.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.emulator.conftest import Api, code_of

pytestmark = pytest.mark.anyio

ACCOUNT = "/api/account/get-account"
DISCOVER = "/api/login/discover-authentication"


def last(api: Api) -> dict[str, object]:
    (entry,) = api.emu.journal.entries(limit=1)
    return entry.to_dict()


# ---- literal bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "accepted"),
    [
        (-(2**63), True),
        (-(2**63) - 1, False),
        (2**64 - 1, True),
        (2**64, False),
    ],
)
async def test_a_literal_bodys_integers_stay_in_the_databases_range(
    api: Api, number: int, accepted: bool
) -> None:
    response = await api.call(ACCOUNT, body=f"{{'data': [], 'meta': {{'n': {number}}}}}".encode())
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert code_of(response) == "400 err_request_malformed"
        assert (
            last(api)["reason"] == "the body is a Python literal, but it holds a number too large"
        )


async def test_a_literal_body_with_a_finite_float_is_accepted(api: Api) -> None:
    response = await api.call(ACCOUNT, body=b"{'data': [], 'meta': {'x': [1.5, -0.0]}}")
    assert response.status_code == 200, response.text


async def test_a_literal_body_with_an_infinite_number_is_refused(api: Api) -> None:
    response = await api.call(ACCOUNT, body=b"{'data': [], 'meta': {'x': [1e999]}}")
    assert code_of(response) == "400 err_request_malformed"
    assert last(api)["reason"] == (
        "the body is a Python literal, but it holds a number JSON cannot write"
    )


@pytest.mark.parametrize(("levels", "accepted"), [(31, True), (32, False)])
async def test_a_literal_body_nests_at_most_32_levels(
    api: Api, levels: int, accepted: bool
) -> None:
    # the body is level 0 and "meta" level 1; each list below it one more
    body = "{'data': [], 'meta': {'x': " + "[" * levels + "]" * levels + "}}"
    response = await api.call(ACCOUNT, body=body.encode())
    if accepted:
        assert last(api)["check"] != "body", last(api)
    else:
        assert code_of(response) == "400 err_request_malformed"
        assert last(api)["reason"] == (
            "the body is a Python literal, but nested deeper than 32 levels"
        )


async def test_a_literal_body_with_a_set_names_the_type(api: Api) -> None:
    response = await api.call(ACCOUNT, body=b"{'data': [], 'meta': {'x': [{1}]}}")
    assert code_of(response) == "400 err_request_malformed"
    assert (
        last(api)["reason"]
        == "the body is a Python literal, but it holds a set, which JSON has not"
    )


async def test_a_literal_body_with_a_number_key_is_refused(api: Api) -> None:
    response = await api.call(ACCOUNT, body=b"{'data': [], 'meta': {'x': {1: 2}}}")
    assert code_of(response) == "400 err_request_malformed"
    assert last(api)["reason"] == "the body is a Python literal, but a key is not a string"


# ---- the journal names the check and the reason ------------------------------------------------


async def test_a_malformed_body_is_journaled_as_the_body_checks_refusal(api: Api) -> None:
    response = await api.call(ACCOUNT, body=b"[]")
    error = response.json()["fail"][0]["errors"][0]
    entry = last(api)
    assert entry["check"] == "body" and entry["status"] == 400
    assert entry["body_codes"] == ["err_request_malformed"] == [error["code"]]
    assert error["message"] == f"Bad Request: {entry['reason']}"


async def test_a_spent_quota_is_journaled_as_the_quota_checks_refusal(api: Api) -> None:
    api.emu.clock.freeze()
    await api.admin("POST", "/accounts/CUSA12345/policy", {"quota_limit": 1, "quota_reset_ms": 500})
    await api.call(ACCOUNT)
    assert (await api.call(ACCOUNT)).status_code == 429
    entry = last(api)
    assert entry["check"] == "quota" and entry["sub_code"] == "0008"
    assert entry["reason"]


async def test_discovery_without_app_id_is_journaled_as_the_headers_checks_refusal(
    api: Api,
) -> None:
    response = await api.http.post(DISCOVER, json={"data": [{"emailAddress": "a@b.example"}]})
    assert code_of(response) == "400 err_developer_key"
    entry = last(api)
    assert entry["check"] == "headers"
    assert entry["reason"] == "missing header: x-mc-app-id"


@pytest.mark.parametrize(
    ("window", "late", "said"),
    [
        (60, 120, "x-mc-date 2 minutes behind the emulator clock, window 1"),
        (18, 30, "x-mc-date 0.5 minutes behind the emulator clock, window 0.3"),
    ],
)
async def test_a_skew_refusal_gives_minutes_whole_from_one_up_and_in_tenths_below(
    api: Api, window: int, late: int, said: str
) -> None:
    config = replace(api.emu.state.config, skew_reference="emulator", skew_seconds=window)
    api.emu.state.config = config
    stale = api.headers(ACCOUNT)
    api.emu.clock.freeze()
    api.emu.clock.advance(late)
    response = await api.http.post(ACCOUNT, json={"data": []}, headers=stale)
    assert code_of(response) == "401 0004 err_xdk_invalid_signature"
    assert last(api)["reason"] == f"signature refused: {said}"


# ---- quotas: per user, per function, forced -----------------------------------------------------

READER = "reader@demo.example"


async def test_each_user_has_a_quota_of_their_own(api: Api) -> None:
    policy = {"quota_limit": 1, "quota_reset_ms": 60000}
    await api.admin("POST", "/accounts/CUSA12345/policy", policy)
    reader = await api.binding_for(READER)
    assert (await api.call(ACCOUNT)).status_code == 200
    assert (await api.call(ACCOUNT)).status_code == 429
    entry = last(api)
    assert entry["check"] == "quota"
    assert entry["reason"] == "the user's quota is spent (1 calls, one back every 60000 ms)"
    assert (await api.call(ACCOUNT, keys=reader)).status_code == 200  # another user's quota


async def test_a_function_quota_is_named_in_the_refusal(api: Api) -> None:
    policy = {"function_quotas": {ACCOUNT: {"limit": 1, "reset_ms": 1000}}}
    await api.admin("POST", "/accounts/CUSA12345/policy", policy)
    await api.call(ACCOUNT)
    assert (await api.call(ACCOUNT)).status_code == 429
    assert last(api)["reason"] == (
        f"the quota of {ACCOUNT} is spent (1 calls, one back every 1000 ms)"
    )


async def test_a_forced_quota_rule_for_one_user_spares_the_others(api: Api) -> None:
    rule = {
        "at": "quota",
        "match": {"path": ACCOUNT, "call_number": 1, "user": READER},
        "effect": {"status": 429, "sub_code": "0008", "reset_ms": 1000},
    }
    rule_id = (await api.admin("POST", "/faults", rule)).json()["id"]
    reader = await api.binding_for(READER)
    assert (await api.call(ACCOUNT)).status_code == 200
    refused = await api.call(ACCOUNT, keys=reader)
    assert code_of(refused) == "429 0008 err_xdk_rate_limit_exceeded"
    entry = last(api)
    assert entry["check"] == "quota" and entry["user"] == READER
    assert entry["reason"] == f"forced quota rule {rule_id}: call to {ACCOUNT} refused"


async def test_a_missing_permission_is_journaled_as_the_permission_checks_refusal(
    api: Api,
) -> None:
    await api.admin("POST", f"/users/{READER}/permissions", {"permissions": []})
    keys = await api.binding_for(READER)
    assert (await api.call(ACCOUNT, keys=keys)).status_code == 403
    entry = last(api)
    assert entry["check"] == "permission" and entry["sub_code"] == "0002"
    assert entry["reason"] == f"user {READER} lacks 'Account | Dashboard | Read'"


# ---- the user and the binding -------------------------------------------------------------------


async def test_a_lapsed_binding_says_how_long_ago(api: Api) -> None:
    keys = await api.binding_for(READER, ttl_seconds=3600)
    api.emu.clock.freeze()
    api.emu.clock.advance(3600 + 180)
    response = await api.call(ACCOUNT, keys=keys)
    assert code_of(response) == "418 0001 err_xdk_binding_expired"
    assert last(api)["reason"] == "binding expired 3 minutes ago"


async def test_an_address_outside_the_ranges_is_journaled_as_the_ip_checks_refusal(
    api: Api,
) -> None:
    await api.admin(
        "POST", "/accounts/CUSA12345/policy", {"permitted_ip_ranges": ["203.0.113.0/24"]}
    )
    response = await api.call(ACCOUNT)
    assert code_of(response).startswith("403 0016")
    entry = last(api)
    assert entry["check"] == "ip"
    assert entry["reason"] == "client address 198.51.100.7 is outside the permitted ranges"
