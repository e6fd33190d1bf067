"""The OpenAPI document, and a bounded schemathesis run of every function against it.

Schemathesis generates requests from each operation's request schema, signs them like a real
client, sends them to the in-process emulator and checks that no answer is a 500 and that every
answer (status, content type, headers, body) is one the document describes.
"""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorCredentials
from mcapi.emulator._data import generate
from mcapi.emulator._siem_routes import SPECS as SIEM_REST
from mcapi.emulator.functions import FUNCTIONS, function_table
from mcapi.emulator.functions._openapi import build_openapi

EMU = Emulator("sqlite://", kdf_n=2**10)
CREDS = EMU.load_demo()
_ACCOUNT = EMU.store.find_account(CREDS.account_code)
assert _ACCOUNT is not None
# a quota the run never exhausts, and some data for the functions to find
EMU.store.update_account_policy(_ACCOUNT.id, quota_limit=1_000_000, quota_reset_ms=1)
generate(EMU.store, _ACCOUNT.id, seed=3, users=5, days=1, now=EMU.clock.now())

schema = schemathesis.openapi.from_asgi("/_emulator/openapi.json", EMU.app)


@schema.auth()
class MCSigning:
    """Signs every generated request with the demo administrator's binding."""

    def get(
        self, case: schemathesis.Case[Any], ctx: schemathesis.AuthContext
    ) -> EmulatorCredentials:
        return CREDS

    def set(
        self, case: schemathesis.Case[Any], data: EmulatorCredentials, ctx: schemathesis.AuthContext
    ) -> None:
        headers = signed_headers(
            access_key=data.access_key, secret_key=data.secret_key, app_id=data.app_id,
            app_key=data.app_key, path=case.path, date=format_date(EMU.clock.now()),
            request_id=new_request_id(),
        )  # fmt: skip
        case.headers.update(headers)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_function_answers_as_documented(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ]
    )


def test_document_lists_every_function_with_its_contract() -> None:
    document = build_openapi(function_table())
    assert set(document["paths"]) == {spec.path for spec in FUNCTIONS} | set(SIEM_REST)
    for spec in FUNCTIONS:
        operation: dict[str, Any] = document["paths"][spec.path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body["properties"]["data"]["items"] == dict(spec.request_schema)
        assert ("meta" in body["properties"]) == spec.paginated
        ok = operation["responses"]["200"]["content"]
        assert ("application/octet-stream" in ok) == spec.streams
        assert ok["application/json"]["schema"]["properties"]["data"]["items"] == dict(
            spec.response_schema
        )
        assert operation["x-mcapi-permission"] == spec.permission
        for status in ("400", "401", "403", "409", "429", "500"):
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorEnvelope"}
        # either API: a signed binding (1.0) or a Bearer token (2.0)
        assert operation["security"] == [{"MC": []}, {"OAuth2": []}]
    oauth = document["components"]["securitySchemes"]["OAuth2"]
    assert oauth["flows"] == {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": {}}}


def test_siem_rest_reads_are_bearer_only_gets_with_the_detail_429() -> None:
    document = build_openapi(function_table())
    for path, spec in SIEM_REST.items():
        assert set(document["paths"][path]) == {"get"}
        operation = document["paths"][path]["get"]
        assert operation["security"] == [{"OAuth2": []}]
        assert operation["x-mcapi-permission"] == spec.permission
        names = {p["name"] for p in operation["parameters"]}
        assert {"pageSize", "nextPage", "dateRangeStartsAt", "dateRangeEndsAt"} <= names
        detail = operation["responses"]["429"]["content"]["application/json"]["schema"]
        assert detail["required"] == ["detail"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert {"value", "pageSize", "isCaughtUp"} <= set(ok["required"])


@pytest.mark.anyio
async def test_served_document_is_the_generated_one() -> None:
    transport = httpx.ASGITransport(app=cast(Any, EMU.app))
    async with httpx.AsyncClient(transport=transport, base_url=CREDS.base_url) as client:
        served = (await client.get("/_emulator/openapi.json")).json()
    assert served["paths"].keys() >= {spec.path for spec in FUNCTIONS}
    assert served["components"] == build_openapi(function_table())["components"]
