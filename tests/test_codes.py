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


# ---- loading and indexing (``catalogue()`` is cached: these build a fresh one) -----------------


def test_a_fresh_load_reads_every_field_of_codes_toml() -> None:
    fresh = catalogue.__wrapped__()
    assert fresh is not catalogue() and fresh.entries == ENTRIES
    (expired,) = [e for e in fresh.entries if e.label == "418 0001"]
    assert expired.to_dict() == {
        "status": 418,
        "sub_code": "0001",
        "body_code": "err_xdk_binding_expired",
        "name": "Binding Expired",
        "message": expired.message,
        "meaning": expired.meaning,
        "remedy": expired.remedy,
        "action": "refresh",
        "client_does": "refresh the binding once (single flight), re-sign, retry once",
        "retryable": True,
        "provenance": expired.provenance.value,
        "table_text": expired.table_text,
        "emulator_answers_when": expired.emulator,
    }
    assert expired.message.startswith("0001 ") and expired.meaning and expired.remedy
    assert expired.table_text and expired.emulator
    assert any(e.message_text for e in fresh.entries)


def test_a_fresh_catalogue_indexes_by_key_body_code_and_sub_code() -> None:
    fresh = catalogue.__wrapped__()
    for entry in ENTRIES:
        assert fresh.lookup(*entry.key) == entry
        if entry.body_code is not None:
            assert fresh.by_body_code(entry.body_code) == entry
    # for a status alone, the entry without a body code is the default
    assert fresh.lookup(401).body_code is None and fresh.lookup(401).label == "401"
    assert fresh.lookup(401, "0004") == lookup(401, "0004")


def test_a_catalogue_refuses_duplicate_keys_and_body_codes() -> None:
    from mcapi._codes import Catalogue

    one = lookup(418, "0001")
    with pytest.raises(ValueError, match=r"^duplicate catalogue key \(418, '0001'"):
        Catalogue((one, one))
    twin = CodeEntry(
        409, None, one.body_code, "Twin", "m", "r", Action.CALLER, False, Provenance.GENERIC
    )
    with pytest.raises(ValueError, match=r"^body code err_xdk_binding_expired appears twice$"):
        Catalogue((one, twin))


def test_generic_entries_are_never_retryable_and_say_what_they_are() -> None:
    server = lookup(502)
    assert server.retryable is False and server.provenance is Provenance.GENERIC
    assert server.meaning == (
        "The platform or something between it and you failed to answer properly."
    )
    item = lookup(200, None, "err_something_new")
    assert item.retryable is False and item.action is Action.CALLER
    assert item.meaning == (
        "The function ran but refused this item for a reason the catalogue does not know."
    )
    assert item.remedy == "Read the error message; fix the item and send it again."
    ok = lookup(204)
    assert ok.retryable is False and ok.meaning == "The call succeeded."
    assert ok.remedy == "Nothing to do."
    odd = lookup(451)
    assert odd.retryable is False and odd.provenance is Provenance.GENERIC
    assert odd.meaning == "The platform answered with a status the catalogue does not know."


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.sub_code], ids=lambda e: e.label)
def test_a_message_alone_names_its_sub_code(entry: CodeEntry) -> None:
    body = {"fail": [{"errors": [{"message": f"{entry.sub_code} words after it"}]}]}
    found = catalogue().from_response(entry.status, body)
    assert (found.status, found.sub_code) == (entry.status, entry.sub_code)


def test_from_response_keeps_an_unknown_items_body_code() -> None:
    body = {"fail": [{"errors": [{"code": "err_something_new", "message": "no"}]}]}
    assert catalogue().from_response(200, body).body_code == "err_something_new"


@pytest.mark.parametrize(
    "body", [None, "text", {"data": []}, {"meta": []}, {"meta": {"status": "500"}}]
)
def test_without_status_or_meta_status_an_answer_is_a_200(body: object) -> None:
    assert catalogue().from_response(None, body).status == 200


def test_a_fail_item_without_errors_does_not_hide_the_next_one() -> None:
    from mcapi._codes import first_error

    body = {"fail": [{"key": 1}, {"errors": [{"code": "err_b", "message": "0004 m"}]}]}
    assert first_error(body) == ("err_b", "0004 m")


@pytest.mark.parametrize("message", ["", "   ", "words only", "0004"])
def test_sub_code_of_blank_and_plain_messages(message: str) -> None:
    from mcapi._codes import sub_code_of

    assert sub_code_of(message) == ("0004" if message == "0004" else None)


def test_an_empty_sub_code_is_none() -> None:
    assert normalize_sub_code("") is None


def test_a_code_that_may_follow_execution_is_not_retryable() -> None:
    """500 0006 may come after the function ran (its remedy says a write may have been applied):
    the catalogue does not call it retryable, so the client repeats only reads on it."""
    entry = lookup(500, "0006", "err_xdk_external_resource")
    assert entry.retryable is False
    assert "may have been applied" in entry.remedy
