"""``mcapi functions`` against a served emulator, and the shell completion of ``mcapi call``."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner, Result

from mcapi.cli import cli
from mcapi.client._functions import function_table as shipped_table
from mcapi.emulator import Emulator
from mcapi.emulator.functions._openapi import build_openapi


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["functions", *args], env={"MCAPI_BASE_URL": None})


def served_functions(emulator: Emulator) -> dict[str, dict[str, object]]:
    """What the emulator's own OpenAPI document says of each function (the reference)."""
    document = build_openapi(emulator.state.functions)
    return {
        path: {
            "permission": item["post"]["x-mcapi-permission"],
            "read_only": item["post"]["x-mcapi-read-only"],
            "summary": item["post"]["summary"],
        }
        for path, item in document["paths"].items()
        if "post" in item  # the GET /siem/v1/... reads are not functions
    }


def test_the_json_list_is_what_the_server_offers(
    mcapi_server: str, mcapi_emulator: Emulator
) -> None:
    result = run("--url", mcapi_server, "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    expected = served_functions(mcapi_emulator)
    assert [row["path"] for row in listed] == sorted(expected)
    assert {row.pop("path"): row for row in listed} == expected
    assert any(not row["read_only"] for row in expected.values())  # both kinds are listed


def test_the_table_has_a_line_per_function_with_its_flag_and_permission(
    mcapi_server: str, mcapi_emulator: Emulator
) -> None:
    result = CliRunner().invoke(cli, ["functions"], env={"MCAPI_BASE_URL": mcapi_server})
    assert result.exit_code == 0, result.output
    heading, *lines = result.stdout.splitlines()
    assert heading.split() == ["PATH", "READ-ONLY", "PERMISSION"]
    expected = served_functions(mcapi_emulator)
    assert len(lines) == len(expected)
    for line in lines:
        path, flag, permission = line.split(maxsplit=2)
        row = expected[path]
        assert flag == ("yes" if row["read_only"] else "no"), line
        assert permission == (row["permission"] or "(any authenticated user)"), line
    assert f"{len(expected)} functions, from {mcapi_server}/_emulator/openapi.json" in result.stderr


def test_offline_lists_the_shipped_table() -> None:
    result = run("--offline", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [f.to_dict() for f in shipped_table().values()]


def test_an_unreachable_server_is_one_line_naming_the_url_and_offline() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    result = run("--url", url)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = result.output.strip().splitlines()
    assert f"cannot reach {url} (connection refused)" in line and "--offline" in line


class _NotFound(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_server() -> Iterator[str]:
    """A web server that is not an emulator: every path answers 404."""
    server = HTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_server_without_the_document_says_so_and_points_to_offline(other_server: str) -> None:
    result = run("--url", other_server)
    assert result.exit_code == 1
    [line] = result.output.strip().splitlines()
    assert f"{other_server} serves no OpenAPI document at /_emulator/openapi.json" in line
    assert "--offline" in line


def complete(args: list[str], incomplete: str) -> list[tuple[str, str | None]]:
    completion = ShellComplete(cli, {}, "mcapi", "_MCAPI_COMPLETE")
    return [(c.value, c.help) for c in completion.get_completions(args, incomplete)]


def test_call_completes_function_paths_from_the_shipped_table() -> None:
    table = shipped_table()
    audit = [p for p in table if p.startswith("/api/audit/")]
    assert len(audit) >= 2
    assert complete(["call"], "/api/audit/") == [(p, table[p].summary) for p in audit]
    assert [v for v, _ in complete(["call"], "/API/AUDIT/GET-SIEM")] == ["/api/audit/get-siem-logs"]
    assert [v for v, _ in complete(["call"], "")] == list(table)
    assert complete(["call"], "/api/no-such-") == []


def test_the_bash_recipe_of_the_docs_produces_a_completion_script() -> None:
    result = CliRunner().invoke(cli, [], env={"_MCAPI_COMPLETE": "bash_source"}, prog_name="mcapi")
    assert result.exit_code == 0
    assert "_mcapi_completion()" in result.output and "complete " in result.output
