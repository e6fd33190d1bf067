"""The signing flow and the binding's renewal rules, without a server."""

from __future__ import annotations

import httpx
import pytest

from mcapi._errors import ServerError, TransportError, api_error
from mcapi._signing import parse_authorization, parse_date, verify
from mcapi.client import Credentials
from mcapi.client._auth import GENERATION, CredentialsInUse, SigningAuth, UnsignedAuth

SECRET = "c2VjcmV0LWtleS1ieXRlcy1mb3ItdGVzdHM="
CREDS = Credentials(
    "https://eu-api.mimecast.com", "app-id", "app-key", "ACCESS-KEY-1", SECRET,
    email="a@b.example", password="pw",
)  # fmt: skip


def signed(auth: httpx.Auth, path: str = "/api/account/get-account") -> httpx.Request:
    request = httpx.Request("POST", "https://eu-api.mimecast.com" + path, content=b"{}")
    flow = auth.sync_auth_flow(request)
    return next(flow)


def test_each_attempt_gets_a_fresh_date_request_id_and_valid_signature() -> None:
    now = [1_700_000_000.0]
    auth = SigningAuth(CredentialsInUse(CREDS), lambda: now[0])
    first = signed(auth)
    now[0] += 61
    second = signed(auth)
    assert first.headers["x-mc-req-id"] != second.headers["x-mc-req-id"]
    assert parse_date(second.headers["x-mc-date"]).timestamp() == now[0]
    for request in (first, second):
        header = parse_authorization(request.headers["Authorization"])
        assert (header.realm, header.access_key) == ("MC", "ACCESS-KEY-1")
        assert verify(
            SECRET, request.headers["x-mc-date"], request.headers["x-mc-req-id"],
            "/api/account/get-account", "app-key", header.signature,
        )  # fmt: skip
        assert request.headers["x-mc-app-id"] == "app-id"
        assert "app-key" not in str(request.headers)


def test_the_flow_signs_with_the_binding_current_when_sent() -> None:
    binding = CredentialsInUse(CREDS)
    auth = SigningAuth(binding, lambda: 1_700_000_000.0)
    assert signed(auth).extensions[GENERATION] == 0
    binding.replace(CREDS.with_binding("ACCESS-KEY-2", SECRET))
    request = signed(auth)
    assert request.extensions[GENERATION] == 1
    assert parse_authorization(request.headers["Authorization"]).access_key == "ACCESS-KEY-2"


def test_login_header_is_built_per_attempt_and_hidden_from_repr() -> None:
    auth = UnsignedAuth("app-id", lambda: 1_700_000_000.0, login=("cloud", "a@b.example", "pw"))
    request = signed(auth, "/api/login/login")
    assert request.headers["Authorization"].startswith("Basic-Cloud ")
    assert "pw" not in repr(auth)
    assert "Authorization" not in signed(UnsignedAuth("app-id", lambda: 0.0)).headers


def test_renewal_plan_skips_when_another_caller_renewed() -> None:
    binding = CredentialsInUse(CREDS)
    plan = binding.plan_renewal(0, refresh=True)
    assert plan == (("cloud", "a@b.example", "pw"), "ACCESS-KEY-1")
    assert binding.plan_renewal(0, refresh=False) == (("cloud", "a@b.example", "pw"), None)
    binding.replace(CREDS)
    assert binding.plan_renewal(0, refresh=True) is None  # generation moved on: just retry


def test_a_credential_failure_is_remembered_a_passing_one_is_not() -> None:
    binding = CredentialsInUse(CREDS)
    binding.renewal_failed(0, ServerError("boom"))
    binding.renewal_failed(0, TransportError("reset"))
    binding.renewal_failed(0, api_error(500, sub_code="0006"))
    assert binding.plan_renewal(0, refresh=True) is not None  # try again later
    wrong = api_error(401, sub_code="0003", endpoint="/api/login/login")
    binding.renewal_failed(0, wrong)
    with pytest.raises(type(wrong)) as info:
        binding.plan_renewal(0, refresh=True)  # never send the same wrong password again
    assert info.value is wrong
    binding.replace(CREDS)  # a new binding (e.g. set by hand) clears it
    assert binding.plan_renewal(1, refresh=True) is not None
