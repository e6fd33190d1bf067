"""The client's shipped function table and the emulator's FunctionSpec rows cannot drift."""

from __future__ import annotations

import json
from importlib import resources

from mcapi.client import is_read_only
from mcapi.client._functions import FUNCTIONS_FILE, read_only_table
from mcapi.client._functions import function_table as function_table_shipped
from mcapi.emulator._function_index import REGENERATE, UNSIGNED_READ_ONLY, render, rows
from mcapi.emulator.functions import function_table


def test_the_shipped_file_is_the_emulators_table() -> None:
    shipped = resources.files("mcapi").joinpath(FUNCTIONS_FILE).read_text(encoding="utf-8")
    assert shipped == render(), (
        f"src/mcapi/{FUNCTIONS_FILE} is stale: the emulator's function table changed. "
        f"Regenerate it with `{REGENERATE}` and commit the file."
    )


def test_every_function_the_emulator_serves_is_classified_as_its_spec_says() -> None:
    for path, spec in function_table().items():
        assert is_read_only(path) is spec.read_only, path
    for path, read_only in UNSIGNED_READ_ONLY.items():
        assert is_read_only(path) is read_only, path


def test_the_client_reads_the_whole_file() -> None:
    assert dict(read_only_table()) == rows()
    assert len(read_only_table()) == len(function_table()) + len(UNSIGNED_READ_ONLY)
    document = json.loads(render())
    assert REGENERATE in document["about"]


def test_the_shipped_table_holds_each_functions_permission_and_summary() -> None:
    shipped = function_table_shipped()
    for path, spec in function_table().items():
        info = shipped[path]
        assert (info.permission, info.summary, info.read_only) == (
            spec.permission,
            spec.summary,
            spec.read_only,
        ), path
    for path in UNSIGNED_READ_ONLY:
        assert shipped[path].permission is None and shipped[path].summary, path
