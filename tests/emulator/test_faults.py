"""Fault rules: matching, counting windows, seeded probability, JSON form, transport faults."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from mcapi.emulator._fault_engine import FaultEngine
from mcapi.emulator._fault_transport import (
    TransportFault,
    TransportFaultLogFilter,
    send_transport_fault,
)
from mcapi.emulator._faults import FaultEffect, FaultRule, InjectedFailure

SIEM = "/api/audit/get-siem-logs"
AUDIT = "/api/audit/get-audit-events"
ALICE = "alice@example.com"
E500 = FaultEffect(status=500, sub_code="0006", retryable=True)


def effect_of(engine: FaultEngine, path: str, user: str | None) -> FaultEffect | None:
    """Count one call as the pipeline's fault check does (``match``); the fired rule's effect."""
    rule = engine.match(path, user)
    return rule.effect if rule is not None else None


def run(engine: FaultEngine, n: int, path: str = SIEM, user: str | None = ALICE) -> list[bool]:
    return [engine.match(path, user) is not None for _ in range(n)]


def test_times_fails_twice_then_succeeds() -> None:
    engine = FaultEngine()
    engine.add(FaultRule(SIEM, E500, times=2))
    assert effect_of(engine, SIEM, ALICE) == E500
    assert run(engine, 4) == [True, False, False, False]


def test_call_number_hits_only_that_call() -> None:
    engine = FaultEngine()
    engine.add(FaultRule(SIEM, FaultEffect(transport="reset"), call_number=3))
    assert run(engine, 6) == [False, False, True, False, False, False]


def test_call_number_with_times_is_a_window() -> None:
    engine = FaultEngine()
    engine.add(FaultRule(SIEM, E500, call_number=2, times=3))
    assert run(engine, 6) == [False, True, True, True, False, False]


def test_unbounded_rule_always_fires_and_globs_match() -> None:
    engine = FaultEngine()
    engine.add(FaultRule("/api/audit/*", E500))
    assert run(engine, 3, AUDIT) == [True, True, True]
    assert run(engine, 2, "/api/account/get-account") == [False, False]


def test_user_filter_is_case_blind_and_counts_only_that_user() -> None:
    engine = FaultEngine()
    engine.add(FaultRule(SIEM, E500, user="Alice@Example.COM", call_number=2))
    assert run(engine, 3, user="bob@example.com") == [False, False, False]
    assert run(engine, 1, user=None) == [False]
    assert run(engine, 3) == [False, True, False]


def test_seeded_probability_repeats_exactly() -> None:
    def pattern() -> list[bool]:
        engine = FaultEngine()
        engine.add(FaultRule(SIEM, E500, probability=0.1, seed=42))
        return run(engine, 2000)

    first = pattern()
    assert first == pattern()
    assert 140 <= sum(first) <= 260  # about 10%


def test_probability_thins_the_window_only() -> None:
    engine = FaultEngine()
    engine.add(FaultRule(SIEM, E500, times=10, probability=0.5, seed=7))
    fired = run(engine, 100)
    assert 0 < sum(fired[:10]) < 10
    assert not any(fired[10:])


def test_first_rule_that_fires_wins_and_every_rule_counts_every_call() -> None:
    engine = FaultEngine()
    slow = FaultEffect(latency_ms=250)
    first = engine.add(FaultRule(SIEM, E500, times=2))
    engine.add(FaultRule(SIEM, slow, call_number=2))
    engine.add(FaultRule(SIEM, FaultEffect(transport="empty"), call_number=3))
    effects = [effect_of(engine, SIEM, ALICE) for _ in range(4)]
    # call 2 is the second rule's 2nd call, but the first rule fires first;
    # call 3 is still the third rule's 3rd call
    assert effects == [E500, E500, FaultEffect(transport="empty"), None]
    matched = engine.match(SIEM, ALICE)
    assert matched is None
    counts = {s["id"]: (s["calls"], s["applied"]) for s in engine.state()}
    assert counts[first] == (5, 2)
    assert [c for c, _ in counts.values()] == [5, 5, 5]


def test_match_returns_the_rule_with_its_id() -> None:
    engine = FaultEngine()
    rule_id = engine.add(FaultRule(SIEM, E500, id="siem-500"))
    assert rule_id == "siem-500"
    matched = engine.match(SIEM, None)
    assert matched is not None
    assert (matched.id, matched.effect) == ("siem-500", E500)
    with pytest.raises(ValueError, match="already exists"):
        engine.add(FaultRule(SIEM, E500, id="siem-500"))


def test_add_remove_clear_list() -> None:
    engine = FaultEngine()
    a = engine.add(FaultRule(SIEM, E500))
    b = engine.add(FaultRule(AUDIT, E500))
    assert [r.id for r in engine.list()] == [a, b]
    engine.remove(a)
    assert effect_of(engine, SIEM, ALICE) is None
    with pytest.raises(KeyError):
        engine.remove(a)
    engine.clear()
    assert engine.list() == []
    assert effect_of(engine, AUDIT, ALICE) is None


def test_times_is_exact_under_threads() -> None:
    engine = FaultEngine()
    engine.add(FaultRule(SIEM, E500, times=25))
    hits: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(50)

    def call() -> None:
        start.wait(timeout=10)
        for _ in range(10):
            hit = engine.match(SIEM, ALICE) is not None
            with lock:
                hits.append(hit)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(hits) == 500
    assert sum(hits) == 25


def test_item_failures_per_index_and_for_every_item() -> None:
    effect = FaultEffect(
        item_failures=(
            InjectedFailure("err_validation_blank", index=1, message="blank", field="sender"),
            InjectedFailure("err_validation_null"),
        )
    )
    assert [f.code for f in effect.failures_for(0)] == ["err_validation_null"]
    assert [f.code for f in effect.failures_for(1)] == [
        "err_validation_blank",
        "err_validation_null",
    ]
    assert effect.kind == "item_failures"


# ---- JSON form -----------------------------------------------------------------------------------

DOC_EXAMPLES: list[dict[str, Any]] = [
    {
        "match": {"path": "/api/audit/get-audit-events", "times": 2},
        "effect": {"status": 500, "sub_code": "0006", "retryable": True},
    },
    {
        "id": "flaky",
        "match": {"path": "/api/*", "probability": 0.1, "seed": 42},
        "effect": {"status": 500, "sub_code": "0006"},
    },
    {"match": {"path": SIEM, "call_number": 3}, "effect": {"transport": "reset"}},
    {
        "match": {"path": "/api/directory/add-group-member", "user": ALICE},
        "effect": {
            "item_failures": [
                {"index": 1, "code": "err_validation_blank", "message": "blank", "field": "email"}
            ]
        },
    },
    {"match": {"path": SIEM}, "effect": {"status": 429, "sub_code": "0008", "reset_ms": 1500}},
    {"match": {"path": SIEM}, "effect": {"latency_ms": 2000}},
    {"match": {"path": SIEM}, "effect": {"status": 418, "sub_code": "0001", "latency_ms": 50}},
    {"match": {"path": SIEM}, "effect": {"status": 502, "body": "html"}},
    {"match": {"path": SIEM}, "effect": {"status": 500, "body": "malformed", "dribble_bps": 9}},
    {"match": {"path": SIEM}, "effect": {"dribble_bps": 100}},
    {
        "match": {"path": SIEM},
        "effect": {"status": 500, "sub_code": "0006", "after_execution": True},
    },
    {"match": {"path": SIEM}, "effect": {"status": 504, "body": "html", "after_execution": True}},
]


@pytest.mark.parametrize("data", DOC_EXAMPLES)
def test_json_round_trip(data: dict[str, Any]) -> None:
    rule = FaultRule.from_dict(data)
    assert FaultRule.from_dict(rule.to_dict()) == rule
    assert rule.to_dict()["match"] == data["match"]


DOCS = Path(__file__).parents[2] / "docs" / "faults.md"


def test_every_json_example_in_the_docs_is_a_valid_rule() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 6
    for block in blocks:
        data = json.loads(block)
        rule = FaultRule.from_dict(data)
        assert FaultRule.from_dict(rule.to_dict()) == rule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "rule: must be a JSON object"),
        ({"match": {"path": SIEM}}, "effect: required"),
        ({"effect": {"latency_ms": 5}}, "match: required"),
        ({"match": {}, "effect": {"latency_ms": 5}}, "match.path: required"),
        ({"match": {"path": SIEM, "when": 1}, "effect": {"latency_ms": 5}}, "match.when: unknown"),
        ({"match": {"path": SIEM, "times": 0}, "effect": {"latency_ms": 5}}, "match.times"),
        ({"match": {"path": SIEM, "call_number": "3"}, "effect": E500.to_dict()}, "call_number"),
        ({"match": {"path": SIEM, "probability": 1.5}, "effect": E500.to_dict()}, "probability"),
        ({"match": {"path": SIEM}, "effect": {}}, "effect: needs one of"),
        ({"match": {"path": SIEM}, "effect": {"status": 200}}, "effect.status"),
        ({"match": {"path": SIEM}, "effect": {"status": 500, "sub_code": "6"}}, "sub_code"),
        ({"match": {"path": SIEM}, "effect": {"sub_code": "0006"}}, "effect.sub_code: only"),
        ({"match": {"path": SIEM}, "effect": {"status": 500, "reset_ms": 5}}, "effect.reset_ms"),
        ({"match": {"path": SIEM}, "effect": {"transport": "fire"}}, "effect.transport"),
        (
            {"match": {"path": SIEM}, "effect": {"transport": "reset", "status": 500}},
            "cannot be combined",
        ),
        (
            {"match": {"path": SIEM}, "effect": {"item_failures": [{"index": -1, "code": "e"}]}},
            r"effect.item_failures\[0\].index",
        ),
        (
            {"match": {"path": SIEM}, "effect": {"item_failures": [{"message": "x"}]}},
            r"effect.item_failures\[0\].code: required",
        ),
        ({"match": {"path": SIEM}, "effect": {"latency_ms": -1}}, "effect.latency_ms"),
        ({"match": {"path": SIEM}, "effect": {"status": 502, "body": "xml"}}, "effect.body: must"),
        ({"match": {"path": SIEM}, "effect": {"status": 418, "body": "html"}}, "effect.body: only"),
        ({"match": {"path": SIEM}, "effect": {"body": "html"}}, "effect.body: only meaningful"),
        (
            {
                "match": {"path": SIEM},
                "effect": {"status": 503, "body": "html", "sub_code": "0006"},
            },
            "effect.sub_code: not meaningful with body",
        ),
        ({"match": {"path": SIEM}, "effect": {"status": 505}}, "505 is not in the catalogue"),
        ({"match": {"path": SIEM}, "effect": {"dribble_bps": 0}}, "effect.dribble_bps"),
        (
            {"match": {"path": SIEM}, "effect": {"transport": "empty", "dribble_bps": 5}},
            "effect.dribble_bps: cannot be combined with transport",
        ),
        (
            {"match": {"path": SIEM}, "effect": {"after_execution": True, "latency_ms": 5}},
            "effect.after_execution: only meaningful",
        ),
        (
            {"match": {"path": SIEM}, "effect": {"status": 429, "after_execution": True}},
            "effect.after_execution: not meaningful with 429",
        ),
        (
            {
                "at": "quota",
                "match": {"path": SIEM, "call_number": 1},
                "effect": {"status": 429, "reset_ms": 5, "dribble_bps": 5},
            },
            "effect.dribble_bps: not allowed",
        ),
    ],
)
def test_invalid_rules_name_the_bad_field(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultRule.from_dict(data)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_statuses_answer_an_html_page_unless_told_otherwise(status: int) -> None:
    rule = FaultRule.from_dict({"match": {"path": SIEM}, "effect": {"status": status}})
    assert rule.effect.body == "html"
    assert rule.to_dict()["effect"] == {"status": status, "body": "html"}


# ---- transport faults over a real socket ---------------------------------------------------------


async def fault_app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
    assert scope["type"] == "http"
    kind = scope["path"].strip("/")
    if kind in ("reset", "empty", "truncated"):
        await send_transport_fault(kind, send, headers=[(b"x-ratelimit-limit", b"10")])
        return
    body = b'{"meta": {"status": 200}, "data": [], "fail": []}'
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    config = uvicorn.Config(
        fault_app, host="127.0.0.1", port=0, http=request.param, lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    log_filter = TransportFaultLogFilter()
    logging.getLogger("uvicorn.error").addFilter(log_filter)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        logging.getLogger("uvicorn.error").removeFilter(log_filter)


def post(url: str) -> httpx.Response:
    with httpx.Client(timeout=5) as client:
        return client.post(url, json={"data": []})


def test_server_answers_cleanly_without_a_fault(server_url: str) -> None:
    assert post(f"{server_url}/ok").json()["meta"]["status"] == 200


# A reset is seen by the client as an end of stream before any answer, or as ECONNRESET when
# the RST arrives before its read: both are what an integration meets from a dropped connection.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


def test_reset_closes_before_any_response(server_url: str) -> None:
    with pytest.raises(DROPPED) as caught:
        post(f"{server_url}/reset")
    if isinstance(caught.value, httpx.RemoteProtocolError):
        assert "without sending a response" in str(caught.value)


def test_truncated_body_is_a_protocol_error(server_url: str) -> None:
    with pytest.raises(DROPPED) as caught:
        post(f"{server_url}/truncated")
    if isinstance(caught.value, httpx.RemoteProtocolError):
        assert re.search(r"incomplete|complete message body", str(caught.value))


def test_empty_is_a_200_without_an_envelope(server_url: str) -> None:
    response = post(f"{server_url}/empty")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["x-ratelimit-limit"] == "10"


def test_transport_fault_reaches_an_in_process_caller() -> None:
    transport = httpx.ASGITransport(app=fault_app)

    async def call() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
            await client.post("/reset")

    with pytest.raises(TransportFault) as caught:
        asyncio.run(call())
    assert caught.value.kind == "reset"
