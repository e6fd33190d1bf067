"""Documented request filters are honoured: get-all-managed-urls with ``domainOrUrl`` and
``exactMatch``, as a SOAR connector sends them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mcapi.emulator import Emulator, EmulatorCredentials
from tests.fidelity._served import data, post, served, served_tenant

CREATE = "/api/ttp/url/create-managed-url"
LIST = "/api/ttp/url/get-all-managed-urls"
URLS = (
    ("https://evil.example/login", "block", "explicit"),
    ("https://evil.example/invoice/view", "block", "explicit"),
    ("http://partner.example/", "permit", "domain"),
    ("https://sub.evil.example/x", "block", "explicit"),
    ("https://news.example/evil.example", "permit", "explicit"),
)

Tenant = tuple[Emulator, EmulatorCredentials, httpx.Client]


@pytest.fixture(scope="module")
def tenant() -> Iterator[Tenant]:
    emu, creds = served_tenant(users=5, days=1)
    with served(emu) as http:
        items = [{"url": u, "action": a, "matchType": m} for u, a, m in URLS]
        body = data(post(http, emu, creds, CREATE, json.dumps({"data": items}).encode()))
        assert body["fail"] == []
        yield emu, creds, http
    emu.close()


def listed(tenant: Tenant, **item: Any) -> list[str]:
    emu, creds, http = tenant
    body = data(post(http, emu, creds, LIST, json.dumps({"data": [item]}).encode()))
    assert body["fail"] == []
    return sorted(f"{r['domain']}{r['path']}" for r in body["data"])


def test_without_a_filter_every_managed_url_is_listed(tenant: Tenant) -> None:
    assert len(listed(tenant)) == len(URLS)


def test_domain_or_url_matches_part_of_the_domain_or_url(tenant: Tenant) -> None:
    assert listed(tenant, domainOrUrl="evil.example") == [
        "evil.example/invoice/view", "evil.example/login", "news.example/evil.example",
        "sub.evil.example/x",
    ]  # fmt: skip
    assert listed(tenant, domainOrUrl="INVOICE") == ["evil.example/invoice/view"]
    assert listed(tenant, domainOrUrl="nothing-like-it") == []


def test_exact_match_wants_the_whole_domain_or_url(tenant: Tenant) -> None:
    exact = {"exactMatch": True}
    assert listed(tenant, domainOrUrl="evil.example", **exact) == [
        "evil.example/invoice/view",
        "evil.example/login",
    ]  # the domain itself, not sub.evil.example nor a path naming it
    assert listed(tenant, domainOrUrl="https://evil.example/login", **exact) == [
        "evil.example/login"
    ]
    assert listed(tenant, domainOrUrl="evil.example/login/", **exact) == ["evil.example/login"]
    assert listed(tenant, domainOrUrl="evil.example/log", **exact) == []
    assert listed(tenant, domainOrUrl="partner.example", exactMatch=False) == ["partner.example"]


def test_a_bad_exact_match_fails_naming_it(tenant: Tenant) -> None:
    emu, creds, http = tenant
    item = {"domainOrUrl": "evil.example", "exactMatch": [1]}
    body = data(post(http, emu, creds, LIST, json.dumps({"data": [item]}).encode()))
    assert [(e["code"], e["field"]) for f in body["fail"] for e in f["errors"]] == [
        ("err_validation_invalid_value", "exactMatch")
    ]
