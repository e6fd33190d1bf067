"""Filling a tenant with generated data through the admin API."""

from __future__ import annotations

import pytest

from tests.emulator.conftest import Api

pytestmark = pytest.mark.anyio


async def test_generate_fills_the_tenant_deterministically(api: Api) -> None:
    api.emu.clock.freeze()
    body = {"seed": 7, "users": 5, "days": 2, "messages_per_user_day": 4}
    path = "/accounts/CUSA12345/generate?wait=60"
    first = (await api.admin("POST", path, body)).json()["generated"]
    second = (await api.admin("POST", path, body)).json()["generated"]
    # the same seed gives the same data (the users exist the second time, so none is added)
    assert {k: v for k, v in first.items() if k != "users"} == {
        k: v for k, v in second.items() if k != "users"
    }
    assert (first["users"], second["users"]) == (5, 0)
    assert first["messages"] > 0
    held = await api.call("/api/gateway/get-hold-message-list", [{"admin": True}])
    assert held.status_code == 200


@pytest.mark.parametrize(
    ("body", "needle"),
    [({"users": -1}, "users"), ({"days": "7"}, "days"), ({"colour": 1}, "unknown")],
)
async def test_generate_refuses_bad_input(api: Api, body: dict[str, object], needle: str) -> None:
    response = await api.http.post(
        "/_emulator/accounts/CUSA12345/generate", json=body,
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert needle in response.json()["error"]


async def test_generate_unknown_account(api: Api) -> None:
    response = await api.http.post(
        "/_emulator/accounts/NOPE/generate", json={},
        headers={"Authorization": f"Bearer {api.creds.admin_token}"},
    )  # fmt: skip
    assert response.status_code == 404
