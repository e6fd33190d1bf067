"""What each step of the core says and carries when it stops, renews or retries: the entry's sub
code (the ``AttemptEvent`` a user logs), the reason, and the raised error's detail.

Written against the survivors of ``make mutation`` over ``_core.py`` and ``_retry.py``: each test
pins a decision or a field that a one-token change could otherwise break unnoticed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mcapi._codes import catalogue
from mcapi._envelope import render_error, render_response
from mcapi._errors import BindingExpired, ServerError, Unauthorized
from mcapi.client._core import CallState, Core, Exchange, Outcome, Step
from mcapi.client._retry import RetryBudget, RetryPolicy

READ = "/api/account/get-account"
WRITE = "/api/managedsender/permit-or-block-sender"
LOGIN = "/api/login/login"
QUOTA = catalogue().lookup(429, "0008")
EXPIRED = catalogue().lookup(418, "0001")
STOP = catalogue().lookup(401, "0001")
EXTERNAL = catalogue().lookup(500, "0006")
STOPPED = "The client stopped: "


def make(**policy: float) -> Core:
    return Core(
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        budget=RetryBudget(),
        rng=random.Random(5),
    )


def reply(status: int, body: object, request_id: str = "R") -> Exchange:
    return Exchange(status, {"x-ratelimit-reset": "10"}, body, request_id)


def quota() -> Exchange:
    return reply(429, render_error(QUOTA))


def expired() -> Exchange:
    return reply(418, render_error(EXPIRED))


def external() -> Exchange:
    return reply(500, render_error(EXTERNAL))


# ---- renewal ------------------------------------------------------------------------------------


def test_a_call_begun_without_saying_it_can_renew_does_not_renew() -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), expired(), 0)
    assert step.outcome is Outcome.RAISE and isinstance(step.error, BindingExpired)
    renewing = c.on_answer(c.begin(READ, (), now=0, can_renew=True), expired(), 0)
    assert renewing.outcome is Outcome.REFRESH


# ---- quota waits and max_attempts ---------------------------------------------------------------


def test_quota_waits_leave_max_attempts_to_the_transient_retries() -> None:
    c = make(max_attempts=2, base_delay=0.0)
    state = c.begin(READ, (), now=0)
    for _ in range(3):
        assert c.on_answer(state, quota(), 0).outcome is Outcome.WAIT
    assert c.on_answer(state, external(), 0).outcome is Outcome.RETRY
    last = c.on_answer(state, external(), 0)
    assert last.outcome is Outcome.RAISE
    assert last.reason == f"{EXTERNAL.label}; gave up after 2 attempt(s) (max_attempts)"


# ---- what each step carries ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    drive: Callable[[Core, CallState], Step]
    outcome: Outcome
    sub_code: str
    reason: str
    explained: bool = True  # the error's text adds why the client stopped
    policy: tuple[tuple[str, float], ...] = ()


def _twice(c: Core, state: CallState) -> Step:
    c.on_answer(state, expired(), 0)
    return c.on_answer(state, expired(), 0)


CASES = [
    Case(
        "stop",
        lambda c, s: c.on_answer(s, reply(401, render_error(STOP)), 0),
        Outcome.RAISE,
        "0001",
        f"{STOP.label} {STOP.name}: stop, never retried",
        explained=False,
    ),
    Case(
        "quota waits spent",
        lambda c, s: c.on_answer(s, quota(), 0),
        Outcome.RAISE,
        "0008",
        "quota still spent after 0 wait(s) (max_quota_waits)",
        policy=(("max_quota_waits", 0),),
    ),
    Case(
        "quota wait past the deadline",
        lambda c, s: c.on_answer(s, quota(), 0.995),
        Outcome.RAISE,
        "0008",
        "waiting for quota would pass the deadline",
        policy=(("deadline", 1.0),),
    ),
    Case(
        "refresh",
        lambda c, s: c.on_answer(s, expired(), 0),
        Outcome.REFRESH,
        "0001",
        f"{EXPIRED.label} {EXPIRED.name}",
    ),
    Case(
        "expired twice",
        _twice,
        Outcome.RAISE,
        "0001",
        f"{EXPIRED.label} again after renewing the binding once",
    ),
    Case(
        "transient retry",
        lambda c, s: c.on_answer(s, external(), 0),
        Outcome.RETRY,
        "0006",
        f"{EXTERNAL.label} {EXTERNAL.name}",
    ),
    Case(
        "transient attempts spent",
        lambda c, s: c.on_answer(s, external(), 0),
        Outcome.RAISE,
        "0006",
        f"{EXTERNAL.label}; gave up after 1 attempt(s) (max_attempts)",
        policy=(("max_attempts", 1),),
    ),
    Case(
        "transient past the deadline",
        lambda c, s: c.on_answer(s, external(), 0),
        Outcome.RAISE,
        "0006",
        f"{EXTERNAL.label}; deadline reached",
        policy=(("deadline", 0.001),),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_step_carries_the_entrys_sub_code_and_says_why(case: Case) -> None:
    c = make(**dict(case.policy))
    step = case.drive(c, c.begin(READ, ({"x": 1},), now=0, can_renew=True))
    assert step.outcome is case.outcome
    assert step.sub_code == case.sub_code and step.status in (401, 418, 429, 500)
    assert step.reason == case.reason
    assert c.event(c.begin(READ, (), now=0), step).sub_code == case.sub_code
    if step.outcome is Outcome.RAISE:
        assert step.error is not None and step.error.sub_code == case.sub_code
        assert (STOPPED + case.reason in str(step.error)) is case.explained
        assert (STOPPED in str(step.error)) is case.explained


def test_a_binding_that_expires_while_logging_in_is_not_renewed() -> None:
    c = make()
    step = c.on_answer(c.begin(LOGIN, (), now=0, can_renew=True, renewable=False), expired(), 0)
    assert step.outcome is Outcome.RAISE and step.sub_code == "0001"
    assert step.reason == f"{EXPIRED.label} while logging in"
    assert STOPPED + step.reason in str(step.error)


def test_an_expired_binding_without_password_names_the_cause_and_the_remedy() -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), expired(), 0)
    assert step.sub_code == "0001"
    assert step.reason == f"{EXPIRED.label} {EXPIRED.name} and no password to renew the binding"
    assert STOPPED not in str(step.error)  # the remedy replaces the generic detail


def test_a_write_refused_a_repeat_carries_the_sub_code() -> None:
    c = make()
    step = c.on_answer(c.begin(WRITE, (), now=0), external(), 0)
    assert step.outcome is Outcome.RAISE and step.sub_code == "0006"
    assert isinstance(step.error, ServerError)


def test_an_error_keeps_a_sub_code_the_catalogue_does_not_know() -> None:
    body = {"meta": {"status": 401}, "data": [], "fail": [{"errors": [{"message": "0099 new"}]}]}
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), reply(401, body), 0)
    assert isinstance(step.error, Unauthorized)
    assert step.error.sub_code == "0099"


# ---- results ------------------------------------------------------------------------------------


def test_a_result_after_a_retry_counts_every_attempt_and_keeps_what_was_sent() -> None:
    c = make()
    submitted = ({"n": 1}, {"n": 2})
    state = c.begin(READ, submitted, now=0)
    assert c.on_answer(state, external(), 0).outcome is Outcome.RETRY
    step = c.on_answer(state, reply(200, render_response([{"n": 1}])), 1)
    assert step.outcome is Outcome.OK and step.reason == "ok"
    assert step.result is not None
    assert step.result.attempts == 2 and step.result.submitted == submitted


def test_a_200_without_envelope_on_a_read_is_retried_and_named_a_broken_body() -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), reply(200, "<html>"), 0)
    assert step.outcome is Outcome.RETRY
    assert step.reason == "invalid_body: HTTP 200 without the JSON envelope"


# ---- the retry budget ---------------------------------------------------------------------------


def test_a_budget_may_be_built_with_zero_figures() -> None:
    budget = RetryBudget(0, retry_cost=0, timeout_cost=0, success_refund=0)
    assert budget.available == 0
    assert budget.acquire() == 0  # a free retry is always affordable


def test_a_plain_acquire_costs_a_retry_share_not_a_timeout_share() -> None:
    budget = RetryBudget(100, retry_cost=5, timeout_cost=10)
    assert budget.acquire() == 5 and budget.available == 95
    assert budget.acquire(timeout=True) == 10 and budget.available == 85


def test_an_attempt_event_reports_the_step_and_the_call() -> None:
    c = make()
    state = c.begin(READ, (), now=0)
    step = c.on_answer(state, external(), 0)
    event = c.event(state, step)
    assert (event.path, event.attempt, event.outcome) == (READ, 1, "retry")
    assert (event.reason, event.status, event.sub_code) == (step.reason, 500, "0006")
    assert event.delay == step.delay > 0 and event.request_id == "R"
    assert event.retry_budget_remaining == c.budget.available == 495


def test_an_attempt_event_counts_retries_and_quota_waits_against_the_policy() -> None:
    c = make(max_attempts=3, max_quota_waits=2)
    state = c.begin(READ, (), now=0)
    waited = c.event(state, c.on_answer(state, quota(), 0))
    assert (waited.outcome, waited.quota_waits, waited.max_quota_waits) == ("wait", 1, 2)
    assert (waited.retries, waited.max_attempts) == (0, 3)
    retried = c.event(state, c.on_answer(state, external(), 0))
    assert (retried.outcome, retried.attempt, retried.retries, retried.max_attempts) == (
        "retry",
        2,
        1,
        3,
    )
    assert retried.quota_waits == 1
    again = c.event(state, c.on_answer(state, external(), 0))
    assert (again.outcome, again.retries) == ("retry", 2)
    last = c.event(state, c.on_answer(state, external(), 0))
    assert (last.outcome, last.retries, last.attempt) == ("raise", 2, 4)
