"""Point 3: login and discovery without x-mc-date / x-mc-req-id, as SOAR connectors call them."""

from __future__ import annotations

import json

import pytest

from tests.fidelity.conftest import Site, basic, code_of

DISCOVER = "/api/login/discover-authentication"
LOGIN = "/api/login/login"
ACCOUNT = "/api/account/get-account"


def test_login_with_only_app_id_and_basic_cloud(site: Site) -> None:
    response = site.login()
    assert response.status_code == 200, response.text
    item = response.json()["data"][0]
    assert item["accessKey"] and item["secretKey"]
    # the new binding signs calls with the wall clock
    keys = site.login_keys()
    answer = site.call(ACCOUNT, '{"data": []}', keys)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"][0]["accountCode"] == site.creds.account_code


def test_login_with_basic_ad_and_a_json_body(site: Site) -> None:
    email = site.creds.admin_email
    headers = {
        "x-mc-app-id": site.creds.app_id,
        "Authorization": basic("Basic-AD", email, site.password),
    }
    response = site.post(LOGIN, json.dumps({"data": [{"userName": email}]}), headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["accessKey"]


def test_refresh_with_api_version_and_the_expired_key(site: Site) -> None:
    """A connector refreshes with ``x-mc-api-version`` and its expired access key in the body:
    the same key comes back, living again."""
    keys = site.login_keys(**{"x-mc-api-version": "2014.6.1"})
    expired = site.admin("POST", f"bindings/{keys.access_key}/expire")
    assert expired.status_code == 200, expired.text
    assert code_of(site.call(ACCOUNT, "{}", keys)) == "418 0001"
    body = str({"data": [{"userName": site.creds.admin_email, "accessKey": keys.access_key}]})
    refreshed = site.login(body, **{"x-mc-api-version": "2014.6.1"})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["data"][0]["accessKey"] == keys.access_key
    assert site.call(ACCOUNT, "{}", keys).status_code == 200


def test_discovery_with_only_app_id(site: Site) -> None:
    body = json.dumps({"data": [{"emailAddress": site.creds.admin_email}]})
    response = site.post(DISCOVER, body, {"x-mc-app-id": site.creds.app_id})
    assert response.status_code == 200, response.text
    region = response.json()["data"][0]["region"]
    assert region["api"] == site.url  # where the connector logs in next
    assert "cloud" in response.json()["data"][0]["authenticate"]


def test_login_still_needs_the_app_id_and_credentials(site: Site) -> None:
    email = site.creds.admin_email
    no_app = site.post(LOGIN, "{}", {"Authorization": basic("Basic-Cloud", email, site.password)})
    assert code_of(no_app) == "400 err_developer_key"
    wrong_password = {
        "x-mc-app-id": site.creds.app_id,
        "Authorization": basic("Basic-Cloud", email, "wrong"),
    }
    wrong = site.post(LOGIN, "{}", wrong_password)
    assert code_of(wrong) == "401 0003"
    no_auth = site.post(LOGIN, "{}", {"x-mc-app-id": site.creds.app_id})
    assert code_of(no_auth) == "400 0001"


@pytest.mark.parametrize("missing", ["x-mc-date", "x-mc-req-id"])
def test_signed_calls_still_need_date_and_request_id(site: Site, missing: str) -> None:
    from tests.fidelity.conftest import signed

    headers = signed(ACCOUNT, site.admin_keys)
    del headers[missing]
    assert code_of(site.post(ACCOUNT, "{}", headers)) == "400 err_developer_key"
