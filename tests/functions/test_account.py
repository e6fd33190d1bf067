"""get-account over HTTP: the account's facts, limits, permission, injected failures."""

from __future__ import annotations

import pytest

from mcapi.emulator._data import GenerateSummary, set_profile
from mcapi.emulator._store import Account
from tests.functions.conftest import Api, answer, fails

pytestmark = pytest.mark.anyio
PATH = "/api/account/get-account"


async def test_get_account_describes_the_callers_account(
    api: Api, account: Account, tenant: GenerateSummary
) -> None:
    set_profile(api.emu.store, account.id, max_retention_days=365, admin_email="it@demo.example")
    body = await api.ok(PATH, [])
    assert body["fail"] == []
    (record,) = body["data"]
    assert record["accountCode"] == "CUSA12345"
    assert record["accountName"] == "Demo Corp"
    assert record["region"] == "us"
    assert record["domain"] == "demo.example"
    assert record["maxRetention"] == 365
    assert record["adminEmail"] == "it@demo.example"
    # the three demo users plus the generated people
    assert record["userCount"] == 3 + tenant.users
    assert any("Archive" in p for p in record["packages"])
    assert record["mimecastId"] == (await api.ok(PATH, []))["data"][0]["mimecastId"]


async def test_more_than_one_item_fails_every_item(api: Api) -> None:
    body = await api.ok(PATH, [{}, {"x": 1}])
    assert body["data"] == []
    assert [(k, c) for k, c, _ in fails(body)] == [
        ({}, "err_validation_too_many_items"),
        ({"x": 1}, "err_validation_too_many_items"),
    ]


async def test_user_without_dashboard_permission_is_forbidden(api: Api) -> None:
    response = await api.call(PATH, [], keys=api.nobody)
    assert answer(response) == "403 0002 err_xdk_forbidden"
    # the read-only user holds it
    assert (await api.ok(PATH, [], keys=api.reader))["data"][0]["accountCode"] == "CUSA12345"
