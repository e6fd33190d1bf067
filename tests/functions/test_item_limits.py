"""A function's item limit is its FunctionSpec's ``max_items``, for every function served."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mcapi.emulator.functions import FUNCTIONS, function_table
from mcapi.emulator.functions._common import TOO_MANY
from tests.functions.conftest import Api, fails

pytestmark = pytest.mark.anyio
SPECS = sorted(function_table().values(), key=lambda spec: spec.path)
#: Items sent to a function without a limit: more than any limit a function has.
UNLIMITED_PROBE = 1 + max(spec.max_items or 0 for spec in SPECS)


@pytest.mark.parametrize("path", [spec.path for spec in SPECS])
async def test_the_item_limit_is_the_specs(api: Api, path: str) -> None:
    spec = function_table()[path]
    count = UNLIMITED_PROBE if spec.max_items is None else spec.max_items + 1
    items = [{"probe": index} for index in range(count)]
    response = await api.call(path, items)
    refused = (
        response.status_code == 200
        and response.headers.get("content-type", "").startswith("application/json")
        and any(code == TOO_MANY for _, code, _ in fails(response.json()))
    )
    assert refused is (spec.max_items is not None), (path, spec.max_items, response.text[:300])
    if spec.max_items is not None:
        # The limit itself is accepted: the refusal is about the count, not the items.
        at_limit = await api.call(path, items[: spec.max_items])
        if at_limit.headers.get("content-type", "").startswith("application/json"):
            assert TOO_MANY not in {code for _, code, _ in fails(at_limit.json())}


@pytest.mark.parametrize(
    "path", [spec.path for spec in SPECS if spec.max_items is not None and spec.max_items > 1]
)
async def test_the_handler_enforces_whatever_limit_the_spec_says(api: Api, path: str) -> None:
    """The limit has one source: change the spec's and the handler refuses at the new one."""
    api.emu.state.functions = {
        **api.emu.state.functions,
        path: replace(function_table()[path], max_items=2),
    }
    over = await api.call(path, [{"probe": index} for index in range(3)])
    assert over.status_code == 200
    assert {code for _, code, _ in fails(over.json())} == {TOO_MANY}, (path, over.text[:300])
    at_limit = await api.call(path, [{"probe": index} for index in range(2)])
    assert TOO_MANY not in {code for _, code, _ in fails(at_limit.json())}


def test_logout_is_listed_with_the_other_functions() -> None:
    assert [spec.path for spec in FUNCTIONS].count("/api/login/logout") == 1
    assert function_table()["/api/login/logout"].max_items == 100
