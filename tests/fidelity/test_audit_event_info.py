"""Audit ``eventInfo`` in the shape real events have, split the way integrations split it.

Real events read ``<what happened>, Date: 2021-10-11, Time: 16:03:38+0000, IP: 203.0.113.7,
Application: Administration Console, Method: Cloud``: parsers cut the text on ``, `` and each
part after the first on the first ``: ``. Generated events and the events API calls record both
come out that way.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from tests.fidelity._served import T0, data, post, served, served_tenant

EVENTS = "/api/audit/get-audit-events"

Tenant = tuple[Emulator, EmulatorCredentials, httpx.Client]


def split_info(text: str) -> tuple[str, dict[str, str]]:
    """The action and the ``Key: value`` pairs of an eventInfo, as integrations split it."""
    action, *parts = text.split(", ")
    pairs = {}
    for part in parts:
        key, sep, value = part.partition(": ")
        assert sep, f"not a Key: value pair: {part!r} in {text!r}"
        pairs[key] = value
    return action, pairs


def when(text: str) -> str:
    return (
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    )


def check(event: dict[str, Any]) -> dict[str, str]:
    action, pairs = split_info(event["eventInfo"])
    assert action
    assert list(pairs)[:4] == ["Date", "Time", "IP", "Application"]
    assert f"{pairs['Date']} {pairs['Time'][:8]}" == when(event["eventTime"])
    assert pairs["Time"].endswith("+0000")
    ipaddress.ip_address(pairs["IP"])
    assert pairs["Application"]
    return pairs


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    emu, creds = served_tenant(users=30, days=1)
    with served(emu) as http:
        yield emu, creds, http
    emu.close()


def events(tenant: Tenant, start: float, end: float) -> list[dict[str, Any]]:
    emu, creds, http = tenant
    item = {
        "startDateTime": datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "endDateTime": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
    }
    body = {"meta": {"pagination": {"pageSize": 500}}, "data": [item]}
    answer = data(post(http, emu, creds, EVENTS, json.dumps(body).encode()))
    assert answer["fail"] == []
    return list(answer["data"])


def test_generated_events_split_into_their_pairs(tenant: Tenant) -> None:
    found = events(tenant, T0 - 86400, T0)
    assert len(found) > 20
    for event in found:
        pairs = check(event)
        if event["category"] == "authentication_logs":
            assert pairs["Method"] in {"Cloud", "Office 365", "Two Step Auth"}
            action = split_info(event["eventInfo"])[0]
            assert event["user"] in action
            if event["auditType"] == "Logon Authentication Failed":
                assert action.startswith("Failed authentication for ") and pairs["Reason"]
            else:
                assert event["auditType"] == "User Logged On"
                assert action.startswith("Successful authentication for ")
        else:
            assert pairs["Application"] == "Administration Console"


def test_events_of_api_calls_name_the_application(tenant: Tenant) -> None:
    emu, creds, http = tenant
    body = {"data": [{"url": "https://audited.example/x", "action": "block"}]}
    created = data(post(http, emu, creds, "/api/ttp/url/create-managed-url",
                        json.dumps(body).encode()))  # fmt: skip
    assert created["fail"] == []
    now = emu.clock.now()
    (event,) = [
        e for e in events(tenant, now - 60, now + 60) if "audited.example" in e["eventInfo"]
    ]
    assert event["auditType"] == "Managed URL Created"
    pairs = check(event)
    assert pairs["Application"] == "mcapi demo application"  # the registered application's name
