"""The pacer: one quota budget shared by every concurrent call of a binding."""

from __future__ import annotations

import threading

import pytest

from mcapi.client._limiter import Pacer
from mcapi.client._result import RateLimit

P = "/api/account/get-account"


def test_first_call_probes_alone() -> None:
    pacer = Pacer()
    assert pacer.admit(P, 0.0) == 0.0
    assert pacer.admit(P, 0.0) > 0  # the rest wait for the probe's answer
    pacer.done(P, 0.01, RateLimit(100, 99, 10))
    assert pacer.admit(P, 0.01) == 0.0


def test_sixteen_callers_on_remaining_one_send_one() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 1, 250))
    admitted = [pacer.admit(P, 0.0) == 0.0 for _ in range(16)]
    assert admitted.count(True) == 1
    waits = [pacer.admit(P, 0.1) for _ in range(3)]
    assert all(w == pytest.approx(0.15) for w in waits)  # until the reset instant


def test_spent_quota_waits_for_reset_then_one_call_per_period() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(5, 0, 200))  # period 0.2 s
    assert pacer.admit(P, 0.1) == pytest.approx(0.1)
    assert pacer.admit(P, 0.2) == 0.0  # one call came back
    assert pacer.admit(P, 0.2) > 0
    # Two periods later two more calls have come back.
    pacer.done(P, 0.25, RateLimit(5, 0, 150))
    assert pacer.admit(P, 0.8) == 0.0
    assert pacer.admit(P, 0.8) == 0.0


def test_reserve_leaves_calls_unspent() -> None:
    pacer = Pacer(reserve=2)
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 3, 100))
    assert pacer.admit(P, 0.0) == 0.0
    assert pacer.admit(P, 0.0) > 0


def test_quota_exceeded_blocks_everyone_until_reset() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 8, 100))
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 3, 500), quota_exceeded=True)
    assert pacer.admit(P, 0.1) == pytest.approx(0.4)


def test_stale_answer_does_not_raise_the_estimate() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 2, 100))
    pacer.admit(P, 0.0)
    pacer.done(P, 0.01, RateLimit(10, 5, 100))  # an answer overtaken by later ones
    assert pacer.snapshot(P)["remaining"] == 2


def test_server_without_quota_headers_is_not_paced() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, None)
    assert all(pacer.admit(P, 0.0) == 0.0 for _ in range(50))


def test_no_answer_releases_the_slot() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, None, answered=False)
    assert pacer.snapshot(P)["in_flight"] == 0
    assert pacer.admit(P, 0.0) == 0.0


def test_disabled_pacer_admits_everything() -> None:
    pacer = Pacer(enabled=False)
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 0, 1000))
    assert pacer.admit(P, 0.0) == 0.0


def test_functions_have_separate_budgets() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(10, 0, 1000))
    assert pacer.admit("/api/audit/get-audit-events", 0.0) == 0.0


def test_threads_never_overspend() -> None:
    pacer = Pacer()
    pacer.admit(P, 0.0)
    pacer.done(P, 0.0, RateLimit(100, 40, 10_000))
    admitted = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            if pacer.admit(P, 0.0) == 0.0:
                with lock:
                    admitted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 40
