"""Write the client's copy of the function table: ``src/mcapi/functions.json``.

The client decides whether a call may be repeated from whether its function only reads; that fact
lives in the emulator's :class:`FunctionSpec` rows. The client must not import the emulator (it
installs without the server stack), so the facts it needs are shipped as package data, generated
here::

    make functions-table        # = python -m mcapi.emulator._function_index

``tests/test_function_index.py`` fails, naming that command, when the shipped file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcapi._constants import DISCOVER_PATH, LOGIN_PATH
from mcapi.client._functions import FUNCTIONS_FILE
from mcapi.emulator.functions import function_table

__all__ = ["REGENERATE", "UNSIGNED_READ_ONLY", "main", "render", "rows"]

#: The one-line command that rewrites the file.
REGENERATE = "make functions-table"


#: The two unsigned functions the request pipeline answers itself (no FunctionSpec row):
#: discovery only reads; login creates or refreshes a binding.
UNSIGNED_READ_ONLY = {DISCOVER_PATH: True, LOGIN_PATH: False}
_UNSIGNED_SUMMARY = {
    DISCOVER_PATH: "The region a user logs in at (unsigned)",
    LOGIN_PATH: "Log in: a binding's access and secret key (Basic authorization, unsigned)",
}


def rows() -> dict[str, bool]:
    """Path -> whether the function only reads, for every function the emulator serves."""
    table = {path: spec.read_only for path, spec in function_table().items()}
    table.update(UNSIGNED_READ_ONLY)
    return dict(sorted(table.items()))


def _row(path: str, read_only: bool) -> dict[str, object]:
    spec = function_table().get(path)
    if spec is None:
        return {"read_only": read_only, "permission": None, "summary": _UNSIGNED_SUMMARY[path]}
    return {"read_only": read_only, "permission": spec.permission, "summary": spec.summary}


def render() -> str:
    """The file's text: every function the emulator serves, by path, with what the client and
    the command line use (read-only flag; permission and summary for ``mcapi functions``)."""
    document = {
        "about": f"Generated from the emulator's function table by `{REGENERATE}`; do not edit.",
        "functions": {path: _row(path, read_only) for path, read_only in rows().items()},
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def main() -> None:
    import mcapi

    target = Path(mcapi.__file__).parent / FUNCTIONS_FILE
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {len(rows())} functions to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
