"""The chaos soak (bench/collect_chaos.py) as a test: 50,000 records, about 30% of calls failing
(500s, resets, truncations, forced 429s, a binding expiring mid-run): none lost, none doubled."""

from __future__ import annotations

from bench.collect_chaos import run_chaos


def test_chaos_soak_loses_and_doubles_nothing() -> None:
    report = run_chaos(users=200, days=4, seed=11)
    assert report["records"] >= 50_000
    assert report["lost"] == 0 and report["duplicated"] == 0, report
    assert report["errors"] == {}
    assert report["failed_share"] >= 0.25, report
    assert report["faults"]["binding-expired"] == 1 and report["siem"]["refreshes"] == 1
    assert report["faults"]["resets"] > 0 and report["faults"]["truncated"] > 0
    assert report["siem"]["quota_waits"] > 0
    assert report["recoveries"] >= report["failed_calls"]
