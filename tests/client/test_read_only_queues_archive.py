"""The client's read-only classification of the queue, hold-summary and archive functions.

All six only read (the emulator's function table says so), so the client repeats them after a
transient ``500 0006``: the journal shows the failed attempt and the one that succeeded. A
function that changes state (hold-release, on the same held data) is tried once and raises.

The fault answers carry ``retryable: false`` (as the catalogue marks 0006): the client repeats
even a write the platform calls retryable, so only with the flag off does the repeat of a read
show the client's own read-only classification at work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcapi._errors import ServerError
from mcapi.emulator.functions import function_table

from .conftest import Harness

pytestmark = pytest.mark.anyio

E0006 = {"status": 500, "sub_code": "0006", "retryable": False}
JSON_READS: dict[str, list[dict[str, Any]]] = {
    "/api/gateway/get-hold-summary-list": [],
    "/api/gateway/find-processing-messages": [{}],
    "/api/email/get-email-queues": [
        {"start": "2025-10-09T00:00:00+0000", "end": "2025-10-09T06:00:00+0000"}
    ],
    "/api/archive/get-message-list": [{}],
    "/api/archive/search": [{"admin": True, "query": "<xmlquery><metadata/></xmlquery>"}],
}


def test_the_emulator_marks_them_read_only() -> None:
    table = function_table()
    for path in [*JSON_READS, "/api/archive/get-file"]:
        assert table[path].read_only, path


@pytest.mark.parametrize("path", list(JSON_READS))
async def test_a_read_is_repeated_after_a_transient_500(harness: Harness, path: str) -> None:
    harness.generate()
    harness.fault({"match": {"path": path, "times": 1}, "effect": E0006})
    result = await harness.client().call(path, JSON_READS[path])
    assert result.ok and result.attempts == 2
    assert [e.status for e in harness.journal(path)] == [500, 200]


async def test_get_file_is_repeated_after_a_transient_500(harness: Harness, tmp_path: Path) -> None:
    harness.generate()
    client = harness.client()
    listed = await client.call("/api/archive/search", JSON_READS["/api/archive/search"])
    message_id = listed.data[0]["items"][0]["id"]
    path = "/api/archive/get-file"
    harness.fault({"match": {"path": path, "times": 1}, "effect": E0006})
    got = await client.download(path, [{"id": message_id}], tmp_path)
    assert got.is_file and got.size > 0
    assert [e.status for e in harness.journal(path)] == [500, 200]


async def test_a_write_on_the_same_data_is_not_repeated(harness: Harness) -> None:
    harness.generate()
    client = harness.client()
    held = await client.call("/api/gateway/get-hold-message-list", [{"admin": True}])
    path = "/api/gateway/hold-release"
    harness.fault({"match": {"path": path, "times": 1}, "effect": E0006})
    with pytest.raises(ServerError) as info:
        await client.call(path, [{"id": held.data[0]["id"]}])
    assert info.value.attempts == 1
    assert [e.status for e in harness.journal(path)] == [500]
