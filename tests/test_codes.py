"""The catalogue: every row of the source table, linted entry by entry."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcapi._codes import Action, CodeEntry, Provenance, catalogue, lookup, normalize_sub_code

ENTRIES = catalogue().entries
#: The platform's published table of response codes, kept in the repository as a fixture.
SOURCE = Path(__file__).resolve().parent / "fixtures" / "response-codes.txt"

# The rows of the source table, written out: the catalogue is checked against this list, and the
# list against the source document.
TABLE_STATUSES = {200, 400, 401, 403, 404, 409, 418, 429, 500}
TABLE_SUB_CODES = [
    "400 0001", "401 0001", "401 0001", "401 0003", "401 0004", "401 0005", "401 0008",
    "401 0010", "401 0011", "401 0012", "401 0013", "403 0002", "403 0003", "403 0007",
    "403 0009", "403 0011", "403 0012", "403 0016", "404 0003", "418 0001", "429 0008",
    "500 0006",
]  # fmt: skip


def test_every_status_of_the_table_has_an_entry() -> None:
    statuses = {e.status for e in ENTRIES if e.sub_code is None and e.table_text}
    assert statuses >= TABLE_STATUSES


def test_every_sub_code_row_of_the_table_has_an_entry() -> None:
    labels = sorted(e.label for e in ENTRIES if e.sub_code is not None)
    assert labels == sorted(TABLE_SUB_CODES)


def test_table_rows_match_the_source_document() -> None:
    text = SOURCE.read_text()
    rows = re.findall(r"^(\d{3} \d{4})\b", text, flags=re.MULTILINE)
    assert sorted(rows) == sorted(TABLE_SUB_CODES)
    flat = " ".join(text.split())  # the source has non-breaking spaces and broken lines
    for entry in ENTRIES:
        if entry.table_text:
            assert " ".join(entry.table_text.split()) in flat, entry.label


def test_both_meanings_of_401_0001_stay_distinct() -> None:
    pair = [e for e in ENTRIES if e.label == "401 0001"]
    assert len(pair) == 2
    assert len({e.body_code for e in pair}) == 2
    assert len({e.meaning for e in pair}) == 2
    assert lookup(401, "0001", "err_xdk_auth_type_not_supported") is pair[0]
    assert lookup(401, "0001", "err_xdk_credentials_incomplete") is pair[1]


def test_403_0002_and_0003_share_the_table_description_but_not_the_meaning() -> None:
    a, b = lookup(403, "0002"), lookup(403, "0003")
    assert a.table_text == b.table_text
    assert a.meaning != b.meaning


def test_keys_and_body_codes_are_unique() -> None:
    keys = [e.key for e in ENTRIES]
    assert len(keys) == len(set(keys))
    bodies = [e.body_code for e in ENTRIES if e.body_code]
    assert len(bodies) == len(set(bodies))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e.label}-{e.body_code}")
def test_entry_lint(entry: CodeEntry) -> None:
    assert entry.name.strip()
    assert len(entry.meaning) > 10
    assert len(entry.remedy) > 10
    assert isinstance(entry.action, Action)
    assert entry.provenance in set(Provenance) - {Provenance.GENERIC}
    assert entry.emulator, "every entry says when the emulator answers with it"
    if entry.sub_code is not None:
        assert re.fullmatch(r"\d{4}", entry.sub_code)
        assert entry.message.startswith(entry.sub_code + " ")
        assert entry.body_code and entry.body_code.startswith("err_")
    # retryability agrees with the action
    if entry.action in (Action.WAIT, Action.REFRESH):
        assert entry.retryable
    if entry.action in (Action.STOP, Action.FORBIDDEN, Action.CALLER, Action.OK, Action.RELOGIN):
        assert not entry.retryable
    # the action agrees with the status class
    if entry.status == 200 and entry.body_code is None:
        assert entry.action is Action.OK
    if entry.status >= 500:
        assert entry.action is Action.TRANSIENT
    if entry.status == 418:
        assert entry.action is Action.REFRESH
    if entry.status == 429:
        assert entry.action is Action.WAIT


@pytest.mark.parametrize(
    ("label", "action"),
    [
        ("429 0008", Action.WAIT), ("418 0001", Action.REFRESH), ("401 0008", Action.RELOGIN),
        ("401 0012", Action.RELOGIN), ("401 0013", Action.RELOGIN), ("500 0006", Action.TRANSIENT),
        ("401 0003", Action.STOP), ("401 0004", Action.STOP), ("401 0005", Action.STOP),
        ("401 0010", Action.STOP), ("401 0011", Action.STOP), ("403 0009", Action.STOP),
        ("403 0012", Action.STOP), ("403 0016", Action.STOP), ("403 0002", Action.FORBIDDEN),
        ("403 0003", Action.FORBIDDEN), ("403 0007", Action.FORBIDDEN),
        ("403 0011", Action.FORBIDDEN), ("404 0003", Action.CALLER), ("400 0001", Action.CALLER),
    ],
)  # fmt: skip
def test_actions_follow_the_contract(label: str, action: Action) -> None:
    status, sub = label.split()
    assert lookup(int(status), sub).action is action


def test_lookups_fall_back_without_raising() -> None:
    assert lookup(401, "9999").label == "401"  # unknown sub code -> the status entry
    assert lookup(502).provenance is Provenance.GENERIC
    assert lookup(502).action is Action.TRANSIENT
    assert lookup(451).action is Action.CALLER
    assert lookup(200, None, "err_something_new").action is Action.CALLER
    assert lookup(200).action is Action.OK
    assert lookup(401, "garbage").label == "401"
    assert lookup(500, 6).label == "500 0006"


def test_body_code_look_up() -> None:
    assert catalogue().by_body_code("err_xdk_binding_expired") is lookup(418, "0001")
    assert catalogue().by_body_code("err_nope") is None
    # the body code decides when the sub code is absent
    assert lookup(401, None, "err_xdk_account_locked").label == "401 0010"
    # a per-item failure under 200 may carry a conflict's code
    assert lookup(200, None, "err_domain_exists").name == "Domain Exists"


def test_from_response_reads_sub_code_from_message() -> None:
    body = {
        "meta": {"status": 401},
        "data": [],
        "fail": [{"errors": [{"code": "err_xdk_invalid_signature",
                              "message": "0004 Invalid Signature", "retryable": False}]}],
    }  # fmt: skip
    assert catalogue().from_response(401, body).label == "401 0004"
    assert catalogue().from_response(None, body).label == "401 0004"
    assert catalogue().from_response(500, "not json").label == "500"
    assert catalogue().from_response(200, {"data": []}).action is Action.OK


def test_messages_as_observed() -> None:
    assert lookup(401, "0004").message == "0004 Invalid Signature"
    assert lookup(403, "0003").message == "0003 Forbidden To Perform Operation For Address"


@pytest.mark.parametrize(
    ("raw", "out"), [(4, "0004"), ("4", "0004"), ("0004", "0004"), (None, None)]
)
def test_normalize_sub_code(raw: object, out: str | None) -> None:
    assert normalize_sub_code(raw) == out  # type: ignore[arg-type]


def test_normalize_sub_code_refuses_junk() -> None:
    with pytest.raises(ValueError, match="not a sub code"):
        normalize_sub_code("12345")


def test_generic_entries_keep_what_is_known_of_the_answer() -> None:
    # Codes the catalogue does not hold get an entry built from the status class.
    ok = lookup(204)
    assert (ok.status, ok.name, ok.action, ok.provenance) == (
        204, "HTTP 204", Action.OK, Provenance.GENERIC,
    )  # fmt: skip
    item = lookup(200, None, "err_something_new")
    assert (item.status, item.body_code, item.name) == (
        200,
        "err_something_new",
        "Function Failure",
    )
    assert item.provenance is Provenance.GENERIC and not item.retryable
    server = lookup(502, None, "err_gateway")
    assert (server.status, server.body_code, server.name) == (502, "err_gateway", "HTTP 502")
    assert server.remedy == "Retry later with backoff if the call only reads."
    odd = lookup(451)
    assert (odd.status, odd.name, odd.action) == (451, "HTTP 451", Action.CALLER)
    assert odd.remedy == "Check the request and the base URL; read the message for details."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, (None, None)),
        ({"fail": "no"}, (None, None)),
        ({"fail": []}, (None, None)),
        ({"fail": ["x", {"errors": "no"}, {"errors": []}]}, (None, None)),
        (
            {"fail": [{"errors": ["x", {"code": "err_a", "message": "0004 m"}]}]},
            ("err_a", "0004 m"),
        ),
        ({"fail": [{"errors": []}, {"errors": [{"code": "err_b"}]}]}, ("err_b", None)),
        ({"fail": [{"errors": [{"code": 5, "message": 6}]}]}, (None, None)),
    ],
)
def test_first_error_finds_the_first_usable_error(
    body: object, expected: tuple[str | None, str | None]
) -> None:
    from mcapi._codes import first_error

    assert first_error(body) == expected
