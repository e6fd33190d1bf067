"""``paginate`` yields records: the items inside the wrapper of functions that answer one
(``{"trackedEmails": [...]}``), the ``data`` items of the others; ``records=False`` and
``pages()`` keep the answer as it came."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from mcapi.client._paginate import RECORD_FIELDS
from mcapi.emulator.functions import FUNCTIONS

from .conftest import Harness

pytestmark = pytest.mark.anyio


def fmt(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def wrapper_field(schema: Mapping[str, Any]) -> str | None:
    """The list field of a response item that wraps records: an item without an ``id`` of its
    own whose only list of objects is that field."""
    properties = schema.get("properties", {})
    lists = [
        name
        for name, prop in properties.items()
        if prop.get("type") == "array" and prop.get("items", {}).get("type") == "object"
    ]
    if "id" in properties or len(lists) != 1:
        return None
    return lists[0]


def test_every_paged_function_of_the_emulator_is_in_the_table_as_it_answers() -> None:
    """Each paged function that wraps its records is listed with its field; none that answers
    plain records is. Functions added later are checked by the same rule."""
    paged = [spec for spec in FUNCTIONS if spec.paginated]
    assert len(paged) >= 7
    for spec in paged:
        assert RECORD_FIELDS.get(spec.path) == wrapper_field(spec.response_schema), spec.path


def test_the_table_holds_the_fields_integrations_read() -> None:
    """Functions the emulator may not serve yet: the field names public integrations read."""
    assert RECORD_FIELDS["/api/ttp/attachment/get-logs"] == "attachmentLogs"
    assert RECORD_FIELDS["/api/ttp/impersonation/get-logs"] == "impersonationLogs"
    assert RECORD_FIELDS["/api/directory/get-group-members"] == "groupMembers"
    assert RECORD_FIELDS["/api/archive/search"] == "items"
    assert "/api/archive/get-message-list" not in RECORD_FIELDS  # plain items


def requests(harness: Harness) -> dict[str, tuple[list[dict[str, Any]], str]]:
    """Per wrapping function: a request item, and a field every one of its records has."""
    now = harness.emu.clock.now()
    window = {"start": fmt(now - 3 * 86400), "end": fmt(now + 86400)}
    return {
        "/api/user/get-internal-users": ([{}], "emailAddress"),
        "/api/directory/find-groups": ([{}], "description"),
        "/api/ttp/url/get-logs": (
            [{"from": fmt(now - 3 * 86400), "to": fmt(now + 86400)}],
            "url",
        ),
        "/api/message-finder/search": ([window], "subject"),
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/user/get-internal-users",
        "/api/directory/find-groups",
        "/api/ttp/url/get-logs",
        "/api/message-finder/search",
    ],
)
async def test_paginate_yields_the_records_inside_each_pages_wrapper(
    harness: Harness, path: str
) -> None:
    harness.generate()
    data, field = requests(harness)[path]
    client = harness.client()
    size = 4 if path != "/api/message-finder/search" else 100
    pages = await client.pages(path, data, page_size=size)
    field_name = RECORD_FIELDS[path]
    expected = [record for page in pages for item in page.data for record in item[field_name]]
    assert len(pages) >= 2 and len(expected) > size

    records = await client.items(path, data, page_size=size)
    assert records == expected
    assert all(isinstance(r, dict) and field in r and field_name not in r for r in records)
    if "id" in expected[0]:
        assert len({r["id"] for r in records}) == len(records)  # none repeated

    wrappers = await client.items(path, data, page_size=size, records=False)
    assert len(wrappers) == len(pages) and all(set(w) >= {field_name} for w in wrappers)


async def test_plain_functions_yield_their_data_items_either_way(harness: Harness) -> None:
    harness.generate()
    now = harness.emu.clock.now()
    data = [{"startDateTime": fmt(now - 3 * 86400), "endDateTime": fmt(now + 86400)}]
    client = harness.client()
    audit = "/api/audit/get-audit-events"
    records = await client.items(audit, data, page_size=50)
    assert records == await client.items(audit, data, page_size=50, records=False)
    assert len(records) > 50 and all("auditType" in r for r in records)
