"""The admin API under /_emulator/: the token guard, every route, and 400s that say what is wrong.

Every test goes through the real app (in-process ASGI) and checks what an operator would see: the
answer of the admin route, and the effect on the signed calls a client makes afterwards.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mcapi.emulator import Emulator
from mcapi.emulator._admin import USER_OPERATIONS
from mcapi.emulator._operations import CLOCK_FIELDS
from mcapi.emulator._serve import open_emulator
from mcapi.emulator._store._validate import POLICY_FIELDS
from tests.emulator.conftest import Api, code_of

pytestmark = pytest.mark.anyio

LOGOUT = "/api/login/logout"
ADMIN = "admin@demo.example"
READER = "reader@demo.example"

#: Every guarded route with a body that would be valid.
GUARDED: list[tuple[str, str, object]] = [
    ("POST", "/reset", None),
    ("POST", "/seed", {"accounts": []}),
    ("GET", "/clock", None),
    ("POST", "/clock", {"freeze": True}),
    ("GET", "/faults", None),
    ("POST", "/faults", {"match": {"path": "/api/*"}, "effect": {"status": 500}}),
    ("DELETE", "/faults", None),
    ("DELETE", "/faults/f1", None),
    ("GET", "/journal", None),
    ("GET", "/users", None),
    ("POST", f"/users/{ADMIN}/unlock", None),
    ("POST", "/accounts/CUSA12345/policy", {"quota_limit": 10}),
]


async def raw_admin(
    api: Api, method: str, path: str, body: object = None, *, content_type: str | None = None
) -> httpx.Response:
    """An admin call that may fail (``Api.admin`` asserts success); bytes are sent as they are."""
    headers = {"Authorization": f"Bearer {api.creds.admin_token}"}
    if content_type:
        headers["Content-Type"] = content_type
    if isinstance(body, bytes):
        return await api.http.request(method, f"/_emulator{path}", content=body, headers=headers)
    return await api.http.request(method, f"/_emulator{path}", json=body, headers=headers)


async def logout(api: Api) -> httpx.Response:
    """A signed call every emulator serves: logout of nothing answers 200 with no items."""
    return await api.call(LOGOUT, [])


# ---- the token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", "Basic abc"])
async def test_every_guarded_route_needs_the_token(
    api: Api, method: str, path: str, body: object, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.http.request(method, f"/_emulator{path}", json=body, headers=headers)
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]
    assert (await logout(api)).status_code == 200  # nothing changed: no fault, no reset


async def test_health_needs_no_token(api: Api) -> None:
    response = await api.http.get("/_emulator/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_openapi_document_needs_no_token(api: Api) -> None:
    pytest.importorskip("mcapi.emulator.functions._openapi")
    response = await api.http.get("/_emulator/openapi.json")
    assert response.status_code == 200
    assert LOGOUT in response.json()["paths"]


# ---- reset and seed ----------------------------------------------------------------------------


async def test_reset_empties_the_tenant_and_the_demo_binding_stops_working(api: Api) -> None:
    await api.admin("POST", "/faults", {"match": {"path": "/api/*"}, "effect": {"status": 500}})
    assert (await api.admin("POST", "/reset?wait=60")).json() == {"reset": True}
    assert (await api.admin("GET", "/users")).json() == {"users": []}
    assert (await api.admin("GET", "/faults")).json() == {"rules": []}
    assert code_of(await logout(api)) == "401 0013 err_xdk_access_key_not_found"


async def test_reset_with_demo_reloads_the_demo_tenant_and_answers_its_keys(api: Api) -> None:
    refused = await raw_admin(api, "POST", "/reset?wait=60", {"demo": "yes"})
    assert refused.status_code == 400
    assert refused.json()["problems"] == [{"field": "demo", "message": "must be true or false"}]
    answer = (await api.admin("POST", "/reset?wait=60", {"demo": True})).json()
    assert answer["reset"] is True
    demo = answer["demo"]
    users = {u["email"] for u in (await api.admin("GET", "/users")).json()["users"]}
    assert demo["admin_email"] in users and set(demo["passwords"]) <= users
    assert demo["created"] is True and demo["generated"]["messages"] > 0
    assert code_of(await logout(api)) == "401 0013 err_xdk_access_key_not_found"  # old keys


SEED = {
    "accounts": [
        {
            "code": "CUSA77777",
            "name": "Acme",
            "domains": ["acme.example"],
            "applications": [{"name": "app"}],
            "users": [{"email": "ops@acme.example", "permissions": ["*"]}],
        }
    ]
}


async def test_seed_json_creates_users_and_reports_generated_passwords(api: Api) -> None:
    answer = (await api.admin("POST", "/seed?wait=60", SEED)).json()
    assert answer["created"]["accounts"] == 1
    assert answer["created"]["users"] == 1
    assert set(answer["generated_passwords"]) == {"ops@acme.example"}
    emails = {u["email"] for u in (await api.admin("GET", "/users")).json()["users"]}
    assert "ops@acme.example" in emails
    assert all("password_hash" not in u for u in (await api.admin("GET", "/users")).json()["users"])


async def test_seed_toml_by_content_type(api: Api) -> None:
    toml = b'[[accounts]]\ncode = "CUSA88888"\nname = "T"\ndomains = ["t.example"]\n'
    response = await raw_admin(api, "POST", "/seed?wait=60", toml, content_type="application/toml")
    assert response.status_code == 200, response.text
    assert response.json()["created"]["domains"] == 1


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{not json", "application/json", "not JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b"code = ", "application/toml", "not TOML"),
        (b"a = " + b"[" * 5000 + b"]" * 5000, "application/toml", "not TOML"),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", "not JSON"),
        (json.dumps({"accounts": [{"code": "X"}]}).encode(), "application/json", "name"),
    ],
)
async def test_bad_seed_is_400_naming_the_problem(
    api: Api, content: bytes, content_type: str, message: str
) -> None:
    response = await raw_admin(api, "POST", "/seed", content, content_type=content_type)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_conflicting_seed_leaves_nothing_half_loaded(api: Api) -> None:
    clash = json.loads(json.dumps(SEED))
    clash["accounts"][0]["users"].append({"email": ADMIN})  # taken by the demo tenant
    response = await raw_admin(api, "POST", "/seed?wait=60", clash)
    assert response.status_code == 400
    assert ADMIN in response.json()["error"]
    emails = {u["email"] for u in (await api.admin("GET", "/users")).json()["users"]}
    assert "ops@acme.example" not in emails


# ---- clock -------------------------------------------------------------------------------------


async def test_clock_freeze_set_advance_resume(api: Api) -> None:
    state = (await api.admin("GET", "/clock")).json()
    assert state["frozen"] is False
    frozen = (await api.admin("POST", "/clock", {"set": "2030-01-01T00:00:00Z"})).json()
    assert frozen["frozen"] is True
    assert frozen["now"] == datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    moved = (await api.admin("POST", "/clock", {"advance": 90})).json()
    assert moved["now"] == frozen["now"] + 90
    assert moved["iso"].startswith("2030-01-01T00:01:30")
    assert (await api.admin("POST", "/clock", {"resume": True})).json()["frozen"] is False
    assert (await api.admin("POST", "/clock", {"reset": True})).json()["now"] < frozen["now"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give one or more"),
        ({"rewind": 5}, "give one or more"),
        ({"advance": -5}, "advance"),
        ({"advance": "soon"}, "advance"),
        ({"set": "yesterday"}, "ISO 8601"),
        ({"set": "2030-01-01T00:00:00"}, "time zone"),
    ],
)
async def test_bad_clock_request_is_400(api: Api, body: dict[str, object], message: str) -> None:
    response = await raw_admin(api, "POST", "/clock", body)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_advancing_the_clock_expires_a_binding(api: Api) -> None:
    keys = await api.binding_for(ADMIN, ttl_seconds=3600)
    assert (await api.call(LOGOUT, [], keys=keys)).status_code == 200
    await api.admin("POST", "/clock", {"advance": 3601})
    assert code_of(await api.call(LOGOUT, [], keys=keys)) == "418 0001 err_xdk_binding_expired"


# ---- faults and forced quotas ------------------------------------------------------------------


async def test_fault_rule_lifecycle_and_effect(api: Api) -> None:
    rule = {"match": {"path": LOGOUT, "times": 1}, "effect": {"status": 500, "sub_code": "0006"}}
    response = await api.admin("POST", "/faults", rule)
    assert response.status_code == 201
    rule_id = response.json()["id"]
    assert code_of(await logout(api)) == "500 0006 err_xdk_external_resource"
    assert (await logout(api)).status_code == 200
    [listed] = (await api.admin("GET", "/faults")).json()["rules"]
    assert (listed["id"], listed["calls"], listed["applied"]) == (rule_id, 2, 1)
    assert (await api.admin("DELETE", f"/faults/{rule_id}")).json() == {"deleted": rule_id}
    assert (await raw_admin(api, "DELETE", f"/faults/{rule_id}")).status_code == 404
    await api.admin("POST", "/faults", rule)
    assert (await api.admin("DELETE", "/faults")).json() == {"deleted": "all"}
    assert (await api.admin("GET", "/faults")).json() == {"rules": []}


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"effect": {"status": 500}}, "match"),
        ({"match": {"path": "/api/*", "times": 0}, "effect": {"status": 500}}, "match.times"),
        (
            {"match": {"path": "/api/*"}, "effect": {"status": 500, "sub_code": "6"}},
            "effect.sub_code",
        ),
        ({"match": {"path": "/api/*"}, "effect": {"colour": "red"}}, "effect.colour"),
        (
            {"match": {"path": "/api/*"}, "effect": {"item_failures": [{"index": 0}]}},
            "effect.item_failures[0].code",
        ),
    ],
)
async def test_bad_fault_rule_is_400_naming_the_field(
    api: Api, rule: dict[str, object], field: str
) -> None:
    response = await raw_admin(api, "POST", "/faults", rule)
    assert response.status_code == 400
    answer = response.json()
    [problem] = answer["problems"]
    assert problem["field"] == field
    assert answer["error"] == f"{field}: {problem['message']}"


FORCED = {
    "at": "quota",
    "match": {"path": LOGOUT, "call_number": 2},
    "effect": {"status": 429, "sub_code": "0008", "reset_ms": 1500},
}


async def test_forced_quota_lifecycle_and_effect(api: Api) -> None:
    response = await api.admin("POST", "/faults", FORCED)
    rule_id = response.json()["id"]
    assert (await logout(api)).status_code == 200
    denied = await logout(api)
    assert code_of(denied) == "429 0008 err_xdk_rate_limit_exceeded"
    assert denied.headers["x-ratelimit-reset"] == "1500"
    assert denied.headers["x-ratelimit-remaining"] == "0"
    [listed] = (await api.admin("GET", "/faults")).json()["rules"]
    assert (listed["id"], listed["at"], listed["match"]["call_number"]) == (rule_id, "quota", 2)
    assert (listed["calls"], listed["applied"]) == (2, 1)
    await api.admin("DELETE", f"/faults/{rule_id}")
    assert (await raw_admin(api, "DELETE", f"/faults/{rule_id}")).status_code == 404
    await api.admin("POST", "/faults", FORCED)
    await api.admin("DELETE", "/faults")
    assert (await api.admin("GET", "/faults")).json() == {"rules": []}


async def test_the_old_forced_quota_route_is_gone(api: Api) -> None:
    body = {"path": LOGOUT, "call_number": 1, "reset_ms": 10}
    assert (await raw_admin(api, "POST", "/quotas/forced", body)).status_code == 404


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        ({"status": 429}, "effect.reset_ms: required"),
        ({"status": 500, "sub_code": "0006"}, "effect.status"),
        ({"status": 429, "reset_ms": 5, "retryable": True}, "effect.retryable"),
    ],
)
async def test_bad_forced_quota_is_400(api: Api, effect: dict[str, object], message: str) -> None:
    rule = {**FORCED, "effect": effect}
    response = await raw_admin(api, "POST", "/faults", rule)
    assert response.status_code == 400
    assert message in response.json()["error"]


async def test_every_problem_of_a_body_is_answered_with_its_field(api: Api) -> None:
    policy = {"quota_limit": 0, "lockout_seconds": "long", "quota_reset_ms": 500}
    response = await raw_admin(api, "POST", "/accounts/CUSA12345/policy", policy)
    assert response.status_code == 400
    answer = response.json()
    # the answer docs/emulator.md shows
    assert answer["problems"] == [
        {"field": "quota_limit", "message": "must be at least 1, got 0"},
        {"field": "lockout_seconds", "message": "expected an integer, got 'long'"},
    ]
    assert answer["error"] == "; ".join(f"{p['field']}: {p['message']}" for p in answer["problems"])
    assert api.emu.admin.account("CUSA12345").quota_reset_ms != 500  # nothing changed
    missing = await raw_admin(api, "POST", "/users/nobody@demo.example/unlock")
    assert missing.status_code == 404
    assert missing.json()["problems"] == [
        {"field": "email", "message": "no user nobody@demo.example"}
    ]


async def test_a_seed_with_three_mistakes_is_answered_with_all_three(api: Api) -> None:
    seed = {
        "accounts": [
            {
                "code": "CUSA777",
                "name": "Three mistakes",
                "domains": ["three.example", "not a domain"],
                "users": [{"email": "ann@three.example", "status": "sleeping"}],
                "policy": {"lockout_threshold": -1},
            }
        ]
    }
    response = await raw_admin(api, "POST", "/seed", seed)
    assert response.status_code == 400
    fields = sorted(p["field"] for p in response.json()["problems"])
    assert fields == [
        "accounts[0].domains[1].domain",
        "accounts[0].policy.lockout_threshold",
        "accounts[0].users[0].status",
    ]
    assert api.emu.store.find_account("CUSA777") is None


# ---- journal -----------------------------------------------------------------------------------


async def test_journal_filters_and_jsonl(api: Api, emu: Emulator) -> None:
    assert (await logout(api)).status_code == 200
    bad = await api.call(LOGOUT, [], headers={"Authorization": "MC nobody:sig"})
    assert bad.status_code == 401
    everything = (await api.admin("GET", "/journal")).json()["entries"]
    assert [e["status"] for e in everything] == [200, 401]
    refused = (await api.admin("GET", "/journal?status=401")).json()["entries"]
    assert [(e["sub_code"], e["check"]) for e in refused] == [("0013", "binding")]
    assert "sig" not in json.dumps(refused)  # secrets never reach the journal
    last = (await api.admin("GET", "/journal?limit=1&path=" + LOGOUT)).json()["entries"]
    assert last == everything[-1:]
    by_id = everything[0]["request_id"]
    assert len((await api.admin("GET", f"/journal?request_id={by_id}")).json()["entries"]) == 1
    lines = (await api.admin("GET", "/journal?format=jsonl")).text.splitlines()
    assert [json.loads(line)["status"] for line in lines] == [200, 401]


@pytest.mark.parametrize("query", ["limit=many", "status=bad", "since=yesterday"])
async def test_bad_journal_query_is_400(api: Api, query: str) -> None:
    response = await raw_admin(api, "GET", f"/journal?{query}")
    assert response.status_code == 400
    assert "bad journal query" in response.json()["error"]
    [problem] = response.json()["problems"]
    assert problem["field"] == query.partition("=")[0]


# ---- users -------------------------------------------------------------------------------------


async def test_lock_then_clock_passes_the_lock(api: Api) -> None:
    user = (await api.admin("POST", f"/users/{ADMIN}/lock", {"minutes": 10})).json()["user"]
    assert user["locked_until"] is not None
    assert code_of(await logout(api)) == "401 0010 err_xdk_account_locked"
    await api.admin("POST", "/clock", {"advance": 601})
    assert (await logout(api)).status_code == 200


async def test_unlock_disable_enable(api: Api) -> None:
    await api.admin("POST", f"/users/{ADMIN}/lock")
    assert (await api.admin("POST", f"/users/{ADMIN}/unlock")).json()["user"][
        "locked_until"
    ] is None
    password = api.creds.admin_password
    assert password
    disabled = (await api.admin("POST", f"/users/{ADMIN}/disable")).json()["user"]
    assert disabled["status"] == "disabled"
    assert code_of(await api.login(ADMIN, password)) == "401 0011 err_xdk_account_disabled"
    assert code_of(await logout(api)) == "401 0012 err_xdk_binding_revoked"  # disabling revokes
    assert (await api.admin("POST", f"/users/{ADMIN}/enable")).json()["user"]["status"] == "active"
    assert (await api.login(ADMIN, password)).status_code == 200


async def test_expire_password_and_set_password(api: Api) -> None:
    password = api.creds.reader_password
    assert password
    user = (await api.admin("POST", f"/users/{READER}/expire-password")).json()["user"]
    assert user["password_expires_at"] is not None
    assert code_of(await api.login(READER, password)) == "403 0009 err_xdk_password_expired"
    await api.admin("POST", f"/users/{READER}/password", {"password": "a new secret 42"})
    assert (await api.login(READER, "a new secret 42")).status_code == 200


async def test_permissions_change_revokes_bindings(api: Api) -> None:
    keys = await api.binding_for(READER)
    body = {"permissions": ["Account | Logs | Read"]}
    user = (await api.admin("POST", f"/users/{READER}/permissions", body)).json()["user"]
    assert user["permissions"] == ["Account | Logs | Read"]
    assert code_of(await api.call(LOGOUT, [], keys=keys)) == "401 0012 err_xdk_binding_revoked"


async def test_ip_ranges_refuse_other_addresses_and_inherit_again(api: Api) -> None:
    body = {"ranges": ["203.0.113.0/24"]}
    user = (await api.admin("POST", f"/users/{ADMIN}/ip-ranges", body)).json()["user"]
    assert user["ip_ranges"] == ["203.0.113.0/24"]
    assert code_of(await logout(api)) == "403 0016 err_xdk_forbidden_ip"
    await api.admin("POST", f"/users/{ADMIN}/ip-ranges", {"ranges": None})
    assert (await logout(api)).status_code == 200


async def test_revoke_bindings_and_create_one(api: Api) -> None:
    answer = (await api.admin("POST", f"/users/{ADMIN}/revoke-bindings")).json()
    assert answer["revoked"] >= 1
    assert code_of(await logout(api)) == "401 0012 err_xdk_binding_revoked"
    made = (await api.admin("POST", f"/users/{ADMIN}/bindings", {"ttl_seconds": 60})).json()
    assert made["app_id"] == api.creds.app_id
    assert made["expires_at"] is not None
    keys = await api.binding_for(ADMIN)
    assert (await api.call(LOGOUT, [], keys=keys)).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/users/nobody@demo.example/lock", None, 404, "no user"),
        (f"/users/{ADMIN}/promote", None, 404, "unknown operation"),
        (f"/users/{ADMIN}/password", {}, 400, "password: required"),
        pytest.param(
            f"/users/{ADMIN}/permissions",
            {"permissions": "all"},
            400,
            "list of strings",
        ),
        (f"/users/{ADMIN}/ip-ranges", {"ranges": ["not-a-range"]}, 400, "CIDR"),
        (f"/users/{ADMIN}/bindings", {"app_id": "no-such-app"}, 404, "no application"),
        (f"/users/{ADMIN}/lock", [1], 400, "JSON object"),
    ],
)
async def test_bad_user_operation_says_why(
    api: Api, path: str, body: object, status: int, message: str
) -> None:
    response = await raw_admin(api, "POST", path, body)
    assert response.status_code == status
    assert message in response.json()["error"]


# ---- account policy ----------------------------------------------------------------------------


async def test_policy_sets_the_quota_seen_in_rate_limit_headers(api: Api) -> None:
    body = {"quota_limit": 7, "quota_reset_ms": 2000, "binding_ttl_seconds": None}
    account = (await api.admin("POST", "/accounts/CUSA12345/policy", body)).json()
    assert (account["quota_limit"], account["binding_ttl_seconds"]) == (7, None)
    response = await logout(api)
    assert response.headers["x-ratelimit-limit"] == "7"


@pytest.mark.parametrize(
    ("code", "body", "status", "message"),
    [
        ("CUSA00000", {"quota_limit": 1}, 404, "no account"),
        ("CUSA12345", {"quota_limt": 1}, 400, "unknown policy"),
        ("CUSA12345", {"quota_limit": 0}, 400, ""),
        ("CUSA12345", {}, 400, "no policy field"),
    ],
)
async def test_bad_policy_says_why(
    api: Api, code: str, body: dict[str, object], status: int, message: str
) -> None:
    response = await raw_admin(api, "POST", f"/accounts/{code}/policy", body)
    assert response.status_code == status
    assert message in response.json()["error"]


# ---- bad values: 400 naming the field, nothing changed, never 500 -----------------------------


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (f"/users/{ADMIN}/lock", {"minutes": None}, "minutes: expected a number, got None"),
        (f"/users/{ADMIN}/lock", {"minutes": "5"}, "minutes: expected a number"),
        (f"/users/{ADMIN}/lock", {"minutes": 1e308}, "minutes: must be between 0 and"),
        (f"/users/{ADMIN}/lock", {"minutes": 5, "hours": 1}, "hours: unknown field (lock takes"),
        (f"/users/{ADMIN}/lock", [1], "the body must be a JSON object"),
        (f"/users/{ADMIN}/bindings", {"ttl_seconds": "abc"}, "ttl_seconds: expected an integer"),
        (f"/users/{ADMIN}/bindings", {"ttl_seconds": 10**30}, "ttl_seconds: must be at most"),
        (f"/users/{ADMIN}/bindings", {"app_id": 5}, "app_id: expected a non-empty string"),
        (f"/users/{ADMIN}/password", {"password": 5}, "password: expected a non-empty string"),
        (f"/users/{ADMIN}/ip-ranges", {}, "ranges: required"),
        (f"/users/{ADMIN}/unlock", {"now": True}, "now: unknown field (unlock takes no field)"),
        ("/accounts/CUSA12345/policy", {"quota_limit": 10**30}, "quota_limit: must be at most"),
        ("/accounts/CUSA12345/policy", {"account_code": "X"}, "account_code: unknown policy"),
        ("/accounts/CUSA12345/generate", {"seed": 2**64}, "seed: must be between"),
        ("/accounts/CUSA12345/generate", {"users": 0}, "users: must be between 1"),
        ("/reset", {"everything": True}, "everything: unknown field (reset takes demo)"),
    ],
)
async def test_bad_values_are_400_naming_the_field_and_change_nothing(
    api: Api, path: str, body: object, message: str
) -> None:
    before = (await api.admin("GET", "/users")).json()
    response = await raw_admin(api, "POST", path, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(message)
    assert (await api.admin("GET", "/users")).json() == before
    assert (await logout(api)).status_code == 200  # no lock, no revocation, no reset


async def test_a_body_with_nan_or_infinity_is_not_json(api: Api) -> None:
    for raw in (b'{"advance": NaN}', b'{"minutes": Infinity}', b"[" * 100_000):
        response = await raw_admin(api, "POST", "/clock", raw)
        assert response.status_code == 400
        assert "not JSON" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"set": 1e20}, "set: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"),
        ({"set": -1}, "set: must be between"),
        ({"set": 10**400}, "set: must be between"),
        ({"set": "0001-01-01T00:00:00+14:00"}, "set: must be between"),
        ({"set": True}, "set: epoch seconds or an ISO 8601 time"),
        ({"advance": 1e308}, "advance: must be between 0 and 316224000 seconds"),
        ({"advance": 10**400}, "advance: must be between"),
        ({"set": "9999-12-31T23:59:00Z", "advance": 120}, "past 9999-12-31T23:59:59Z"),
        ({"resume": True, "rewind": 5}, "rewind: unknown field"),
        ({"resume": True, "advance": -1}, "advance"),
        ({"resume": True, "advance": None}, "advance: expected a number"),
        ({"reset": "yes"}, "reset: true or false"),
        ({"reset": True, "set": [2030]}, "set: epoch seconds"),
    ],
)
async def test_a_refused_clock_change_leaves_the_clock_alone(
    api: Api, body: dict[str, object], message: str
) -> None:
    before = (await api.admin("POST", "/clock", {"set": "2030-01-01T00:00:00Z"})).json()
    response = await raw_admin(api, "POST", "/clock", body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert (await api.admin("GET", "/clock")).json() == before


async def test_a_refused_change_does_not_freeze_a_running_clock(api: Api) -> None:
    before = (await api.admin("GET", "/clock")).json()
    response = await raw_admin(api, "POST", "/clock", {"freeze": True, "rewind": 5})
    assert response.status_code == 400
    state = (await api.admin("GET", "/clock")).json()
    assert state["frozen"] is False
    assert state["now"] >= before["now"]  # not rewound either


async def test_the_clock_goes_to_the_edges_of_its_range(api: Api) -> None:
    last = (await api.admin("POST", "/clock", {"set": "9999-12-31T23:59:59Z"})).json()
    assert last["iso"] == "9999-12-31T23:59:59+00:00"
    first = (await api.admin("POST", "/clock", {"set": 0, "advance": 60})).json()
    assert first["iso"] == "1970-01-01T00:01:00+00:00"


async def test_reset_keeps_a_served_emulators_admin_token(tmp_path: Path) -> None:
    """The token `serve` generated lives in the database: a reset then a restart keep it."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    served = open_emulator(url, base_url="http://127.0.0.1:8787")
    token = served.admin_token
    served.load_demo()
    bearer = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=served.app)
    async with httpx.AsyncClient(transport=transport, base_url=served.base_url) as http:
        reset = await http.post("/_emulator/reset?wait=60", headers=bearer)
        assert reset.json() == {"reset": True}
        assert (await http.get("/_emulator/users", headers=bearer)).json() == {"users": []}
    served.close()
    restarted = open_emulator(url, base_url="http://127.0.0.1:8787")
    try:
        assert restarted.admin_token == token
        transport = httpx.ASGITransport(app=restarted.app)
        async with httpx.AsyncClient(transport=transport, base_url=served.base_url) as http:
            assert (await http.get("/_emulator/clock", headers=bearer)).status_code == 200
    finally:
        restarted.close()


# ---- the fuzzer: arbitrary JSON at every admin route -------------------------------------------

PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
#: Values that broke the admin API once (overflowing times, 64-bit integers, NaN, infinity).
EDGES = [-1, 1e20, 1e308, 10**30, 2**63, math.nan, math.inf, "0001-01-01T00:00:00+14:00"]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | PRINTABLE
    | st.sampled_from(["9999-12-31T23:59:59Z", "never", "203.0.113.0/24", "*", ADMIN, [], {}])
)
JSON_VALUES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(PRINTABLE, inner, max_size=4),
    max_leaves=10,
)

#: (method, path, the fields the route reads). Generation goes to an unknown account: its body
#: is validated before the account is looked up, and a valid one would only spend time.
FUZZED_ROUTES: list[tuple[str, str, tuple[str, ...]]] = [
    ("POST", "/reset?wait=60", ()),
    ("POST", "/seed?wait=60", ("version", "accounts")),
    ("POST", "/clock", CLOCK_FIELDS),
    ("GET", "/clock", ()),
    ("POST", "/faults", ("match", "effect", "id", "note", "at")),
    ("DELETE", "/faults/f1", ()),
    ("DELETE", "/faults", ()),
    ("GET", "/journal", ()),
    ("GET", "/users", ()),
    *(("POST", f"/users/{READER}/{op}", fields) for op, (fields, _) in USER_OPERATIONS.items()),
    ("POST", "/users/nobody@demo.example/lock", ("minutes",)),
    ("POST", "/accounts/CUSA12345/policy", tuple(POLICY_FIELDS)),
    ("POST", "/accounts/NOPE/generate", ("seed", "users", "days", "messages_per_user_day")),
]


def bodies(fields: tuple[str, ...]) -> st.SearchStrategy[bytes]:
    """JSON bodies for a route reading ``fields``: mostly objects of those fields (edge values
    included), and any JSON value or bytes at all."""
    values = st.one_of(st.sampled_from(EDGES), LEAVES, JSON_VALUES)
    known = st.dictionaries(st.sampled_from(fields or ("x",)), values, min_size=1, max_size=2)
    known_json = known.map(json.dumps)
    anything = st.one_of(
        st.dictionaries(PRINTABLE, JSON_VALUES, max_size=3).map(json.dumps),
        JSON_VALUES.map(json.dumps),
        st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
    )
    return st.one_of(known_json, known_json, anything).map(lambda text: text.encode("utf-8"))


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[TestClient, Emulator, dict[str, str]]]:
    emulator = Emulator("sqlite://", kdf_n=2**10)
    creds = emulator.load_demo()
    with TestClient(emulator.app, raise_server_exceptions=True) as client:
        yield client, emulator, {"Authorization": f"Bearer {creds.admin_token}"}
    emulator.close()


@pytest.mark.parametrize(("method", "path", "fields"), FUZZED_ROUTES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_admin_route_answers_500_and_a_refusal_changes_no_clock(
    fuzzed: tuple[TestClient, Emulator, dict[str, str]],
    method: str,
    path: str,
    fields: tuple[str, ...],
    data: st.DataObject,
) -> None:
    client, emulator, bearer = fuzzed
    body = data.draw(bodies(fields), label="body")
    if emulator.store.find_account("CUSA12345") is None:
        emulator.load_demo()  # a fuzzed reset removed it
    emulator.clock.reset()
    emulator.clock.freeze()
    before = client.get("/_emulator/clock", headers=bearer).json()
    response = client.request(method, f"/_emulator{path}", content=body, headers=bearer)
    assert response.status_code in (200, 201, 400, 404), response.text
    if response.status_code >= 400:
        answer = response.json()
        assert isinstance(answer["error"], str)
        # every refusal lists its problems, each naming its field ("" = the body as a whole)
        assert answer["problems"], answer
        assert all(set(p) == {"field", "message"} for p in answer["problems"])
        if path == "/clock":
            assert client.get("/_emulator/clock", headers=bearer).json() == before
    for after in ("/clock", "/users"):  # what the request changed can still be shown
        assert client.get(f"/_emulator{after}", headers=bearer).status_code == 200
