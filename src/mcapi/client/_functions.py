"""Which functions only read: the emulator's function table, shipped as package data.

``mcapi/functions.json`` is generated from the emulator's :class:`FunctionSpec` rows
(``make functions-table``) so that the client knows the same facts without importing the
emulator; a test fails when the file and the table disagree.

A path the table does not know is treated as changing state: the client then never repeats the
call once it may have reached the server. ``read_only=True`` on a call says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

__all__ = ["FUNCTIONS_FILE", "FunctionInfo", "function_table", "is_read_only", "read_only_table"]

#: The package data file, next to ``codes.toml``.
FUNCTIONS_FILE = "functions.json"


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """One function as the shipped table (or a server's OpenAPI document) describes it."""

    path: str
    read_only: bool
    #: the permission the caller needs (``None``: any authenticated user, or unsigned)
    permission: str | None
    summary: str

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "permission": self.permission,
            "read_only": self.read_only,
            "summary": self.summary,
        }


@cache
def function_table() -> Mapping[str, FunctionInfo]:
    """Path -> :class:`FunctionInfo`, for every function of the shipped table."""
    text = resources.files("mcapi").joinpath(FUNCTIONS_FILE).read_text(encoding="utf-8")
    rows = json.loads(text)["functions"]
    return MappingProxyType(
        {
            path: FunctionInfo(
                path, bool(row["read_only"]), row.get("permission"), row.get("summary", "")
            )
            for path, row in rows.items()
        }
    )


@cache
def read_only_table() -> Mapping[str, bool]:
    """Path -> whether the function only reads, for every function of the shipped table."""
    return MappingProxyType({path: f.read_only for path, f in function_table().items()})


def is_read_only(path: str) -> bool:
    """Whether the function at ``path`` only reads, by the shipped function table.

    The query string, if any, is ignored, and paths compare case-blind (the platform's paths are
    lower case). Unknown paths count as changing state.
    """
    bare = path.partition("?")[0].lower()
    return read_only_table().get(bare, False)
