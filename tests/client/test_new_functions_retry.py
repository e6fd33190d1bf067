"""The client's read-only classification of the blocked-sender, group and message-detail
functions, by behaviour: after one ``500 0006`` a read is sent again, a write is not.

Every test body runs against both ``Client`` and ``AsyncClient`` (the ``harness`` fixture).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mcapi._errors import ServerError
from mcapi.emulator._data import groups, messages
from mcapi.emulator.functions import function_table

from .conftest import Harness

pytestmark = pytest.mark.anyio

#: The error says it is not retryable, so only the client's read-only table decides (an error
#: marked retryable makes the client repeat even a write: test_transient).
E0006 = {"status": 500, "sub_code": "0006", "retryable": False}
POLICY = {"option": "block_sender",
          "policy": {"description": "spam", "fromType": "email_domain",
                     "fromValue": "spam.example"}}  # fmt: skip
#: path -> the item of a call that succeeds ("{group}" and "{message}" name generated rows)
CALLS: dict[str, dict[str, Any]] = {
    "/api/policy/blockedsenders/get-policy": {},
    "/api/policy/blockedsenders/create-policy": POLICY,
    "/api/policy/blockedsenders/delete-policy": {"id": "{policy}"},
    "/api/directory/get-group-members": {"id": "{group}"},
    "/api/directory/create-group": {"description": "Contractors"},
    "/api/directory/update-group": {"id": "{group}", "description": "Renamed"},
    "/api/message-finder/get-message-info": {"id": "{message}"},
}
READS = {
    "/api/policy/blockedsenders/get-policy",
    "/api/directory/get-group-members",
    "/api/message-finder/get-message-info",
}


def test_the_function_table_says_which_ones_only_read() -> None:
    table = function_table()
    assert {path for path in CALLS if table[path].read_only} == READS


async def _item(harness: Harness, path: str) -> dict[str, Any]:
    harness.generate()
    with harness.emu.store.connect() as conn:
        found = {
            "{group}": conn.execute(sa.select(groups.c.id).limit(1)).scalar_one(),
            "{message}": conn.execute(sa.select(messages.c.id).limit(1)).scalar_one(),
        }
    if CALLS[path].get("id") == "{policy}":
        created = await harness.client().call("/api/policy/blockedsenders/create-policy", [POLICY])
        found["{policy}"] = created.data[0]["id"]
        harness.emu.journal.clear()
    return {k: found.get(v, v) if isinstance(v, str) else v for k, v in CALLS[path].items()}


@pytest.mark.parametrize("path", sorted(CALLS))
async def test_a_read_is_sent_again_and_a_write_is_not(harness: Harness, path: str) -> None:
    item = await _item(harness, path)
    harness.fault({"match": {"path": path, "times": 1}, "effect": E0006})
    client = harness.client()
    if path in READS:
        result = await client.call(path, [item])
        assert result.ok and result.attempts == 2
        assert [(e.status, e.sub_code) for e in harness.journal(path)] == [
            (500, "0006"), (200, None)
        ]  # fmt: skip
    else:
        with pytest.raises(ServerError) as info:
            await client.call(path, [item])
        assert info.value.sub_code == "0006" and info.value.attempts == 1
        assert [(e.status, e.sub_code) for e in harness.journal(path)] == [(500, "0006")]
