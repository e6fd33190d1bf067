"""Points 1 and 2: bodies that are Python literals, bodies without ``data``, no Content-Type."""

from __future__ import annotations

import json

import pytest

from tests.fidelity.conftest import Site, code_of

SIEM = "/api/audit/get-siem-logs"
CLICKS = "/api/ttp/url/get-logs"
ACCOUNT = "/api/account/get-account"


def test_vendor_sample_siem_body_as_a_python_literal(shared_site: Site) -> None:
    """The vendor's sample posts ``data=str(payload)``: single quotes, ``True``, no Content-Type."""
    body = str({"data": [{"compress": True, "fileFormat": "JSON", "token": ""}]})
    assert body.startswith("{'data': [{'compress': True")
    response = shared_site.call(SIEM, body)
    assert "content-type" not in response.request.headers
    assert response.status_code == 200, response.text
    # a SIEM collector reads the file name and the token for its next call from the headers
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["mc-siem-token"]


def test_literal_with_none_and_false(shared_site: Site) -> None:
    body = str({"data": [{"oldestFirst": False, "from": None, "route": "all"}]})
    response = shared_site.call(CLICKS, body)
    assert response.status_code == 200, response.text
    assert "clickLogs" in response.json()["data"][0]


def test_a_literal_request_reads_as_its_json_twin(shared_site: Site) -> None:
    payload = {"data": [{"oldestFirst": True, "scanResult": "all"}],
               "meta": {"pagination": {"pageSize": 5}}}  # fmt: skip
    as_literal = shared_site.call(CLICKS, str(payload))
    as_json = shared_site.call(CLICKS, json.dumps(payload))
    assert as_literal.status_code == as_json.status_code == 200
    assert as_literal.json()["data"] == as_json.json()["data"]


@pytest.mark.parametrize(
    "body",
    [
        "{'data': [__import__('os').system('true')]}",  # a call: never evaluated
        "{'data': [open('/etc/passwd')]}",
        "{'data': [{1, 2}]}",  # a set is no JSON value
        "{'data': [{'a': b'bytes'}]}",
        "{'data': [{'a': 1j}]}",
        "{'data': [{'a': (1, 2)}]}",
        "{'data': [{1: 'integer key'}]}",
        "{'data': [{'a': 1e999}]}",
        "{'data': [{'a': 'unterminated}]}",
        "data=[]",
        "lambda: 0",
    ],
)
def test_what_neither_reading_accepts_stays_400(shared_site: Site, body: str) -> None:
    response = shared_site.call(ACCOUNT, body)
    assert code_of(response) == "400 err_request_malformed", response.text


def test_an_oversized_literal_is_refused(shared_site: Site) -> None:
    from mcapi.emulator._pipeline._body import LITERAL_MAX_BYTES

    body = str({"data": [{"filler": "x" * LITERAL_MAX_BYTES}]})
    response = shared_site.call(ACCOUNT, body)
    assert code_of(response) == "400 err_request_malformed"
    assert "too large" in response.json()["fail"][0]["errors"][0]["message"]
    # the same size as strict JSON is read: the bound is the literal parser's only
    big_json = shared_site.call(ACCOUNT, json.dumps({"data": [], "x": "x" * LITERAL_MAX_BYTES}))
    assert big_json.status_code == 200, big_json.text


@pytest.mark.parametrize("path", [CLICKS, SIEM])
@pytest.mark.parametrize("body", ["{}", "", '{"data": null}', '{"data": []}', "{'data': None}"])
def test_a_body_without_data_is_one_empty_item(shared_site: Site, path: str, body: str) -> None:
    """A public collector posts ``{}`` without Content-Type to get-logs and gets click logs."""
    response = shared_site.call(path, body)
    assert "content-type" not in response.request.headers  # sent without one, as they do
    assert response.status_code == 200, response.text
    if path == CLICKS:
        logs = response.json()["data"][0]["clickLogs"]
        assert logs and {"url", "userEmailAddress", "date"} <= set(logs[0])
    else:
        assert response.headers["mc-siem-token"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/ttp/url/create-managed-url", "url"),
        ("/api/user/create-user", "emailAddress"),
        ("/api/domain/create-domain", "domain"),
        ("/api/gateway/hold-reject", "ids"),
    ],
)
def test_without_data_a_required_field_fails_by_name(site: Site, path: str, field: str) -> None:
    response = site.call(path, "{}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == []
    (failure,) = body["fail"]
    assert failure["key"] == {}
    assert failure["errors"][0]["field"] == field
    assert failure["errors"][0]["code"].startswith("err_validation_")
