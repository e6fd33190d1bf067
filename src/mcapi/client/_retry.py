"""Retry policy as data, the retry budget, and backoff with full jitter.

Theory of operation
-------------------
A :class:`RetryPolicy` is a frozen record of numbers and switches; the core reads it, nothing
here decides what to do with a response. Three independent bounds stop retrying of transient
failures (500, 500 0006, broken connections):

* ``max_attempts`` - attempts per call, the first one included;
* ``deadline`` - seconds from the start of the call after which no further attempt is scheduled
  (a wait that would end past the deadline is not started);
* the :class:`RetryBudget` - a token bucket shared by every call of one client, modelled on
  botocore's standard retry quota: a retry costs ``retry_cost`` tokens (``timeout_cost`` after a
  timeout or broken connection), a call that succeeds at once gives ``success_refund`` back, and a
  call that succeeds after retrying returns what its retries took. When the platform is down the
  budget drains and the client stops multiplying its load by ``max_attempts``.

Quota waits (429) are bounded separately by ``max_quota_waits`` and capped at ``max_wait``
seconds each, because waiting for quota is the platform's explicit instruction, not a guess.

Which functions only read (and so may be repeated after a transient failure) is data too: the
shipped function table (:func:`mcapi.client.is_read_only`), overridden per call by ``read_only=``.

Backoff uses "full jitter": the n-th retry sleeps ``uniform(0, min(max_delay, base_delay * 2**n))``
drawn from a ``random.Random`` the caller may seed, so tests and benchmarks repeat exactly.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace

__all__ = ["RetryBudget", "RetryPolicy", "backoff_delay"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard the client tries before it raises.

    Attributes:
        max_attempts: attempts per call for transient failures, the first included (1 = never
            retry a transient failure).
        base_delay: seconds; the first backoff is drawn from ``[0, base_delay]``.
        max_delay: seconds; no single backoff exceeds this.
        deadline: seconds from the start of a call after which no retry or wait is started.
        max_wait: seconds; cap on one wait for quota (``X-RateLimit-Reset``) or for pacing.
        max_quota_waits: how many 429 answers one call may wait out before raising.
        retry_writes: opt in to retrying transient failures of functions that change state.
            Only safe when the function is idempotent; without it a state-changing call is never
            repeated once it may have reached the server.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 20.0
    deadline: float = 300.0
    max_wait: float = 60.0
    max_quota_waits: int = 10
    retry_writes: bool = False

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_quota_waits < 0:
            raise ValueError("max_quota_waits must not be negative")
        for name in ("base_delay", "max_delay", "deadline", "max_wait"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    @classmethod
    def never(cls) -> RetryPolicy:
        """A policy that never retries or waits: every failure is raised at once."""
        return cls(max_attempts=1, max_quota_waits=0)

    def with_(self, **changes: object) -> RetryPolicy:
        """A copy with some fields changed, e.g. ``policy.with_(max_attempts=2)``."""
        return replace(self, **changes)  # type: ignore[arg-type]


def backoff_delay(retry_number: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds to sleep before retry number ``retry_number`` (1 for the first retry)."""
    ceiling = min(policy.max_delay, policy.base_delay * (2 ** max(retry_number - 1, 0)))
    return rng.uniform(0.0, ceiling)


class RetryBudget:
    """A token bucket of retries shared by every call of one client (thread-safe).

    Defaults follow botocore's standard mode: 500 tokens, 5 per retry, 10 per retry after a
    timeout, 1 back per call that succeeded at its first attempt.
    """

    def __init__(
        self,
        capacity: int = 500,
        *,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refund: int = 1,
    ) -> None:
        if capacity < 0 or retry_cost < 0 or timeout_cost < 0 or success_refund < 0:
            raise ValueError("retry budget figures must not be negative")
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._available = capacity
        self._lock = threading.Lock()

    @property
    def available(self) -> int:
        """Tokens left."""
        return self._available

    def acquire(self, *, timeout: bool = False) -> int | None:
        """Take the cost of one retry; returns the tokens taken, or ``None`` when the budget is
        spent (then the caller must not retry)."""
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if cost > self._available:
                return None
            self._available -= cost
            return cost

    def release(self, taken: int, *, retried: bool) -> None:
        """A call succeeded: give back what its retries took (``retried``), or the success refund
        when it succeeded at its first attempt."""
        amount = taken if retried else self.success_refund
        with self._lock:
            self._available = min(self.capacity, self._available + amount)
