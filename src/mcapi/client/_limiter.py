"""Pacing: spend the user's call quota without meeting 429, across every concurrent call.

Theory of operation
-------------------
Every answer says how many calls the user has left (``X-RateLimit-Remaining``) and in how many
milliseconds one call is added back (``X-RateLimit-Reset``). A :class:`Pacer` belongs to one
binding and is shared by every call made with it, from any thread or task. It keeps, per function
path (a function may have a quota of its own), what the last answers said and how many calls are
*in flight* (admitted, not yet answered), and admits a call only while

    remaining - in_flight > reserve

so sixteen tasks that read ``remaining = 1`` do not all fire: one is admitted, the others wait.
The estimate is deliberately conservative (an in-flight call the server already counted is
counted twice); it errs towards a few milliseconds of idle quota, never towards a 429.

When the quota is spent the pacer says how long to wait: until the instant the last answer said a
call comes back (reset), after which it credits one call per reset period (the longest
``X-RateLimit-Reset`` seen, which is the period of a full bucket). With nothing known yet (the
first call of a binding) it admits a single probe and holds the rest until its answer arrives.

:meth:`Pacer.admit` never blocks: it returns 0 (admitted) or the seconds to wait before asking
again, so the sync client sleeps with ``time.sleep`` and the async one awaits, and one short
critical section (a ``threading.Lock`` held for a few arithmetic steps) serves both. The clients
bound the total a call waits for the pacer by ``RetryPolicy.max_wait``, then send it anyway.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from mcapi.client._result import RateLimit

__all__ = ["Pacer"]


@dataclass(slots=True)
class _Quota:
    """What one function's answers said, and the calls now in flight."""

    remaining: float | None = None
    reset_at: float | None = None
    period: float = 0.0
    in_flight: int = 0
    limit: int | None = None


class Pacer:
    """The call budget of one binding, shared by all its concurrent calls (thread- and task-safe).

    Args:
        reserve: calls to leave unspent (for other programs using the same user).
        enabled: False admits everything at once (the client still waits out a 429).
        poll: seconds to wait when only an in-flight answer can tell more.
    """

    def __init__(self, *, reserve: int = 0, enabled: bool = True, poll: float = 0.005) -> None:
        if reserve < 0:
            raise ValueError("reserve must not be negative")
        self.reserve = reserve
        self.enabled = enabled
        self.poll = poll
        self._quotas: dict[str, _Quota] = {}
        self._lock = threading.Lock()

    def admit(self, path: str, now: float, *, force: bool = False) -> float:
        """0.0 when the call may go now (it is then in flight until :meth:`done`), else the seconds
        to wait before asking again. ``force`` admits it regardless (the caller waited enough)."""
        with self._lock:
            quota = self._quotas.get(path)
            if quota is None:
                quota = self._quotas[path] = _Quota()
            if force or not self.enabled:
                quota.in_flight += 1
                return 0.0
            wait = self._wait(quota, now)
            if wait <= 0.0:
                quota.in_flight += 1
                return 0.0
            return wait

    def _wait(self, quota: _Quota, now: float) -> float:
        if quota.remaining is None:
            # Nothing known yet: one probe at a time until an answer tells the quota.
            return 0.0 if quota.in_flight == 0 else self.poll
        self._credit(quota, now)
        if quota.remaining - quota.in_flight > self.reserve:
            return 0.0
        if quota.reset_at is not None and now < quota.reset_at:
            return quota.reset_at - now
        # Spent, and the next refill is unknown: only an answer can tell. With nothing in flight,
        # send one call to find out (the worst it meets is one 429, which says when to retry).
        return 0.0 if quota.in_flight == 0 else self.poll

    @staticmethod
    def _credit(quota: _Quota, now: float) -> None:
        """Credit the calls added back since the last answer's reset instant."""
        if quota.reset_at is None or now < quota.reset_at or quota.remaining is None:
            return
        if quota.period > 0:
            added = 1 + math.floor((now - quota.reset_at) / quota.period)
            quota.reset_at += added * quota.period
        else:
            added = 1
            quota.reset_at = None
        ceiling = quota.limit if quota.limit is not None else math.inf
        quota.remaining = min(ceiling, quota.remaining + added)

    def done(
        self,
        path: str,
        now: float,
        rate: RateLimit | None,
        *,
        answered: bool = True,
        quota_exceeded: bool = False,
    ) -> None:
        """An admitted call is over: learn from its answer's ``X-RateLimit-*``. ``answered`` is
        False when no HTTP answer came (nothing to learn)."""
        with self._lock:
            quota = self._quotas.setdefault(path, _Quota())
            quota.in_flight = max(0, quota.in_flight - 1)
            if not answered:
                return
            if quota_exceeded and rate is None:
                rate = RateLimit(None, 0, None)
            if rate is None or (rate.remaining is None and not quota_exceeded):
                if quota.remaining is None:
                    # A server that sends no quota headers: nothing to pace by.
                    quota.remaining = math.inf
                return
            self._learn(quota, now, rate, quota_exceeded)

    def _learn(self, quota: _Quota, now: float, rate: RateLimit, quota_exceeded: bool) -> None:
        if rate.limit is not None:
            quota.limit = rate.limit
        remaining = 0 if quota_exceeded else rate.remaining
        if rate.reset_ms is not None:
            period = rate.reset_ms / 1000.0
            quota.period = max(quota.period, period)
            new_reset = now + period if rate.reset_ms > 0 else None
        else:
            new_reset = quota.reset_at
        if remaining is None:
            return
        known = quota.remaining
        refilled = quota.reset_at is None or now >= quota.reset_at
        if known is not None and remaining > known and not refilled:
            # An answer overtaken by later ones (concurrent calls): it is stale, keep the lower.
            return
        quota.remaining = float(remaining)
        quota.reset_at = new_reset

    def snapshot(self, path: str) -> dict[str, float | int | None]:
        """What the pacer knows of ``path`` (for diagnostics and tests)."""
        with self._lock:
            quota = self._quotas.get(path) or _Quota()
            return {
                "remaining": quota.remaining,
                "reset_at": quota.reset_at,
                "period": quota.period,
                "in_flight": quota.in_flight,
                "limit": quota.limit,
            }
