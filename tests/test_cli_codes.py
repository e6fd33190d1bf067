"""`mcapi codes` and `mcapi explain` through the real command."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from mcapi._codes import catalogue
from mcapi.cli import cli

OBSERVED = (
    '{"meta":{"status":401},"data":[],"fail":[{"errors":[{"code":"err_xdk_invalid_signature",'
    '"message":"0004 Invalid Signature","retryable":false}]}]}'
)


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.output


def test_codes_json_has_every_row() -> None:
    code, out = run("codes", "--json")
    assert code == 0
    rows = json.loads(out)
    labels = [f"{r['status']} {r['sub_code']}" for r in rows if r["sub_code"]]
    assert len(labels) == 22
    assert labels.count("401 0001") == 2
    both = [r for r in rows if r["status"] == 401 and r["sub_code"] == "0001"]
    assert both[0]["meaning"] != both[1]["meaning"]
    assert {r["status"] for r in rows if r["sub_code"] is None} >= {
        200, 400, 401, 403, 404, 409, 418, 429, 500,
    }  # fmt: skip


def test_codes_table() -> None:
    code, out = run("codes")
    assert code == 0
    assert "Quota Exceeded" in out and "0008" in out


@pytest.mark.parametrize("entry", catalogue().entries, ids=lambda e: f"{e.label}-{e.body_code}")
def test_explain_every_entry(entry: object) -> None:
    from mcapi._codes import CodeEntry

    assert isinstance(entry, CodeEntry)
    args = [entry.body_code] if entry.body_code else entry.label.split()
    code, out = run("explain", "--json", *args)
    assert code == 0, out
    explained = json.loads(out)
    assert (explained["status"], explained["sub_code"], explained["body_code"]) == entry.key


def test_explain_pasted_body() -> None:
    code, out = run("explain", "-", stdin=OBSERVED)
    assert code == 0
    assert "401 0004 Invalid Signature" in out
    assert "What to do" in out


def test_explain_status_line_and_body() -> None:
    text = "HTTP/1.1 418 I'm a teapot\ncontent-type: application/json\n\n" + OBSERVED.replace(
        "401", "418"
    ).replace("err_xdk_invalid_signature", "err_xdk_binding_expired").replace(
        "0004 Invalid Signature", "0001 AccessKey Has Expired"
    )
    code, out = run("explain", "--json", "-", stdin=text)
    assert code == 0
    assert json.loads(out)["sub_code"] == "0001"
    code, out = run("explain", "--json", "-", stdin="HTTP/1.1 429 Too Many Requests\n")
    assert json.loads(out)["status"] == 429


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (["401", "9999"], None, "not in the Mimecast response-code table"),
        (["err_made_up"], None, "not a body code"),
        (["hello"], None, "cannot read"),
        (["401", "12345"], None, "not a sub code"),
        (["-"], "nothing useful here", "no status line"),
        (["-"], "{not json", "does not parse"),
        (["299"], None, "not in the Mimecast"),
    ],
)
def test_explain_unknown_input_fails_clearly(
    args: list[str], stdin: str | None, needle: str
) -> None:
    code, out = run("explain", *args, stdin=stdin)
    assert code != 0
    assert needle in out


def test_docs_page_is_the_catalogue() -> None:
    from pathlib import Path

    from mcapi.cli._codes_cmd import markdown_table

    page = Path(__file__).resolve().parents[1] / "docs" / "response-codes.md"
    assert page.read_text(encoding="utf-8") == markdown_table(), (
        "docs/response-codes.md is stale: run `mcapi codes --markdown > docs/response-codes.md`"
    )
