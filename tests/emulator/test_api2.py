"""API 2.0 over HTTP: the token endpoint, Bearer calls through the pipeline, the admin routes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcapi.emulator import Emulator
from mcapi.emulator.functions import FUNCTIONS
from tests.emulator.conftest import Api, code_of

pytestmark = pytest.mark.anyio

TOKEN = "/oauth/token"
ACCOUNT = "/api/account/get-account"


async def create_app(api: Api, **body: Any) -> dict[str, Any]:
    body.setdefault("account", api.creds.account_code)
    body.setdefault("name", "integration")
    made = await api.http.post(
        "/_emulator/api2/apps", json=body,
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def token_request(api: Api, client_id: str, secret: str, **extra: str) -> httpx.Response:
    form = {"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}
    form.update(extra)
    return await api.http.post(TOKEN, data=form)


async def token_for(api: Api, app: dict[str, Any]) -> str:
    response = await token_request(api, app["client_id"], app["client_secret"])
    assert response.status_code == 200, response.text
    return response.json()["access_token"]  # type: ignore[no-any-return]


async def bearer(api: Api, token: str, path: str = ACCOUNT, data: Any = None) -> httpx.Response:
    return await api.http.post(
        path, json={"data": data or []}, headers={"Authorization": f"Bearer {token}"}
    )


# ---- the token endpoint -----------------------------------------------------------------------


async def test_token_answer_has_the_platform_shape(api: Api) -> None:
    app = await create_app(api)
    response = await token_request(api, app["client_id"], app["client_secret"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert response.headers["cache-control"] == "no-store"
    entry = api.emu.journal.entries(path=TOKEN)[-1]
    assert (entry.status, entry.app_id, entry.check) == (200, app["client_id"], "token")
    assert app["client_secret"] not in str(entry.to_dict())


async def test_a_token_calls_get_account(api: Api) -> None:
    app = await create_app(api)
    response = await bearer(api, await token_for(api, app))
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["accountCode"] == api.creds.account_code
    entry = api.emu.journal.entries(path=ACCOUNT)[-1]
    assert entry.user == f"api2:{app['client_id']}"
    assert entry.app_id == app["client_id"]


async def test_wrong_secret_is_invalid_client(api: Api) -> None:
    app = await create_app(api)
    response = await token_request(api, app["client_id"], "x" * 48)
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_client"
    assert code_of(response) == "401 err_invalid_client"
    unknown = await token_request(api, "no-such-client-id", app["client_secret"])
    assert unknown.json() == body  # an unknown client and a wrong secret look the same
    reasons = [e.reason for e in api.emu.journal.entries(path=TOKEN)]
    assert reasons == [
        "client authentication failed: bad secret",
        "client authentication failed: unknown client",
    ]


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_id": "a", "grant_type": "client_credentials"}, 400, "invalid_request"),
        ({"client_id": "a", "client_secret": "b"}, 400, "invalid_request"),
        (
            {"client_id": "a", "client_secret": "b", "grant_type": "password"},
            400,
            "unsupported_grant_type",
        ),
    ],
)
async def test_malformed_token_requests(
    api: Api, form: dict[str, str], status: int, error: str
) -> None:
    response = await api.http.post(TOKEN, data=form)
    assert (response.status_code, response.json()["error"]) == (status, error)


async def test_token_endpoint_takes_a_form_and_post_only(api: Api) -> None:
    app = await create_app(api)
    as_json = await api.http.post(TOKEN, json={"client_id": app["client_id"]})
    assert as_json.json()["error"] == "invalid_request"
    assert (await api.http.get(TOKEN)).status_code == 405


async def test_basic_client_authentication_is_accepted(api: Api) -> None:
    app = await create_app(api)
    response = await api.http.post(
        TOKEN, data={"grant_type": "client_credentials"},
        auth=(app["client_id"], app["client_secret"]),
    )  # fmt: skip
    assert response.status_code == 200


# ---- tokens on the emulator's clock -------------------------------------------------------------


async def test_token_expires_after_1800_seconds_of_emulator_time(api: Api) -> None:
    app = await create_app(api)
    token = await token_for(api, app)
    api.emu.clock.advance(1799)
    assert (await bearer(api, token)).status_code == 200
    api.emu.clock.advance(1)
    expired = await bearer(api, token)
    assert code_of(expired) == "401 err_invalid_token"
    assert expired.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "expired" in (api.emu.journal.entries(path=ACCOUNT)[-1].reason or "")
    assert (await bearer(api, await token_for(api, app))).status_code == 200


async def test_unknown_token_is_refused(api: Api) -> None:
    assert code_of(await bearer(api, "made-up-token")) == "401 err_invalid_token"
    assert code_of(await bearer(api, "")) == "401 err_invalid_token"


async def test_rotation_refuses_the_old_secret_and_keeps_issued_tokens(api: Api) -> None:
    app = await create_app(api)
    token = await token_for(api, app)
    rotated = await api.admin("POST", f"/api2/apps/{app['client_id']}/rotate")
    new_secret = rotated.json()["client_secret"]
    assert new_secret != app["client_secret"]
    old = await token_request(api, app["client_id"], app["client_secret"])
    assert old.json()["error"] == "invalid_client"
    assert (await token_request(api, app["client_id"], new_secret)).status_code == 200
    assert (await bearer(api, token)).status_code == 200  # issued before: valid until expiry


async def test_revocation_refuses_tokens_at_once(api: Api) -> None:
    app = await create_app(api)
    token = await token_for(api, app)
    revoked = await api.admin("POST", f"/api2/apps/{app['client_id']}/revoke")
    assert revoked.json()["application"]["revoked"] is True
    assert code_of(await bearer(api, token)) == "401 err_invalid_token"
    again = await token_request(api, app["client_id"], app["client_secret"])
    assert again.json()["error"] == "invalid_client"


# ---- the same pipeline after authentication ----------------------------------------------------


async def test_missing_permission_from_the_role(api: Api) -> None:
    app = await create_app(api, role="Read Only")
    token = await token_for(api, app)
    assert (await bearer(api, token)).status_code == 200
    create = await bearer(
        api, token, "/api/user/create-user", [{"emailAddress": "new@demo.example"}]
    )
    assert code_of(create) == "403 0002 err_xdk_forbidden"
    assert "Directories | Internal | Edit" in (api.emu.journal.entries()[-1].reason or "")
    await api.admin(
        "POST", f"/api2/apps/{app['client_id']}/role",
        {"role": "Custom", "permissions": ["Directories | Internal | Edit"]},
    )  # fmt: skip
    allowed = await bearer(
        api, token, "/api/user/create-user", [{"emailAddress": "new@demo.example"}]
    )
    assert allowed.status_code == 200, allowed.text


async def test_quota_is_per_application(api: Api) -> None:
    await api.admin(
        "POST", f"/accounts/{api.creds.account_code}/policy",
        {"quota_limit": 2, "quota_reset_ms": 60_000},
    )  # fmt: skip
    first, second = await create_app(api, name="one"), await create_app(api, name="two")
    token_one, token_two = await token_for(api, first), await token_for(api, second)
    statuses = [(await bearer(api, token_one)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await bearer(api, token_one)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert int(refused.headers["x-ratelimit-reset"]) > 0
    assert (await bearer(api, token_two)).status_code == 200  # its own quota
    assert (await api.call(ACCOUNT)).status_code == 200  # and the 1.0 user's own


async def test_ip_ranges_apply_to_tokens(api: Api) -> None:
    app = await create_app(api)
    token = await token_for(api, app)
    await api.admin(
        "POST", f"/accounts/{api.creds.account_code}/policy",
        {"permitted_ip_ranges": ["10.0.0.0/8"]},
    )  # fmt: skip
    assert code_of(await bearer(api, token)).startswith("403 0016")


async def test_fault_rules_apply_to_bearer_calls(api: Api) -> None:
    app = await create_app(api)
    token = await token_for(api, app)
    await api.admin(
        "POST",
        "/faults",
        {"match": {"path": ACCOUNT, "times": 1}, "effect": {"status": 500, "sub_code": "0006"}},
    )
    assert (await bearer(api, token)).status_code == 500
    assert (await bearer(api, token)).status_code == 200


async def test_a_binding_and_a_token_work_at_once(api: Api) -> None:
    token = await token_for(api, await create_app(api))
    for _ in range(3):
        assert (await api.call(ACCOUNT)).status_code == 200
        assert (await bearer(api, token)).status_code == 200


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda s: s.path)
async def test_every_function_is_reachable_with_a_token(api: Api, spec: Any) -> None:
    token = await token_for(api, await create_app(api))
    response = await bearer(api, token, spec.path)
    entry = api.emu.journal.entries(path=spec.path)[-1]
    assert entry.check in ("function", "fault"), (entry.check, entry.reason)
    assert response.status_code not in (401, 403, 404, 405), response.text


# ---- administration ----------------------------------------------------------------------------


async def test_secret_is_shown_once(api: Api) -> None:
    app = await create_app(api, products=["Cloud Gateway", "Threat Intel"])
    listed = (await api.admin("GET", "/api2/apps")).json()["apps"]
    listed = [a for a in listed if a["client_id"] != api.creds.client_id]  # the demo's
    assert [a["client_id"] for a in listed] == [app["client_id"]]
    assert "client_secret" not in listed[0] and app["client_secret"] not in str(listed)
    assert listed[0]["products"] == ["Cloud Gateway", "Threat Intel"]


async def test_create_refuses_bad_fields(api: Api) -> None:
    headers = {"Authorization": f"Bearer {api.creds.admin_token}"}
    for body, status in [
        ({"account": api.creds.account_code, "name": "x", "role": "Emperor"}, 400),
        ({"account": "CNOPE", "name": "x"}, 404),
        ({"account": api.creds.account_code, "name": "x", "colour": 1}, 400),
        ({"account": api.creds.account_code, "name": "x", "products": ["Nope"]}, 400),
    ]:
        response = await api.http.post("/_emulator/api2/apps", json=body, headers=headers)
        assert response.status_code == status, response.text
    listed = (await api.admin("GET", "/api2/apps")).json()["apps"]
    assert [a["client_id"] for a in listed] == [api.creds.client_id]  # the demo's only


def test_python_admin_round_trip(emu: Emulator) -> None:
    demo = emu.load_demo()
    keys = emu.admin.create_app(demo.account_code, "python", client_secret="s" * 24)
    assert keys.client_secret == "s" * 24
    assert emu.admin.app(keys.client_id).role == "Full Administrator"
    rotated = emu.admin.rotate_app_secret(keys.client_id)
    assert rotated.client_secret != keys.client_secret
    assert emu.admin.revoke_app(keys.client_id).revoked


async def test_a_role_set_from_python_applies_to_the_next_call(api: Api) -> None:
    """``Emulator.admin.set_app_role`` (what the ``mcapi_admin`` fixture holds) changes what the
    application's token may call, as the admin API's role route does."""
    app = await create_app(api, role="Read Only")
    token = await token_for(api, app)
    create = [{"emailAddress": "by-python@demo.example"}]
    assert code_of(await bearer(api, token, "/api/user/create-user", create)) == (
        "403 0002 err_xdk_forbidden"
    )
    changed = api.emu.admin.set_app_role(
        app["client_id"], "Custom", ["Directories | Internal | Edit"]
    )
    assert changed.role == "Custom"
    allowed = await bearer(api, token, "/api/user/create-user", create)
    assert allowed.status_code == 200, allowed.text


# ---- the seed file -----------------------------------------------------------------------------


async def test_seeded_applications_get_tokens(api: Api) -> None:
    document = {
        "accounts": [
            {
                "code": "CUK2", "name": "Seeded", "region": "uk",
                "api2_applications": [
                    {"name": "siem", "role": "Read Only", "client_id": "siem-client-0001",
                     "client_secret": "a-known-secret-of-24-chr"},
                    {"name": "soar", "role": "Custom", "products": ["Cloud Gateway"],
                     "permissions": ["Account | Dashboard | Read"]},
                ],
            }
        ]
    }  # fmt: skip
    answer = (await api.admin("POST", "/seed?wait=60", document)).json()
    assert answer["created"]["api2_applications"] == 2
    generated = answer["generated_client_secrets"]
    assert "siem-client-0001" not in generated and len(generated) == 1
    ((soar_id, soar_secret),) = generated.items()
    for client_id, secret in [
        ("siem-client-0001", "a-known-secret-of-24-chr"),
        (soar_id, soar_secret),
    ]:
        token = (await token_request(api, client_id, secret)).json()["access_token"]
        account = await bearer(api, token)
        assert account.json()["data"][0]["accountCode"] == "CUK2"
    listed = (await api.admin("GET", "/api2/apps?account=CUK2")).json()["apps"]
    assert {a["name"]: a["role"] for a in listed} == {"siem": "Read Only", "soar": "Custom"}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"role": "Read Only"}, "api2_applications[0].name: required"),
        ({"name": "x", "role": "Emperor"}, "api2_applications[0].role: unknown role"),
        ({"name": "x", "client_secret": "short"}, "api2_applications[0].client_secret"),
        ({"name": "x", "products": ["Nope"]}, "api2_applications[0].products"),
        ({"name": "x", "colour": "red"}, "unknown key(s) colour"),
    ],
)
async def test_seed_refuses_bad_applications(api: Api, item: dict[str, Any], message: str) -> None:
    document = {"accounts": [{"code": "CUK3", "name": "Bad", "api2_applications": [item]}]}
    response = await api.http.post(
        "/_emulator/seed", json=document,
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert api.emu.store.find_account("CUK3") is None


def test_demo_application_survives_reloads(emu: Emulator) -> None:
    first = emu.load_demo()
    assert first.client_secret and first.env2()["MCAPI_CLIENT_ID"] == first.client_id
    again = emu.load_demo()
    assert (again.client_id, again.client_secret) == (first.client_id, first.client_secret)
    emu.admin.rotate_app_secret(first.client_id)
    rotated = emu.load_demo()
    assert rotated.client_id == first.client_id and rotated.client_secret is None
    assert "MCAPI_CLIENT_SECRET" not in rotated.env2()
    emu.admin.revoke_app(first.client_id)
    renewed = emu.load_demo()  # a revoked demo application is replaced
    assert renewed.client_id != first.client_id and renewed.client_secret


async def test_a_token_from_one_process_works_on_another(shared_db_url: str) -> None:
    """Two emulators sharing a database, as the processes of one deployment: a token issued by
    one is accepted by the other, and a revocation through one is seen by the other."""
    first = Emulator(shared_db_url, kdf_n=2**10)
    second = Emulator(shared_db_url, kdf_n=2**10)
    try:
        demo = first.load_demo()
        assert demo.client_secret is not None
        form = {"client_id": demo.client_id, "client_secret": demo.client_secret,
                "grant_type": "client_credentials"}  # fmt: skip
        to_first, to_second = (
            httpx.ASGITransport(app=first.app),
            httpx.ASGITransport(app=second.app),
        )
        async with (
            httpx.AsyncClient(transport=to_first, base_url="http://a") as a,
            httpx.AsyncClient(transport=to_second, base_url="http://b") as b,
        ):
            token = (await a.post(TOKEN, data=form)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert (await b.post(ACCOUNT, json={"data": []}, headers=headers)).status_code == 200
            first.admin.revoke_app(demo.client_id)
            refused = await b.post(ACCOUNT, json={"data": []}, headers=headers)
            assert code_of(refused) == "401 err_invalid_token"
    finally:
        first.close()
        second.close()


async def test_a_fault_rule_can_name_one_application(api: Api) -> None:
    app = await create_app(api)
    token = await token_for(api, app)
    rule = {
        "match": {"path": ACCOUNT, "user": f"api2:{app['client_id']}"},
        "effect": {"status": 500},
    }
    await api.admin("POST", "/faults", rule)
    assert (await bearer(api, token)).status_code == 500
    assert (await api.call(ACCOUNT)).status_code == 200  # the 1.0 user is not named
