"""500s and broken connections: backoff for what is safe to repeat, never for what is not."""

from __future__ import annotations

import pytest

from mcapi._errors import ServerError, TransportError
from mcapi.client import RetryBudget, RetryPolicy

from .conftest import ACCOUNT, CREATE_GROUP, LOGOUT, Harness

pytestmark = pytest.mark.anyio
#: Each harness test runs with API 1.0 and API 2.0 credentials (conftest: api_version).
BOTH_API_VERSIONS = True

E500 = {"status": 500}
E0006 = {"status": 500, "sub_code": "0006"}


def statuses(harness: Harness, path: str) -> list[int]:
    return [e.status for e in harness.journal(path)]


async def test_read_is_retried_with_full_jitter_backoff(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT, "times": 3}, "effect": E500})
    result = await harness.client().call(ACCOUNT)
    assert result.ok and result.attempts == 4
    assert statuses(harness, ACCOUNT) == [500, 500, 500, 200]
    first, second, third = harness.sleeps
    assert 0 <= first <= 0.25 and 0 <= second <= 0.5 and 0 <= third <= 1.0
    assert harness.outcomes() == ["retry", "retry", "retry", "ok"]


async def test_read_gives_up_after_max_attempts(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT}, "effect": E0006})
    with pytest.raises(ServerError) as info:
        await harness.client(retry=RetryPolicy(max_attempts=3)).call(ACCOUNT)
    assert info.value.sub_code == "0006" and info.value.attempts == 3
    assert len(harness.journal(ACCOUNT)) == 3


async def test_a_state_changing_call_is_not_repeated_after_a_500(harness: Harness) -> None:
    harness.fault({"match": {"path": LOGOUT}, "effect": E500})
    with pytest.raises(ServerError) as info:
        await harness.client().call(LOGOUT, [{"accessKey": "some-access-key"}])
    assert info.value.attempts == 1
    assert "changes state" in str(info.value)
    assert statuses(harness, LOGOUT) == [500]
    assert harness.sleeps == []


def spare_binding(harness: Harness) -> dict[str, str]:
    """A logout item that succeeds: another binding of the demo admin (a logout without items
    fails, as one empty item, for its missing accessKey)."""
    keys = harness.emu.admin.create_binding(harness.demo.admin_email)
    return {"accessKey": keys.access_key}


async def test_a_write_is_repeated_when_the_platform_says_retryable(harness: Harness) -> None:
    harness.only_1_0(
        "logout of other bindings is refused to an API 2.0 application (no binding of its own)"
    )
    harness.fault({"match": {"path": LOGOUT, "times": 1}, "effect": {**E0006, "retryable": True}})
    assert (await harness.client().call(LOGOUT, [spare_binding(harness)])).ok
    assert statuses(harness, LOGOUT) == [500, 200]


async def test_a_write_marked_not_retryable_is_not_repeated(harness: Harness) -> None:
    harness.fault({"match": {"path": LOGOUT, "times": 1}, "effect": {**E0006, "retryable": False}})
    with pytest.raises(ServerError):
        await harness.client().call(LOGOUT, [])
    assert statuses(harness, LOGOUT) == [500]


@pytest.mark.parametrize(
    "opt_in", [{"read_only": True}, {"retry": RetryPolicy(retry_writes=True)}], ids=str
)
async def test_caller_may_opt_in_for_an_idempotent_write(harness: Harness, opt_in: dict) -> None:  # type: ignore[type-arg]
    harness.only_1_0(
        "logout of other bindings is refused to an API 2.0 application (no binding of its own)"
    )
    harness.fault({"match": {"path": LOGOUT, "times": 1}, "effect": E500})
    assert (await harness.client().call(LOGOUT, [spare_binding(harness)], **opt_in)).ok
    assert statuses(harness, LOGOUT) == [500, 200]


@pytest.mark.parametrize(
    ("effect", "opt_in"),
    [
        ({**E0006, "retryable": True}, {}),
        (E500, {"read_only": True}),
        (E500, {"retry": RetryPolicy(retry_writes=True)}),
    ],
    ids=["platform-says-retryable", "read_only", "retry_writes"],
)
async def test_a_write_is_repeated_only_when_safe_on_either_api(
    harness: Harness,
    effect: dict,  # type: ignore[type-arg]
    opt_in: dict,  # type: ignore[type-arg]
) -> None:
    """A write every credential may make (run on 1.0 and 2.0) is repeated after a transient
    failure when the platform says so or the caller declares it safe, and then made once."""
    harness.fault({"match": {"path": CREATE_GROUP, "times": 1}, "effect": effect})
    result = await harness.client().call(CREATE_GROUP, [{"description": "once"}], **opt_in)
    assert result.ok and result.attempts == 2
    assert statuses(harness, CREATE_GROUP) == [500, 200]


async def test_the_retry_budget_stops_retry_storms(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT}, "effect": E500})
    client = harness.client(retry_budget=RetryBudget(10, retry_cost=5))
    with pytest.raises(ServerError) as info:
        await client.call(ACCOUNT)
    assert info.value.attempts == 3  # two retries spent the budget
    with pytest.raises(ServerError) as info:
        await client.call(ACCOUNT)
    assert info.value.attempts == 1  # nothing left: the platform is down, stop piling on
    assert len(harness.journal(ACCOUNT)) == 4
    assert harness.events[-1].retry_budget_remaining == 0


async def test_the_deadline_bounds_retrying(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT}, "effect": E500})
    policy = RetryPolicy(max_attempts=50, base_delay=2.0, max_delay=2.0, deadline=3.0)
    with pytest.raises(ServerError):
        await harness.client(retry=policy).call(ACCOUNT)
    assert sum(harness.sleeps) <= 3.0
    assert len(harness.journal(ACCOUNT)) < 50


# ---- transport faults: a real socket for both clients --------------------------------------------


@pytest.mark.parametrize("kind", ["reset", "truncated", "empty"])
async def test_broken_answers_to_a_read_are_retried(harness: Harness, kind: str) -> None:
    harness.fault({"match": {"path": ACCOUNT, "times": 1}, "effect": {"transport": kind}})
    result = await harness.client(network=True).call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert len(harness.journal(ACCOUNT)) == 2


@pytest.mark.parametrize("kind", ["reset", "truncated", "empty"])
async def test_broken_answer_to_a_write_is_never_repeated(harness: Harness, kind: str) -> None:
    harness.fault({"match": {"path": LOGOUT, "times": 1}, "effect": {"transport": kind}})
    with pytest.raises(TransportError) as info:
        await harness.client(network=True).call(LOGOUT, [{"accessKey": "x-access-key"}])
    assert info.value.attempts == 1 and info.value.endpoint == LOGOUT
    assert "may have reached the server" in str(info.value)
    assert info.value.request_id == harness.journal(LOGOUT)[0].request_id
    assert len(harness.journal(LOGOUT)) == 1


async def test_refused_connection_is_retried_even_for_a_write(harness: Harness) -> None:
    client = harness.client(network=True, base_url="http://127.0.0.1:9")
    with pytest.raises(TransportError) as info:
        await client.call(LOGOUT, [])
    assert info.value.attempts == 4  # never sent, so safe to repeat, up to max_attempts
    assert len(harness.sleeps) == 3


async def test_read_timeout_on_a_write_is_not_repeated(harness: Harness) -> None:
    harness.fault({"match": {"path": LOGOUT, "times": 1}, "effect": {"latency_ms": 400}})
    with pytest.raises(TransportError) as info:
        await harness.client(network=True, timeout=0.05).call(LOGOUT, [])
    assert info.value.attempts == 1 and "ReadTimeout" in str(info.value)


async def test_a_write_meeting_0006_is_not_repeated_by_default(harness: Harness) -> None:
    """500 0006 may follow execution (the catalogue's remedy): the catalogue marks it not
    retryable, so the emulator's answer says so and the client sends a write only once."""
    harness.fault({"match": {"path": LOGOUT, "times": 1}, "effect": E0006})
    with pytest.raises(ServerError) as info:
        await harness.client().call(LOGOUT, [spare_binding(harness)])
    assert info.value.sub_code == "0006" and info.value.attempts == 1
    assert statuses(harness, LOGOUT) == [500]


async def test_a_read_meeting_0006_is_retried(harness: Harness) -> None:
    harness.fault({"match": {"path": ACCOUNT, "times": 1}, "effect": E0006})
    result = await harness.client().call(ACCOUNT)
    assert result.ok and result.attempts == 2
    assert statuses(harness, ACCOUNT) == [500, 200]
