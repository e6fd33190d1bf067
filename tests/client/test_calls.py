"""Calls against the real emulator: results, partial failures, signing, diagnostics.

Every test body runs against both ``Client`` and ``AsyncClient`` (the ``harness`` fixture).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from mcapi._errors import FunctionFailed, LocalProtocolError, NotFound, Unauthorized
from mcapi.client import AsyncClient, Client, Credentials

from .conftest import ACCOUNT, CREATE_GROUP, LOGIN, LOGOUT, Harness

pytestmark = pytest.mark.anyio
#: Each harness test runs with API 1.0 and API 2.0 credentials (conftest: api_version).
BOTH_API_VERSIONS = True


async def test_call_returns_data_request_id_and_rate_limit(harness: Harness) -> None:
    client = harness.client()
    result = await client.call(ACCOUNT)
    assert result.ok and result.status == 200 and result.attempts == 1
    assert result.data[0]["accountCode"] == harness.demo.account_code
    [entry] = harness.journal(ACCOUNT)
    assert result.request_id == entry.request_id
    assert result.rate_limit is not None
    assert result.rate_limit.limit == 300 and result.rate_limit.remaining == 299
    assert harness.outcomes() == ["ok"]


async def test_every_attempt_is_signed_afresh(harness: Harness) -> None:
    harness.fault(
        {"match": {"path": ACCOUNT, "times": 2}, "effect": {"status": 500, "sub_code": "0006"}}
    )
    result = await harness.client().call(ACCOUNT)
    assert result.ok and result.attempts == 3
    entries = harness.journal(ACCOUNT)
    # Three attempts, each past the signature and replay checks (a re-sent request id or a
    # stale signature would have been refused with 401 0004 before the fault).
    assert [(e.status, e.sub_code) for e in entries] == [(500, "0006"), (500, "0006"), (200, None)]
    assert len({e.request_id for e in entries}) == 3
    assert entries[-1].request_id == result.request_id


async def test_partial_result_keeps_both_halves_and_pairs_keys(harness: Harness) -> None:
    harness.only_1_0(
        "logout of other bindings is refused to an API 2.0 application (no binding of its own)"
    )
    other = await harness.login()  # a second binding of the admin, to log out below
    victim = other.credentials.access_key
    items = [{"accessKey": "no-such-access-key"}, {"accessKey": victim}, {"accessKey": ""}]
    result = await harness.client().call(LOGOUT, items)
    assert result.partial and len(result.data) == 1
    assert [f.index for f in result.failures] == [0, 2]
    assert result.failures[0].key == items[0]
    assert result.failures[0].codes == ("err_item_not_found",)
    assert result.failures[1].entries[0].body_code == "err_validation_blank"
    assert result.failures[1].field == "accessKey"


async def test_raise_on_failure_still_carries_the_succeeded_items(harness: Harness) -> None:
    harness.only_1_0(
        "logout of other bindings is refused to an API 2.0 application (no binding of its own)"
    )
    other = await harness.login()
    items = [{"accessKey": other.credentials.access_key}, {"accessKey": "unknown-key-1"}]
    with pytest.raises(FunctionFailed) as info:
        await harness.client().call(LOGOUT, items, raise_on_failure=True)
    error = info.value
    assert error.result.data and error.result.failures[0].index == 1
    assert error.body_codes == ("err_item_not_found",)
    assert error.endpoint == LOGOUT and error.request_id == error.result.request_id
    assert "1 succeeded" in str(error)


async def test_a_partial_write_keeps_both_halves_on_either_api(harness: Harness) -> None:
    """The partial result of a write every credential may make (run on 1.0 and 2.0): the item
    that succeeded, and each failure paired with its item, code and field."""
    items = [{"description": "kept"}, {"description": ""}, {"description": "x", "parentId": "none"}]
    result = await harness.client().call(CREATE_GROUP, items)
    assert result.partial and [g["description"] for g in result.data] == ["kept"]
    assert [(f.index, f.key, f.codes, f.field) for f in result.failures] == [
        (1, items[1], ("err_validation_blank",), "description"),
        (2, items[2], ("err_item_not_found",), "parentId"),
    ]
    with pytest.raises(FunctionFailed) as info:
        await harness.client().call(CREATE_GROUP, items, raise_on_failure=True)
    assert info.value.result.data and info.value.body_codes == (
        "err_validation_blank",
        "err_item_not_found",
    )


async def test_injected_item_failures_are_resolved_through_the_catalogue(harness: Harness) -> None:
    harness.fault(
        {
            "match": {"path": LOGOUT},
            "effect": {
                "item_failures": [
                    {"index": 1, "code": "err_validation_blank", "field": "accessKey"}
                ]
            },
        }
    )
    items = [{"accessKey": "k-one-unknown"}, {"accessKey": "k-two-unknown"}]
    result = await harness.client().call(LOGOUT, items)
    by_index = {f.index: f for f in result.failures}
    assert by_index[1].entries[0].name == "Validation: Blank"
    assert by_index[1].key == items[1]


async def test_errors_carry_every_diagnostic(harness: Harness) -> None:
    client = harness.client()
    with pytest.raises(NotFound) as info:
        await client.call("/api/account/no-such-function")
    error = info.value
    [entry] = harness.journal("/api/account/no-such-function")
    assert (error.status, error.request_id, error.attempts) == (404, entry.request_id, 1)
    assert error.endpoint == "/api/account/no-such-function"
    assert error.body_codes == ("err_not_found",) and error.messages
    assert error.entry is not None and error.entry.remedy in str(error)
    assert error.to_dict()["entry"]["name"] == "Not Found"


async def test_discovery_of_an_unmanaged_domain_is_404_0003(harness: Harness) -> None:
    with pytest.raises(NotFound) as info:
        await harness.login("someone@not-managed.example", "whatever-password")
    assert info.value.sub_code == "0003"
    assert harness.journal(LOGIN) == []


async def test_secrets_never_reach_logs_or_events(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness.policy(binding_ttl_seconds=60)
    client = await harness.login()
    harness.emu.clock.advance(120)  # expire, so the refresh path logs too
    await client.call(ACCOUNT)
    with pytest.raises(Unauthorized):
        await harness.client(secret_key="d3Jvbmcta2V5LXdyb25nLWtleQ==").call(ACCOUNT)
    creds = client.credentials
    secrets = [
        creds.secret_key,
        creds.app_key,
        harness.demo.admin_password,
        harness.demo.secret_key,
    ]
    text = "\n".join(r.getMessage() for r in caplog.records)
    text += "\n".join(repr(e) for e in harness.events) + repr(creds)
    assert "refresh" in text
    for secret in secrets:
        assert secret and secret not in text
    assert "Authorization" not in text and "MC " not in text


async def test_attempt_events_are_frozen_and_complete(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT, "times": 1}, "effect": {"status": 500}})
    await harness.client().call(ACCOUNT)
    first, second = harness.events
    assert (first.outcome, first.status, first.attempt) == ("retry", 500, 1)
    assert first.delay == harness.sleeps[0] and first.retry_budget_remaining == 495
    assert (second.outcome, second.attempt, second.retry_budget_remaining) == ("ok", 2, 500)
    assert first.request_id != second.request_id
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.outcome = "x"  # type: ignore[misc]


async def test_from_env_uses_the_mcapi_variables(harness: Harness) -> None:
    env = harness.demo.env() | {"MCAPI_BASE_URL": harness.base_url()}
    klass: type[Client] | type[AsyncClient] = AsyncClient if harness.is_async else Client
    raw = klass.from_env(env, **harness.options())  # type: ignore[arg-type]
    assert raw.credentials == Credentials.from_env(env)
    from .conftest import Driver

    driver = Driver(raw)
    harness.drivers.append(driver)
    assert (await driver.call(ACCOUNT)).ok


async def test_malformed_calls_are_refused_before_sending(harness: Harness) -> None:
    client = harness.client()
    with pytest.raises(LocalProtocolError, match="list of items"):
        await client.call(ACCOUNT, {"one": "item"})
    with pytest.raises(LocalProtocolError, match="starts with /"):
        await client.call("api/account/get-account")
    assert harness.journal(ACCOUNT) == []
