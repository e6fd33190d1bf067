"""Every ``fail`` entry carries the item it answers as ``key``; ``{}`` when the call had none."""

from __future__ import annotations

from typing import Any

import pytest

from mcapi.emulator._data import GenerateSummary
from mcapi.emulator._faults import FaultRule
from mcapi.emulator.functions import FUNCTIONS
from tests.functions.conftest import Api, fails

pytestmark = pytest.mark.anyio
#: The functions that take one item or none (``data: []`` is one empty item).
SINGLE = sorted(spec.path for spec in FUNCTIONS if spec.max_items == 1)


def inject(api: Api, path: str) -> None:
    rule = {
        "match": {"path": path, "times": 1},
        "effect": {"item_failures": [{"code": "err_validation_blank", "field": "injected"}]},
    }
    api.emu.faults.add(FaultRule.from_dict(rule))


@pytest.mark.parametrize("path", SINGLE)
async def test_an_injected_failure_of_a_call_without_items_has_the_key_empty(
    api: Api, path: str
) -> None:
    inject(api, path)
    body = await api.ok(path, [])
    assert body["data"] == []
    (entry,) = body["fail"]
    assert entry["key"] == {}
    assert [(e["code"], e["field"]) for e in entry["errors"]] == [
        ("err_validation_blank", "injected")
    ]


async def test_an_injected_failure_echoes_the_item_when_there_is_one(api: Api) -> None:
    inject(api, "/api/ttp/url/get-logs")
    body = await api.ok("/api/ttp/url/get-logs", [{"oldestFirst": True}])
    assert fails(body) == [({"oldestFirst": True}, "err_validation_blank", "injected")]


@pytest.mark.parametrize(
    "path",
    [
        "/api/ttp/url/get-logs",
        "/api/ttp/url/get-all-managed-urls",
        "/api/message-finder/search",
        "/api/gateway/get-hold-message-list",
        "/api/directory/find-groups",
        "/api/user/get-internal-users",
    ],
)
async def test_a_refused_page_token_without_items_has_the_key_empty(
    api: Api, tenant: GenerateSummary, path: str
) -> None:
    body = await api.ok(path, [], page_size=5, page_token="not-a-token")
    assert body["data"] == []
    assert [entry["key"] for entry in body["fail"]] == [{}]
    assert fails(body) == [({}, "err_validation_invalid_value", "pageToken")]


async def test_a_required_field_missing_without_items_has_the_key_empty(api: Api) -> None:
    body = await api.ok("/api/audit/get-audit-events", [])
    assert fails(body) == [({}, "err_validation_blank", "startDateTime")]
    assert "key" in body["fail"][0]


async def test_too_many_items_fail_each_with_its_key(api: Api) -> None:
    items: list[dict[str, Any]] = [{"oldestFirst": True}, {}]
    body = await api.ok("/api/ttp/url/get-logs", items)
    assert [entry["key"] for entry in body["fail"]] == items
