"""Bad input never yields a 500: arbitrary headers and bodies always get a catalogue answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mcapi._codes import catalogue
from mcapi._signing import format_date, new_request_id, signed_headers
from mcapi.emulator import Emulator, EmulatorCredentials

KNOWN_STATUSES = {e.status for e in catalogue().entries} | {405}
PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[TestClient, Emulator, EmulatorCredentials]]:
    emu = Emulator("sqlite://", kdf_n=2**10)
    creds = emu.load_demo()
    # a quota large enough that the fuzzer never meets 429
    account = emu.store.find_account(creds.account_code)
    assert account is not None
    emu.store.update_account_policy(account.id, quota_limit=1_000_000, quota_reset_ms=1)
    with TestClient(emu.app, raise_server_exceptions=True) as client:
        yield client, emu, creds
    emu.close()


def paths(emu: Emulator) -> st.SearchStrategy[str]:
    known = [*sorted(emu.functions), "/api/login/login", "/api/login/discover-authentication"]
    return st.sampled_from(known) | st.just("/api/") | PRINTABLE.map(lambda p: "/api/" + p)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | PRINTABLE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(PRINTABLE, inner, max_size=4),
    max_leaves=12,
)
#: What a Python literal may hold beyond JSON: tuples, sets, bytes, complex and non-finite
#: numbers, integers past 64 bits. The emulator must refuse these with 400, never fail with 500.
python_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | PRINTABLE | st.binary(max_size=8)
    | st.complex_numbers(max_magnitude=1e6) | st.integers(min_value=2**63, max_value=2**80),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(PRINTABLE, inner, max_size=4)
    | st.tuples(inner, inner) | st.frozensets(st.integers(), max_size=3),
    max_leaves=12,
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["data", "meta", "x"]), json_values, max_size=3).map(
        lambda v: json.dumps(v).encode()
    ),
    st.lists(st.dictionaries(PRINTABLE, json_values, max_size=3), max_size=3).map(
        lambda items: json.dumps({"data": items}).encode()
    ),
    # Python literals, as integrations post str(payload): read by the second, lenient parser
    st.lists(st.dictionaries(PRINTABLE, python_values, max_size=3), max_size=3).map(
        lambda items: str({"data": items}).encode()
    ),
    python_values.map(lambda v: repr(v).encode()),
)


def check_answer(status: int, content: bytes) -> None:
    assert status != 500, content
    assert status in KNOWN_STATUSES, status
    if content[:1] != b"{":
        return  # a file stream
    body: Any = json.loads(content)
    assert set(body) >= {"meta", "data", "fail"}
    if status != 200:
        error = body["fail"][0]["errors"][0]
        assert catalogue().by_body_code(error["code"]) is not None or error["code"].startswith(
            "err_"
        )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_unsigned_garbage(
    world: tuple[TestClient, Emulator, EmulatorCredentials], data: st.DataObject
) -> None:
    client, emu, _ = world
    path = data.draw(paths(emu))
    method = data.draw(st.sampled_from(["POST", "POST", "GET", "PUT", "DELETE"]))
    headers = data.draw(
        st.dictionaries(
            st.sampled_from(["authorization", "x-mc-date", "x-mc-req-id", "x-mc-app-id",
                             "content-type", "x-other"]),
            PRINTABLE | st.sampled_from(["MC a:b", "Basic-Cloud YTpi", "Basic-AD Og==", "MC :"]),
        )
    )  # fmt: skip
    body = data.draw(bodies)
    response = client.request(method, path, content=body, headers=headers)
    check_answer(response.status_code, response.content)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_signed_garbage_bodies(
    world: tuple[TestClient, Emulator, EmulatorCredentials], data: st.DataObject
) -> None:
    """Correctly signed calls with arbitrary bodies reach the functions: still no 500."""
    client, emu, creds = world
    path = data.draw(st.sampled_from(sorted(emu.functions)))
    body = data.draw(bodies)
    headers = signed_headers(
        access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
        app_key=creds.app_key, path=path, date=format_date(emu.clock.now()),
        request_id=new_request_id(),
    )  # fmt: skip
    if path == "/api/login/logout":
        body = b'{"data": []}'  # logging the fuzzer's own binding out would end the run
    response = client.post(path, content=body, headers=headers)
    check_answer(response.status_code, response.content)


#: Any integer, with numbers past a C int (2**31) drawn often: the calendar's own bounds are not
#: the only ones a parser can trip on.
unbounded = st.integers() | st.integers(min_value=2**31 - 2) | st.integers(max_value=-(2**31) + 2)

date_shaped = st.builds(
    "{}, {} {} {} {:02d}:{:02d}:{:02d} {}".format,
    st.sampled_from(["Mon", "Tue", "Fri", "Xyz", ""]),
    st.integers(-5, 99) | unbounded,
    st.sampled_from(["Jan", "Feb", "Nov", "Dec", "Foo"]),
    st.integers(0, 99999) | unbounded,
    st.integers(0, 99) | unbounded,
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(["UTC", "UTC", "GMT", "+0100", "-0100", "+9999", "-9999", "EST", "", "Z"]),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(date=date_shaped)
@example(date="Tue, 24 Nov 99999999999999999999 12:50:11 UTC")
@example(date="Tue, 99999999999999999999 Nov 2015 12:50:11 UTC")
@example(date="Tue, 24 Nov 2015 99999999999999999999:50:11 GMT")
def test_date_shaped_headers(
    world: tuple[TestClient, Emulator, EmulatorCredentials], date: str
) -> None:
    """Dates at the edges of the calendar (year 9999 with an offset, day 0...) are refused with a
    catalogue answer, never a 500."""
    client, _, creds = world
    path = "/api/account/get-account"
    headers = signed_headers(
        access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
        app_key=creds.app_key, path=path, date=date, request_id=new_request_id(),
    )  # fmt: skip
    response = client.post(path, content=b'{"data": []}', headers=headers)
    check_answer(response.status_code, response.content)


@pytest.mark.parametrize(
    "date",
    [
        "Tue, 24 Nov 99999999999999999999 12:50:11 UTC",
        "Tue, 99999999999999999999 Nov 2015 12:50:11 UTC",
        "Tue, 24 Nov -1 12:50:11 UTC",
    ],
)
def test_date_out_of_any_calendar_is_refused_as_unparsable(
    world: tuple[TestClient, Emulator, EmulatorCredentials], date: str
) -> None:
    """A date whose numbers overflow answers what any unparsable date answers: 401 0004."""
    client, _, creds = world
    path = "/api/account/get-account"
    answers = []
    for sent in (date, "not a date"):
        headers = signed_headers(
            access_key=creds.access_key, secret_key=creds.secret_key, app_id=creds.app_id,
            app_key=creds.app_key, path=path, date=sent, request_id=new_request_id(),
        )  # fmt: skip
        response = client.post(path, content=b'{"data": []}', headers=headers)
        assert response.status_code == 401, response.text
        answers.append(response.json()["fail"])
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer S3cretValue9",
        "S3cretValue9",
        "Basic-Cloud dXNlckBkZW1vLmV4YW1wbGU6UzNjcmV0VmFsdWU5",
        "MC S3cretValue9",
    ],
)
def test_hostile_authorization_never_reaches_the_journal(
    world: tuple[TestClient, Emulator, EmulatorCredentials], authorization: str
) -> None:
    client, emu, creds = world
    for path in ("/api/account/get-account", "/api/login/login"):
        headers = {
            "Authorization": authorization, "x-mc-app-id": creds.app_id,
            "x-mc-date": "Tue, 24 Nov 2015 12:50:11 UTC", "x-mc-req-id": new_request_id(),
        }  # fmt: skip
        client.post(path, content=b'{"data": []}', headers=headers)
    journal = json.dumps(emu.journal.to_dict())
    assert "S3cretValue9" not in journal
    assert "dXNlckBkZW1vLmV4" not in journal
