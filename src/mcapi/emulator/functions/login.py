"""``/api/login/logout``: delete bindings of the caller.

Logout is a signed function like the others (discovery and login are unsigned and answered by
``mcapi.emulator._login`` before any binding exists).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcapi.emulator.functions._common import NOT_FOUND, Item, ItemRefused, required_text, run_items
from mcapi.emulator.functions._registry import FunctionContext, FunctionResult, FunctionSpec
from mcapi.emulator.functions._schemas import BOOL, STR, obj

__all__ = ["SPECS"]


def logout(ctx: FunctionContext) -> FunctionResult:
    """Delete the bindings the items name, when they are the caller's own."""

    def handle(item: Item) -> Iterable[Any]:
        access_key = required_text(item, "accessKey")
        binding = ctx.store.get_binding(access_key)
        if binding is None or binding.user_id != ctx.user.id:
            raise ItemRefused(NOT_FOUND, "no binding of yours has this access key", "accessKey")
        ctx.store.delete_binding(binding.access_key)
        return [{"accessKey": binding.access_key, "logout": True}]

    return run_items(ctx, handle)


SPECS = (
    FunctionSpec(
        path="/api/login/logout",
        handler=logout,
        summary="Delete a binding (access key and secret key) of the caller.",
        permission=None,
        read_only=False,
        request_schema=obj({"accessKey": STR}, "accessKey"),
        response_schema=obj({"accessKey": STR, "logout": BOOL}),
        max_items=100,
    ),
)
