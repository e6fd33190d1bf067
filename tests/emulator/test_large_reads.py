"""A read that asks for a large page runs in a worker thread, off the event loop that answers
every other call; a small read runs on the loop (a thread hop costs more than it)."""

from __future__ import annotations

import dataclasses
import json
import threading
from typing import Any

import pytest

from mcapi.emulator.functions._registry import FunctionContext
from tests.emulator.conftest import Api

pytestmark = pytest.mark.anyio

USERS = "/api/user/get-internal-users"


def record_threads(api: Api, path: str) -> list[threading.Thread]:
    """The thread each call of ``path``'s function runs in (the function itself is unchanged)."""
    seen: list[threading.Thread] = []
    spec = api.emu.state.functions[path]

    def handler(context: FunctionContext) -> Any:
        seen.append(threading.current_thread())
        return spec.handler(context)

    functions = dict(api.emu.state.functions)
    functions[path] = dataclasses.replace(spec, handler=handler)
    api.emu.state.functions = functions
    return seen


async def page(api: Api, size: int | None) -> list[Any]:
    body: dict[str, Any] = {"data": [{}]}
    if size is not None:
        body["meta"] = {"pagination": {"pageSize": size}}
    response = await api.call(USERS, body=json.dumps(body).encode())
    assert response.status_code == 200, response.text
    return list(response.json()["data"][0]["users"])


async def test_a_large_page_is_read_off_the_event_loop(api: Api) -> None:
    api.emu.admin.generate("CUSA12345", seed=1, users=300, days=1, messages_per_user_day=0)
    seen = record_threads(api, USERS)
    loop_thread = threading.current_thread()  # the in-process transport runs the app here
    large = await page(api, 500)
    default = await page(api, None)
    small = await page(api, 20)
    assert (len(large), len(default), len(small)) == (300 + 3, 100, 20)
    assert seen[0] is not loop_thread  # 500 rows: a worker thread
    assert seen[1] is loop_thread and seen[2] is loop_thread  # the default page and less: inline
