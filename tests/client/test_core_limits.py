"""The core's bounds on transport failures and quota waits, to the unit: which budget share a
failure costs, where the deadline falls, what the step and the raised error say.

Written against the survivors of a mutation run (``make mutation``) over ``_core.py``: each test
pins a rule that a one-token change could otherwise break unnoticed.
"""

from __future__ import annotations

import random

import pytest

from mcapi._codes import catalogue
from mcapi._envelope import render_error, render_response
from mcapi._errors import QuotaExceeded, ServerError, TransportError
from mcapi.client._core import CallState, Core, Exchange, Outcome, Step, TransportFailure
from mcapi.client._retry import RetryBudget, RetryPolicy, backoff_delay

READ = "/api/account/get-account"
CONNECT = TransportFailure("connect", sent=False, message="refused", request_id="R-1")
RESET = TransportFailure("reset", sent=True, message="reset by peer", request_id="R-2")
QUOTA = catalogue().lookup(429, "0008")


def make(budget: RetryBudget | None = None, seed: int = 3, **policy: float) -> Core:
    return Core(
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        budget=budget or RetryBudget(),
        rng=random.Random(seed),
    )


def test_a_failure_to_connect_costs_a_retry_share_and_a_reset_a_timeout_share() -> None:
    budget = RetryBudget(100, retry_cost=5, timeout_cost=10)
    c = make(budget)
    c.on_transport_error(c.begin(READ, (), now=0), CONNECT, 0)
    assert budget.available == 95
    c.on_transport_error(c.begin(READ, (), now=0), RESET, 0)
    assert budget.available == 85


def test_a_spent_budget_stops_transport_retries_and_says_why() -> None:
    c = make(RetryBudget(4, retry_cost=5, timeout_cost=10))
    state = c.begin(READ, (), now=0)
    step = c.on_transport_error(state, CONNECT, 0)
    assert step.outcome is Outcome.RAISE
    assert step.reason == "refused; the client's retry budget is spent (the platform keeps failing)"
    error = step.error
    assert isinstance(error, TransportError)
    assert str(error).startswith(f"no usable answer from {READ}: refused; the client's retry")
    assert (error.endpoint, error.request_id, error.attempts) == (READ, "R-1", 1)
    assert step.request_id == "R-1"


def test_a_transport_retry_step_carries_its_reason_delay_and_request_id() -> None:
    c = make(base_delay=1.0, max_delay=100.0, max_attempts=10)
    state = c.begin(READ, (), now=0)
    first = c.on_transport_error(state, CONNECT, 0)
    assert first.outcome is Outcome.RETRY
    assert first.reason == "connect: refused"
    assert first.request_id == "R-1"
    assert state.retries == 1
    # The n-th retry draws from [0, base_delay * 2**(n-1)]: replay the same seeded draws.
    rng = random.Random(3)
    policy = RetryPolicy(base_delay=1.0, max_delay=100.0, max_attempts=10)
    assert first.delay == backoff_delay(1, policy, rng)
    delays = [c.on_transport_error(state, CONNECT, 0).delay for _ in range(4)]
    assert delays == [backoff_delay(n, policy, rng) for n in range(2, 6)]
    assert state.retries == 5


def test_a_transport_retry_may_end_exactly_at_the_deadline() -> None:
    c = make(base_delay=1.0, max_delay=1.0, deadline=10.0)
    state = c.begin(READ, (), now=0)
    delay = backoff_delay(1, c.policy, random.Random(3))
    # Sent at 10 - delay: the retry starts exactly at the deadline, which is still allowed.
    assert c.on_transport_error(state, CONNECT, 10.0 - delay).outcome is Outcome.RETRY


def test_a_transport_retry_past_the_deadline_raises_and_says_so() -> None:
    c = make(base_delay=4.0, max_delay=4.0, deadline=10.0, max_attempts=10)
    state = c.begin(READ, (), now=0)
    step = c.on_transport_error(state, CONNECT, 9.99)
    delay = backoff_delay(1, c.policy, random.Random(3))
    assert delay > 0.01  # the seed draws a wait that ends past the deadline
    assert step.outcome is Outcome.RAISE
    assert step.reason == "refused; deadline reached"
    assert isinstance(step.error, TransportError) and step.error.attempts == 1
    assert "refused; deadline reached" in str(step.error)


def _quota_answer(headers: dict[str, str]) -> Exchange:
    return Exchange(429, headers, render_error(QUOTA), "Q-1")


def test_a_429_without_reset_header_waits_one_second() -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), _quota_answer({}), 0)
    assert step.outcome is Outcome.WAIT
    assert step.delay == 1.0
    assert step.reason == "quota spent; X-RateLimit-Reset 1000 ms"
    assert step.request_id == "Q-1" and step.status == 429 and step.sub_code == "0008"


def test_a_quota_wait_may_end_exactly_at_the_deadline() -> None:
    c = make(deadline=10.0)
    state = c.begin(READ, (), now=0)
    step = c.on_answer(state, _quota_answer({"x-ratelimit-reset": "2000"}), 8.0)
    assert step.outcome is Outcome.WAIT and step.delay == 2.0


def test_a_quota_wait_past_the_deadline_raises_with_the_entry() -> None:
    c = make(deadline=10.0)
    state = c.begin(READ, (), now=0)
    step = c.on_answer(state, _quota_answer({"x-ratelimit-reset": "2000"}), 8.5)
    assert step.outcome is Outcome.RAISE
    error = step.error
    assert isinstance(error, QuotaExceeded) and error.entry is QUOTA
    assert "waiting for quota would pass the deadline" in str(error)


def test_quota_waits_exhausted_raise_naming_the_bound() -> None:
    c = make(max_quota_waits=1)
    state = c.begin(READ, (), now=0)
    c.on_answer(state, _quota_answer({"x-ratelimit-reset": "10"}), 0)
    step = c.on_answer(state, _quota_answer({"x-ratelimit-reset": "10"}), 0)
    assert step.outcome is Outcome.RAISE
    assert isinstance(step.error, QuotaExceeded) and step.error.entry is QUOTA
    assert "quota still spent after 1 wait(s) (max_quota_waits)" in str(step.error)


@pytest.mark.parametrize(
    "body",
    [{"data": []}, {"meta": {"status": 200}}, {"fail": []}],
    ids=["data", "meta", "fail"],
)
def test_any_envelope_key_makes_a_200_an_answer(body: dict[str, object]) -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), Exchange(200, {}, body, "R"), 0)
    assert step.outcome is Outcome.OK


def test_a_200_with_another_object_is_not_an_answer() -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), Exchange(200, {}, {"error": "x"}, "R"), 0)
    assert step.outcome is Outcome.RETRY  # a read: retried as a broken answer


def test_a_success_step_carries_the_result_and_ids() -> None:
    c = make()
    body = render_response([{"a": 1}])
    step = c.on_answer(c.begin(READ, ({"q": 1},), now=0), Exchange(200, {}, body, "R-9"), 0)
    assert step.outcome is Outcome.OK and step.request_id == "R-9"
    assert step.result is not None
    assert step.result.data == ({"a": 1},) and step.result.request_id == "R-9"
    assert step.result.path == READ and step.result.attempts == 1


# ---- results ------------------------------------------------------------------------------------


def _partial(c: Core, state: CallState, request_id: str = "P-1") -> Step:
    fail = [
        {"key": {"n": 2}, "errors": [{"code": "err_validation_blank", "message": "blank"}]},
        {"key": {"n": 3}, "errors": [{"code": "err_item_not_found", "message": "gone"}]},
    ]
    body = {
        "meta": {"status": 200, "pagination": {"pageSize": 1}},
        "data": [{"n": 1}],
        "fail": fail,
    }
    return c.on_answer(state, Exchange(200, {}, body, request_id), 0)


def test_a_partial_step_names_the_failed_codes() -> None:
    c = make()
    state = c.begin(READ, ({"n": 1}, {"n": 2}, {"n": 3}), now=0)
    step = _partial(c, state)
    assert step.outcome is Outcome.PARTIAL
    assert step.reason == "2 item(s) failed: err_item_not_found, err_validation_blank"
    assert step.request_id == "P-1"
    result = step.result
    assert result is not None
    assert result.path == READ and result.status == 200 and result.attempts == 1
    assert result.request_id == "P-1" and result.pagination is not None
    assert result.meta["status"] == 200
    assert [f.index for f in result.failures] == [1, 2]
    assert result.failures[0].errors[0].entry.body_code == "err_validation_blank"


def test_raise_for_failures_carries_everything_about_the_failures() -> None:
    from mcapi._errors import FunctionFailed

    c = make()
    state = c.begin(READ, ({"n": 1}, {"n": 2}, {"n": 3}), now=0)
    result = _partial(c, state).result
    assert result is not None
    with pytest.raises(FunctionFailed) as raised:
        result.raise_for_failures()
    error = raised.value
    assert error.args[0] == (
        "2 of 3 item(s) failed (err_item_not_found, err_validation_blank); "
        "1 succeeded and are in .result.data"
    )
    assert error.result is result
    assert error.entry is not None and error.entry.body_code == "err_validation_blank"
    assert error.status == 200 and error.sub_code == error.entry.sub_code
    assert error.body_codes == ("err_validation_blank", "err_item_not_found")
    assert error.messages == ("blank", "gone")
    assert (error.endpoint, error.request_id, error.attempts) == (READ, "P-1", 1)


def test_raise_for_failures_counts_the_answer_when_nothing_was_submitted() -> None:
    from mcapi._errors import FunctionFailed

    c = make()
    result = _partial(c, c.begin(READ, (), now=0)).result
    assert result is not None
    with pytest.raises(FunctionFailed, match=r"^2 of 3 item\(s\) failed"):
        result.raise_for_failures()


def test_a_failure_without_a_code_is_named_unknown() -> None:
    from mcapi._errors import FunctionFailed

    c = make()
    body = {"meta": {"status": 200}, "data": [], "fail": [{"key": {"n": 1}, "errors": [{}]}]}
    step = c.on_answer(c.begin(READ, ({"n": 1},), now=0), Exchange(200, {}, body, "R"), 0)
    assert step.reason == "1 item(s) failed: ?"
    assert step.result is not None
    with pytest.raises(FunctionFailed, match=r"\(unknown\)"):
        step.result.raise_for_failures()


def test_a_success_after_one_retry_gives_back_what_the_retry_took() -> None:
    budget = RetryBudget(100, retry_cost=5, timeout_cost=10, success_refund=1)
    c = make(budget)
    state = c.begin(READ, (), now=0)
    c.on_transport_error(state, CONNECT, 0)
    assert budget.available == 95
    c.on_answer(state, Exchange(200, {}, render_response([]), "R"), 0)
    assert budget.available == 100
    c.on_answer(c.begin(READ, (), now=0), Exchange(200, {}, render_response([]), "R"), 0)
    assert budget.available == 100  # the refund of a first-time success is capped
    assert state.budget_taken == 0


# ---- answers ------------------------------------------------------------------------------------

WRITE = "/api/managedsender/permit-or-block-sender"
SERVER = catalogue().lookup(500)


def test_a_500_on_a_write_is_repeated_only_when_the_platform_says_retryable() -> None:
    c = make()
    said = render_error(SERVER, retryable=True)
    step = c.on_answer(c.begin(WRITE, (), now=0), Exchange(500, {}, said, "S"), 0)
    assert step.outcome is Outcome.RETRY
    assert step.reason == f"{SERVER.label} {SERVER.name}"
    silent = render_error(SERVER, retryable=False)
    refused = c.on_answer(c.begin(WRITE, (), now=0), Exchange(500, {}, silent, "S"), 0)
    assert refused.outcome is Outcome.RAISE
    assert refused.reason == f"{SERVER.label} on {WRITE}, which changes state; not repeated"
    assert refused.error is not None
    assert refused.error.hint == (
        "Pass read_only=True or RetryPolicy(retry_writes=True) if it is idempotent."
    )
    assert str(refused.error).startswith(refused.error.summary + " " + refused.error.hint)


def test_a_transient_answer_at_the_deadline_is_not_retried() -> None:
    c = make(deadline=5.0, base_delay=0.0)
    state = c.begin(READ, (), now=0)
    step = c.on_answer(state, Exchange(500, {}, render_error(SERVER), "S"), 5.0)
    assert step.outcome is Outcome.RAISE
    assert step.reason == f"{SERVER.label}; deadline reached"


def test_a_3xx_is_not_a_success() -> None:
    c = make()
    step = c.on_answer(c.begin(READ, (), now=0), Exchange(300, {}, {"data": []}, "R"), 0)
    assert step.outcome is Outcome.RAISE


def test_the_http_status_decides_not_the_bodys_meta_status() -> None:
    c = make()
    body = {"meta": {"status": 200}, "data": [], "fail": []}
    step = c.on_answer(c.begin(READ, (), now=0), Exchange(500, {}, body, "R"), 0)
    assert step.outcome is Outcome.RETRY and step.status == 500


def test_an_api_error_carries_the_answers_sub_code_messages_and_headers() -> None:
    c = make(max_quota_waits=0)
    headers = {"x-ratelimit-reset": "1500", "x-ratelimit-remaining": "0"}
    step = c.on_answer(c.begin(READ, (), now=0), _quota_answer(headers), 0)
    error = step.error
    assert isinstance(error, QuotaExceeded)
    assert error.sub_code == "0008" and error.reset_ms == 1500
    assert error.messages == (QUOTA.message,)
    assert error.body_codes == (QUOTA.body_code,)


def test_a_file_answer_is_a_success_with_its_ids() -> None:
    budget = RetryBudget(100, retry_cost=5, timeout_cost=10)
    c = make(budget)
    state = c.begin(READ, (), now=0)
    c.on_transport_error(state, CONNECT, 0)
    step = c.on_answer(state, Exchange(200, {}, None, "F-1", is_file=True), 0)
    assert step.outcome is Outcome.FILE and step.reason == "file answer"
    assert (step.status, step.request_id) == (200, "F-1")
    assert budget.available == 100  # the retry's share came back


def test_a_200_without_envelope_is_a_broken_answer_with_its_request_id() -> None:
    c = make()
    step = c.on_answer(c.begin(WRITE, (), now=0), Exchange(200, {}, "text", "B-1"), 0)
    assert step.outcome is Outcome.RAISE and step.request_id == "B-1"
    assert step.reason.startswith("HTTP 200 without the JSON envelope")
    assert isinstance(step.error, TransportError) and step.error.request_id == "B-1"


class _Top(random.Random):
    """Draws the top of every backoff interval, so delays are the ceilings themselves."""

    def uniform(self, a: float, b: float) -> float:
        return b


def _top_core(**policy: float) -> Core:
    return Core(policy=RetryPolicy(**policy), budget=RetryBudget(), rng=_Top(0))  # type: ignore[arg-type]


def test_transient_answers_back_off_doubling_per_retry() -> None:
    c = _top_core(base_delay=1.0, max_delay=100.0, max_attempts=10)
    state = c.begin(READ, (), now=0)
    steps = [c.on_answer(state, Exchange(500, {}, render_error(SERVER), "S"), 0) for _ in range(4)]
    assert [s.outcome for s in steps] == [Outcome.RETRY] * 4
    assert [s.delay for s in steps] == [1.0, 2.0, 4.0, 8.0]
    assert state.retries == 4


def test_a_transient_retry_may_end_exactly_at_the_deadline_and_not_after() -> None:
    c = _top_core(base_delay=1.0, max_delay=1.0, deadline=10.0)
    answer = Exchange(500, {}, render_error(SERVER), "S")
    assert c.on_answer(c.begin(READ, (), now=0), answer, 9.0).outcome is Outcome.RETRY
    late = c.on_answer(c.begin(READ, (), now=0), answer, 9.5)
    assert late.outcome is Outcome.RAISE and late.reason == f"{SERVER.label}; deadline reached"
    assert isinstance(late.error, ServerError) and late.error.attempts == 1
