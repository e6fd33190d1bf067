"""The sans-I/O core: for every code of the contract, what the client decides.

The contract (docs/design/RESPONSE-CODES.md, "What the client does") is restated here as data, apart
from the catalogue, so a catalogue edit that changes client behaviour fails a test.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcapi._codes import Action, CodeEntry, catalogue
from mcapi._envelope import ErrorDetail, FailItem, render_error, render_response
from mcapi._errors import (
    ApiError,
    BadRequest,
    BindingExpired,
    Conflict,
    Forbidden,
    NotFound,
    QuotaExceeded,
    ServerError,
    TransportError,
    Unauthorized,
)
from mcapi.client import is_read_only
from mcapi.client._core import Core, Exchange, Outcome, TransportFailure
from mcapi.client._retry import RetryBudget, RetryPolicy

READ = "/api/account/get-account"
WRITE = "/api/managedsender/permit-or-block-sender"
HEADERS = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1500"}

# (status, sub code) -> what the contract says the client does.
CONTRACT: dict[tuple[int, str | None], str] = {
    (429, "0008"): "wait",
    (429, None): "wait",
    (418, "0001"): "refresh",
    (418, None): "refresh",
    (401, "0008"): "relogin",
    (401, "0012"): "relogin",
    (401, "0013"): "relogin",
    (500, "0006"): "transient",
    (500, None): "transient",
    **{(401, s): "stop" for s in ("0001", "0003", "0004", "0005", "0010", "0011")},
    **{(403, s): "stop" for s in ("0009", "0012", "0016")},
    **{(403, s): "raise" for s in ("0002", "0003", "0007", "0011")},
    (401, None): "stop",
    (403, None): "raise",
    (400, None): "raise",
    (400, "0001"): "raise",
    (404, None): "raise",
    (404, "0003"): "raise",
    (405, None): "raise",
    (409, None): "raise",
    (413, None): "raise",
    (408, None): "transient",
    (431, None): "raise",
}
ERROR_CLASS = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: BadRequest,
    409: Conflict,
    408: BadRequest,
    413: BadRequest,
    431: BadRequest,
    418: BindingExpired,
    429: QuotaExceeded,
    500: ServerError,
}
HTTP_ENTRIES = [e for e in catalogue().entries if e.status != 200]


def core(seed: int = 7, **policy: Any) -> Core:
    return Core(policy=RetryPolicy(**policy), budget=RetryBudget(), rng=random.Random(seed))


def answer(
    c: Core,
    entry: CodeEntry,
    *,
    path: str = READ,
    can_renew: bool = True,
    now: float = 0.0,
    state: Any = None,
) -> tuple[Any, Any]:
    state = state or c.begin(path, ({"x": 1},), now=0.0, can_renew=can_renew)
    body = render_error(entry)
    step = c.on_answer(state, Exchange(entry.status, HEADERS, body, "REQ-1"), now)
    return step, state


def test_contract_covers_every_http_entry_of_the_catalogue() -> None:
    missing = [e.label for e in HTTP_ENTRIES if (e.status, e.sub_code) not in CONTRACT]
    assert missing == []


@pytest.mark.parametrize("entry", HTTP_ENTRIES, ids=lambda e: f"{e.label}-{e.body_code}")
def test_each_code_gets_the_contracts_decision(entry: CodeEntry) -> None:
    expected = CONTRACT[(entry.status, entry.sub_code)]
    for read_only in (True, False):
        path = READ if read_only else WRITE
        step, _ = answer(core(), entry, path=path, can_renew=True)
        outcome = {
            "wait": Outcome.WAIT,
            "refresh": Outcome.REFRESH,
            "relogin": Outcome.RELOGIN,
            "stop": Outcome.RAISE,
            "raise": Outcome.RAISE,
        }.get(expected)
        if expected == "transient":
            # Repeated for reads, and for writes only when the platform says retryable.
            outcome = Outcome.RETRY if read_only or entry.retryable else Outcome.RAISE
        assert step.outcome is outcome, (entry.label, read_only)
        assert step.status == entry.status
        assert step.request_id == "REQ-1"
        if step.outcome is Outcome.RAISE:
            error = step.error
            assert isinstance(error, ERROR_CLASS[entry.status])
            assert error.entry == entry
            assert (error.status, error.sub_code) == (entry.status, entry.sub_code)
            assert error.endpoint == path and error.request_id == "REQ-1"
            assert error.attempts == 1
            assert entry.body_code is None or error.body_codes == (entry.body_code,)
            assert entry.remedy in str(error)


@pytest.mark.parametrize(
    "entry", [e for e in HTTP_ENTRIES if e.action in (Action.REFRESH, Action.RELOGIN)]
)
def test_renewal_without_password_raises_with_the_remedy(entry: CodeEntry) -> None:
    step, _ = answer(core(), entry, can_renew=False)
    assert step.outcome is Outcome.RAISE
    assert isinstance(step.error, ERROR_CLASS[entry.status])
    assert "holds no password" in str(step.error)


def test_refresh_happens_once_per_call() -> None:
    c = core()
    entry = catalogue().lookup(418, "0001")
    first, state = answer(c, entry)
    assert first.outcome is Outcome.REFRESH
    second, _ = answer(c, entry, state=state)
    assert second.outcome is Outcome.RAISE
    assert isinstance(second.error, BindingExpired)
    assert second.error.attempts == 2


def test_login_calls_are_never_renewed() -> None:
    c = core()
    state = c.begin("/api/login/login", (), now=0, can_renew=True, renewable=False)
    step, _ = answer(c, catalogue().lookup(401, "0008"), state=state)
    assert step.outcome is Outcome.RAISE


def test_wait_uses_reset_capped_and_bounded() -> None:
    entry = catalogue().lookup(429, "0008")
    step, state = answer(core(), entry)
    assert step.outcome is Outcome.WAIT and step.delay == pytest.approx(1.5)
    capped, _ = answer(core(max_wait=0.5), entry)
    assert capped.delay == pytest.approx(0.5)
    c = core(max_quota_waits=2)
    state = c.begin(READ, (), now=0)
    outcomes = [answer(c, entry, state=state)[0].outcome for _ in range(3)]
    assert outcomes == [Outcome.WAIT, Outcome.WAIT, Outcome.RAISE]
    late, _ = answer(core(deadline=1.0), entry)
    assert late.outcome is Outcome.RAISE and isinstance(late.error, QuotaExceeded)


def test_transient_retries_are_bounded_by_attempts_and_jittered() -> None:
    c = core(max_attempts=3, base_delay=1.0, max_delay=10.0)
    entry = catalogue().lookup(500)
    state = c.begin(READ, (), now=0)
    steps = [answer(c, entry, state=state)[0] for _ in range(3)]
    assert [s.outcome for s in steps] == [Outcome.RETRY, Outcome.RETRY, Outcome.RAISE]
    assert 0 <= steps[0].delay <= 1.0 and 0 <= steps[1].delay <= 2.0
    assert "max_attempts" in steps[2].reason
    # Seeded: the same jitter on every run.
    again = core(max_attempts=3, base_delay=1.0, max_delay=10.0)
    state2 = again.begin(READ, (), now=0)
    assert [answer(again, entry, state=state2)[0].delay for _ in range(2)] == [
        s.delay for s in steps[:2]
    ]


def test_transient_retry_respects_the_deadline() -> None:
    c = core(deadline=5.0)
    entry = catalogue().lookup(500, "0006")
    state = c.begin(READ, (), now=0)
    step, _ = answer(c, entry, state=state, now=5.0)
    assert step.outcome is Outcome.RAISE and "deadline" in step.reason


def test_retry_budget_drains_and_refills() -> None:
    budget = RetryBudget(10, retry_cost=5, timeout_cost=10, success_refund=1)
    c = Core(policy=RetryPolicy(max_attempts=10), budget=budget, rng=random.Random(1))
    entry = catalogue().lookup(500)
    state = c.begin(READ, (), now=0)
    outcomes = [answer(c, entry, state=state)[0].outcome for _ in range(3)]
    assert outcomes == [Outcome.RETRY, Outcome.RETRY, Outcome.RAISE]
    assert budget.available == 0
    ok = Exchange(200, {}, render_response([{"a": 1}]), "R")
    c.on_answer(state, ok, 0)  # a success after retrying gives back what it took
    assert budget.available == 10
    fresh = c.begin(READ, (), now=0)
    budget._available = 3
    c.on_answer(fresh, ok, 0)  # a first-time success refunds one token
    assert budget.available == 4


def test_transport_failures_are_judged_by_whether_they_were_sent() -> None:
    c = core()
    connect = TransportFailure("connect", sent=False, message="refused", request_id="R")
    reset = TransportFailure("reset", sent=True, message="reset", request_id="R")
    write = c.begin(WRITE, (), now=0)
    assert c.on_transport_error(write, connect, 0).outcome is Outcome.RETRY
    step = c.on_transport_error(write, reset, 0)
    assert step.outcome is Outcome.RAISE
    assert isinstance(step.error, TransportError)
    assert "not repeated" in str(step.error) and step.error.attempts == 2
    read = c.begin(READ, (), now=0)
    assert c.on_transport_error(read, reset, 0).outcome is Outcome.RETRY
    opted = c.begin(WRITE, (), now=0, policy=RetryPolicy(retry_writes=True))
    assert c.on_transport_error(opted, reset, 0).outcome is Outcome.RETRY
    declared = c.begin(WRITE, (), now=0, read_only=True)
    assert c.on_transport_error(declared, reset, 0).outcome is Outcome.RETRY


def test_200_without_envelope_is_not_success() -> None:
    c = core()
    write = c.begin(WRITE, (), now=0)
    step = c.on_answer(write, Exchange(200, {}, None, "R"), 0)
    assert step.outcome is Outcome.RAISE and isinstance(step.error, TransportError)
    read = c.begin(READ, (), now=0)
    assert c.on_answer(read, Exchange(200, {}, None, "R"), 0).outcome is Outcome.RETRY


def test_partial_result_pairs_failures_with_submitted_items() -> None:
    items = ({"sender": "a@x.example"}, {"sender": "bad"}, {"sender": ""})
    fail = (
        FailItem(
            {"sender": "bad"},
            (ErrorDetail("err_validation_invalid_email_address", "no", field="sender"),),
        ),
        FailItem({"sender": ""}, (ErrorDetail("err_validation_blank", "blank", field="sender"),)),
    )
    body = render_response([{"id": 1}], fail)
    c = core()
    state = c.begin(WRITE, items, now=0)
    step = c.on_answer(state, Exchange(200, HEADERS, body, "R"), 0)
    assert step.outcome is Outcome.PARTIAL
    result = step.result
    assert result is not None and result.partial and not result.ok
    assert result.data == ({"id": 1},)
    assert [f.index for f in result.failures] == [1, 2]
    assert [f.field for f in result.failures] == ["sender", "sender"]
    assert result.failures[0].entries[0].name == "Validation: Invalid Email Address"
    assert result.rate_limit is not None and result.rate_limit.reset_ms == 1500
    with pytest.raises(Exception) as raised:
        result.raise_for_failures()
    assert raised.value.result is result  # type: ignore[attr-defined]
    assert "1 succeeded" in str(raised.value)


def test_read_only_table() -> None:
    assert is_read_only("/api/audit/get-audit-events")
    assert is_read_only("/api/directory/find-groups")
    assert is_read_only("/api/message-finder/search")
    assert is_read_only("/api/ttp/url/decode-url")
    assert is_read_only("/api/login/discover-authentication")
    assert not is_read_only("/api/login/login")
    assert not is_read_only("/api/gateway/hold-release")
    assert not is_read_only("/api/login/logout")


def test_the_read_only_table_ignores_the_query_and_case() -> None:
    assert is_read_only("/API/Account/Get-Account?x=1")


def test_a_path_the_table_does_not_know_counts_as_changing_state() -> None:
    # Even one whose name reads like a read: the table, not the words, decides.
    assert not is_read_only("/api/archive/get-archive-search-logs-of-a-future-release")
    assert not is_read_only("/api/unknown/search")


@settings(max_examples=300, deadline=None)
@given(
    status=st.sampled_from([400, 401, 403, 404, 405, 409, 418, 429, 500, 502, 503]),
    sub=st.one_of(st.none(), st.from_regex(r"\A\d{4}\Z")),
    code=st.one_of(st.none(), st.sampled_from([e.body_code for e in HTTP_ENTRIES if e.body_code])),
    retryable=st.booleans(),
)
def test_no_answer_makes_a_write_repeat_unless_it_is_safe(
    status: int, sub: str | None, code: str | None, retryable: bool
) -> None:
    """Whatever the platform answers, a state-changing call is repeated only on 429 (the
    function was not executed), a renewal, or an error the platform marked retryable."""
    error = {"code": code, "message": f"{sub} text" if sub else "text", "retryable": retryable}
    body = {"meta": {"status": status}, "data": [], "fail": [{"errors": [error]}]}
    c = core()
    state = c.begin(WRITE, ({"k": 1},), now=0, can_renew=True)
    step = c.on_answer(state, Exchange(status, {}, body, "R"), 0)
    entry = catalogue().from_response(status, body)
    if step.outcome is Outcome.RETRY:
        assert entry.action is Action.TRANSIENT and retryable
    elif step.outcome is Outcome.WAIT:
        assert status == 429
    elif step.outcome in (Outcome.REFRESH, Outcome.RELOGIN):
        assert entry.action in (Action.REFRESH, Action.RELOGIN)
    else:
        assert step.outcome is Outcome.RAISE
        assert isinstance(step.error, ApiError)
        if entry.action is Action.STOP:
            assert step.error.status == status


@settings(max_examples=200, deadline=None)
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_any_json_body_gets_a_decision(body: Any) -> None:
    c = core()
    for status in (200, 401, 418, 429, 500):
        state = c.begin(READ, (), now=0, can_renew=True)
        step = c.on_answer(state, Exchange(status, {}, body, None), 0)
        assert isinstance(step.outcome, Outcome)
