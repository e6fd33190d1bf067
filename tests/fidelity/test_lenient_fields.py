"""Point 4: booleans and whole numbers written as strings."""

from __future__ import annotations

import json

import pytest

from tests.fidelity.conftest import Site, code_of

MANAGED = "/api/ttp/url/create-managed-url"
CLICKS = "/api/ttp/url/get-logs"
AUDIT = "/api/audit/get-audit-events"


@pytest.mark.parametrize(("sent", "read"), [("false", False), ("TRUE", True), (" True ", True)])
def test_boolean_strings(site: Site, sent: str, read: bool) -> None:
    """A SOAR connector sends ``"disableRewrite": "false"`` on create-managed-url."""
    item = {"url": "https://example.org/x", "action": "block", "disableRewrite": sent,
            "disableLogClick": "false", "disableUserAwareness": "false"}  # fmt: skip
    response = site.call(MANAGED, json.dumps({"data": [item]}))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["fail"] == []
    assert body["data"][0]["disableRewrite"] is read


@pytest.mark.parametrize("sent", ["1", "0", "yes", "", "truthy", 1])
def test_other_spellings_are_refused_by_field(site: Site, sent: object) -> None:
    item = {"url": "https://example.org/y", "action": "block", "disableRewrite": sent}
    response = site.call(MANAGED, json.dumps({"data": [item]}))
    assert response.status_code == 200, response.text
    (failure,) = response.json()["fail"]
    assert failure["errors"][0]["field"] == "disableRewrite"


def test_page_size_as_a_string(site: Site) -> None:
    # a tenant large enough to have more than two clicks in the last 24 hours at any time of day
    site.emulator.admin.generate(site.creds.account_code, seed=3, users=40, days=1)
    body = {"meta": {"pagination": {"pageSize": "2"}}, "data": [{"oldestFirst": "true"}]}
    response = site.call(CLICKS, json.dumps(body))
    assert response.status_code == 200, response.text
    meta = response.json()["meta"]["pagination"]
    assert meta["pageSize"] == 2 and meta["next"]
    logs = response.json()["data"][0]["clickLogs"]
    assert len(logs) == 2 and logs[0]["date"] <= logs[1]["date"]  # oldest first, as asked


@pytest.mark.parametrize("size", ["100", " 100 ", "+100"])
def test_page_size_strings_of_a_python_literal(shared_site: Site, size: str) -> None:
    body = str({"meta": {"pagination": {"pageSize": size}}, "data": []})
    response = shared_site.call(AUDIT, body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("size", ["abc", "1.5", "1e2", "0", "-3", "100000", True])
def test_page_sizes_that_are_no_whole_number_in_range_stay_400(
    shared_site: Site, size: object
) -> None:
    body = json.dumps({"meta": {"pagination": {"pageSize": size}}, "data": []})
    assert code_of(shared_site.call(AUDIT, body)) == "400 err_request_malformed"


def test_the_shared_field_helpers() -> None:
    """``boolean`` and ``integer`` of functions/_common: what every function's fields go through."""
    from mcapi.emulator.functions._common import ItemRefused, boolean, integer

    item = {"a": "False", "b": " 42 ", "c": "4.2", "d": 7, "e": "-1", "f": "maybe"}
    assert boolean(item, "a") is False
    assert boolean(item, "missing", default=True) is True
    assert integer(item, "b", default=0) == 42
    assert integer(item, "d", default=0, minimum=1, maximum=7) == 7
    assert integer(item, "missing", default=5) == 5
    for field, kwargs in (("c", {}), ("e", {"minimum": 0}), ("d", {"maximum": 6})):
        with pytest.raises(ItemRefused) as info:
            integer(item, field, default=0, **kwargs)
        assert info.value.field == field
    with pytest.raises(ItemRefused, match="true or false"):
        boolean(item, "f")
