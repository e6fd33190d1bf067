"""Retry policy, backoff and the retry budget, as numbers."""

from __future__ import annotations

import random

import pytest

from mcapi.client import RetryBudget, RetryPolicy
from mcapi.client._retry import backoff_delay


class _Edge(random.Random):
    """Draws the upper (or lower) bound of every interval: backoff's ceiling made visible."""

    def __init__(self, top: bool) -> None:
        super().__init__(0)
        self.top = top

    def uniform(self, a: float, b: float) -> float:
        return b if self.top else a


def test_backoff_ceiling_doubles_from_base_delay_up_to_max_delay() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    top = _Edge(top=True)
    assert [backoff_delay(n, policy, top) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff_delay(0, policy, top) == 0.5  # no retry number below the first


def test_backoff_draws_from_zero() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert backoff_delay(3, policy, _Edge(top=False)) == 0.0


def test_policy_bounds() -> None:
    assert RetryPolicy(max_attempts=1, max_quota_waits=0).max_attempts == 1
    with pytest.raises(ValueError, match=r"^max_attempts must be at least 1$"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match=r"^max_quota_waits must not be negative$"):
        RetryPolicy(max_quota_waits=-1)
    for name in ("base_delay", "max_delay", "deadline", "max_wait"):
        with pytest.raises(ValueError, match=f"^{name} must not be negative$"):
            RetryPolicy(**{name: -0.1})  # type: ignore[arg-type]
    assert RetryPolicy.never() == RetryPolicy(max_attempts=1, max_quota_waits=0)


def test_budget_defaults_are_botocores_standard_mode() -> None:
    budget = RetryBudget()
    assert (budget.capacity, budget.retry_cost, budget.timeout_cost, budget.success_refund) == (
        500, 5, 10, 1,
    )  # fmt: skip
    assert budget.available == 500


@pytest.mark.parametrize("field", ["capacity", "retry_cost", "timeout_cost", "success_refund"])
def test_budget_figures_must_not_be_negative(field: str) -> None:
    figures = {"capacity": 10, "retry_cost": 1, "timeout_cost": 1, "success_refund": 1}
    figures[field] = -1
    with pytest.raises(ValueError, match="must not be negative"):
        RetryBudget(**figures)


def test_budget_refuses_a_share_it_cannot_pay_and_never_overfills() -> None:
    budget = RetryBudget(12, retry_cost=5, timeout_cost=10, success_refund=1)
    assert budget.acquire(timeout=True) == 10
    assert budget.acquire() is None  # 2 left, a retry costs 5
    budget.release(10, retried=True)
    assert budget.available == 12
    budget.release(0, retried=False)
    assert budget.available == 12  # capped at capacity
