"""What the client makes of the faults a gateway in front of the platform causes, played by the
emulator: 5xx answers with an HTML page or a body that is not JSON, a body that dribbles, and an
error answered after the write was made."""

from __future__ import annotations

import pytest

from mcapi._errors import RemoteProtocolError, ServerError, TransportError
from mcapi.client import RetryPolicy

from .conftest import ACCOUNT, LOGOUT, Harness

pytestmark = pytest.mark.anyio

#: One retry (what is safe to repeat is repeated once), so the tests see two attempts at most.
TWO = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01)


def statuses(harness: Harness, path: str) -> list[int]:
    return [e.status for e in harness.journal(path)]


def spare_binding(harness: Harness) -> str:
    """The access key of another binding of the demo admin: logging it out is a write."""
    return harness.emu.admin.create_binding(harness.demo.admin_email).access_key


async def test_a_gateway_page_on_a_read_is_retried(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT, "times": 1}, "effect": {"status": 502}})
    result = await harness.client().call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert statuses(harness, ACCOUNT) == [502, 200]
    assert harness.outcomes() == ["retry", "ok"]


async def test_a_gateway_page_names_its_content_type(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT}, "effect": {"status": 503, "body": "html"}})
    with pytest.raises(RemoteProtocolError) as info:
        await harness.client(retry=TWO).call(ACCOUNT)
    assert "HTTP 503 text/html" in str(info.value)
    assert info.value.status == 503 and info.value.attempts == 2
    assert statuses(harness, ACCOUNT) == [503, 503]


async def test_a_gateway_page_on_a_write_is_not_repeated(harness: Harness) -> None:
    key = spare_binding(harness)
    harness.fault({"match": {"path": LOGOUT}, "effect": {"status": 504}})
    with pytest.raises(RemoteProtocolError) as info:
        await harness.client(retry=TWO).call(LOGOUT, [{"accessKey": key}])
    assert "text/html" in str(info.value) and "changes state" in str(info.value)
    assert info.value.attempts == 1 and statuses(harness, LOGOUT) == [504]
    assert harness.emu.store.get_binding(key) is not None  # answered before the function ran


async def test_a_malformed_body_is_a_server_error_retried_on_a_read(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT}, "effect": {"status": 502, "body": "malformed"}})
    with pytest.raises(ServerError) as info:
        await harness.client(retry=TWO).call(ACCOUNT)
    assert info.value.status == 502 and info.value.attempts == 2
    assert statuses(harness, ACCOUNT) == [502, 502]


async def test_an_error_after_the_write_is_not_repeated(harness: Harness) -> None:
    key = spare_binding(harness)
    effect = {"status": 500, "sub_code": "0006", "after_execution": True}
    harness.fault({"match": {"path": LOGOUT}, "effect": effect})
    with pytest.raises(ServerError) as info:
        await harness.client(retry=TWO).call(LOGOUT, [{"accessKey": key}])
    assert info.value.sub_code == "0006" and info.value.attempts == 1
    assert statuses(harness, LOGOUT) == [500]  # one attempt
    assert harness.emu.store.get_binding(key) is None  # and its write was made


async def test_a_gateway_timeout_after_the_write_is_not_repeated(harness: Harness) -> None:
    key = spare_binding(harness)
    harness.fault({"match": {"path": LOGOUT}, "effect": {"status": 504, "after_execution": True}})
    with pytest.raises(RemoteProtocolError) as info:
        await harness.client(retry=TWO).call(LOGOUT, [{"accessKey": key}])
    assert info.value.attempts == 1 and statuses(harness, LOGOUT) == [504]
    assert harness.emu.store.get_binding(key) is None


async def test_a_dribbling_body_is_cut_by_the_attempt_timeout(harness: Harness) -> None:
    # two bytes every tenth of a second: each read is quick, the whole answer takes many seconds
    harness.fault({"match": {"path": ACCOUNT}, "effect": {"dribble_bps": 20}})
    client = harness.client(network=True, timeout=0.5, retry=TWO)
    with pytest.raises(TransportError) as info:
        await client.call(ACCOUNT)
    assert info.value.attempts == 2 and "trickles" in str(info.value)
    assert statuses(harness, ACCOUNT) == [200, 200]  # the answers began, then never finished
