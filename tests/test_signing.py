"""Signing and the login header, checked against a vector computed outside mcapi.

The vector was computed with OpenSSL, not with this package:

    printf '%s' 'Tue, 24 Nov 2015 12:50:11 UTC:8578FCFC-A305-4D9A-99CB-F4D5ECEFE297:\
/api/account/get-account:3fd5e3f4-6f6a-4e25-a0bb-d9d1d3b1e6f1' \
      | openssl dgst -sha1 -mac HMAC -macopt hexkey:$(printf 'mcapi-test-secret-key-0123456789' \
      | xxd -p | tr -d '\\n') -binary | base64
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcapi import _signing as s
from mcapi._errors import LocalProtocolError

SECRET = "bWNhcGktdGVzdC1zZWNyZXQta2V5LTAxMjM0NTY3ODk="  # base64 of the raw key above
DATE = "Tue, 24 Nov 2015 12:50:11 UTC"
REQ_ID = "8578FCFC-A305-4D9A-99CB-F4D5ECEFE297"
PATH = "/api/account/get-account"
APP_KEY = "3fd5e3f4-6f6a-4e25-a0bb-d9d1d3b1e6f1"
EXPECTED = "Nt9EWGHqRryCTehs6HxTTa0Pi68="


def test_signature_matches_independent_vector() -> None:
    assert s.sign(SECRET, DATE, REQ_ID, PATH, APP_KEY) == EXPECTED


def test_data_to_sign_layout() -> None:
    assert s.data_to_sign(DATE, REQ_ID, PATH, APP_KEY) == f"{DATE}:{REQ_ID}:{PATH}:{APP_KEY}"


def test_signed_headers_carry_all_four() -> None:
    headers = s.signed_headers(
        access_key="AK1", secret_key=SECRET, app_id="app", app_key=APP_KEY,
        path=PATH, date=DATE, request_id=REQ_ID,
    )  # fmt: skip
    assert headers == {
        "x-mc-date": DATE,
        "x-mc-req-id": REQ_ID,
        "x-mc-app-id": "app",
        "Authorization": f"MC AK1:{EXPECTED}",
    }
    assert APP_KEY not in str(headers)


def test_verify_accepts_right_and_refuses_wrong() -> None:
    assert s.verify(SECRET, DATE, REQ_ID, PATH, APP_KEY, EXPECTED)
    assert not s.verify(SECRET, DATE, REQ_ID, "/api/other", APP_KEY, EXPECTED)
    assert not s.verify(SECRET, DATE, REQ_ID, PATH, APP_KEY, EXPECTED[:-2] + "A=")
    assert not s.verify(SECRET, DATE, REQ_ID, PATH, APP_KEY, "é")


@pytest.mark.parametrize("bad", ["not base64!!", "abc", "", "   "])
def test_bad_secret_key_is_a_clear_error(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="secret key"):
        s.sign(bad, DATE, REQ_ID, PATH, APP_KEY)


def test_protocol_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="base64"):
        s.decode_secret_key("%%%")


def test_date_format_and_parse_round_trip() -> None:
    moment = datetime(2015, 11, 24, 12, 50, 11, tzinfo=UTC)
    assert s.format_date(moment) == DATE
    assert s.parse_date(DATE) == moment
    assert s.parse_date("Tue, 24 Nov 2015 12:50:11 GMT") == moment
    assert s.parse_date("Tue, 24 Nov 2015 13:50:11 +0100") == moment
    assert s.format_date(moment.astimezone(timezone(timedelta(hours=5)))) == DATE
    assert s.format_date(moment.timestamp()) == DATE


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1)))
def test_date_round_trip_property(moment: datetime) -> None:
    aware = moment.replace(microsecond=0, tzinfo=UTC)
    assert s.parse_date(s.format_date(aware)) == aware


@pytest.mark.parametrize("bad", ["yesterday", "", "Tue, 24 Nov 2015", "Tue, 24 Nov 2015 12:50:11"])
def test_bad_dates_are_clear_errors(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="x-mc-date"):
        s.parse_date(bad)


def test_naive_datetime_refused() -> None:
    with pytest.raises(LocalProtocolError, match="aware"):
        s.format_date(datetime(2015, 11, 24))


def test_authorization_parse() -> None:
    parsed = s.parse_authorization(f"MC AK1:{EXPECTED}")
    assert (parsed.realm, parsed.access_key, parsed.signature) == ("MC", "AK1", EXPECTED)
    assert s.parse_authorization("Bearer a:b").realm == "Bearer"


@pytest.mark.parametrize("bad", ["", "MC", "MC ", "MC nocolon", "MC :sig", "MC key:"])
def test_malformed_authorization_is_clear(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="Authorization"):
        s.parse_authorization(bad)


def test_login_header_round_trip() -> None:
    header = s.build_login_header("cloud", "admin@demo.example", "pa:ss word")
    assert header == "Basic-Cloud " + base64.b64encode(b"admin@demo.example:pa:ss word").decode()
    creds = s.parse_login_header(header)
    assert (creds.auth_type, creds.username, creds.password) == (
        "cloud",
        "admin@demo.example",
        "pa:ss word",
    )
    assert "pa:ss" not in repr(creds)
    assert s.parse_login_header(s.build_login_header("domain", "u@x.y", "p")).scheme == "Basic-AD"


def test_login_header_errors() -> None:
    with pytest.raises(LocalProtocolError, match="auth type"):
        s.build_login_header("kerberos", "u", "p")
    with pytest.raises(LocalProtocolError, match="user name and a password"):
        s.build_login_header("cloud", "u", "")
    for header, missing in [
        ("Basic-Cloud " + base64.b64encode(b"user-only").decode(), True),
        ("Basic-Cloud " + base64.b64encode(b":password").decode(), True),
        ("Basic-Cloud %%%", True),
        ("Basic abc", False),
    ]:
        with pytest.raises(s.LoginHeaderError) as info:
            s.parse_login_header(header)
        assert info.value.missing_parts is missing


def test_request_ids_are_fresh_guids() -> None:
    import uuid

    ids = {s.new_request_id() for _ in range(2000)}
    assert len(ids) == 2000
    for i in ids:  # a random GUID in upper case, every bit of it a valid version 4 UUID
        parsed = uuid.UUID(i)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed).upper() == i
    # the variant's two free bits take each of their values (8, 9, A, B)
    assert {i[19] for i in ids} == set("89AB")


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1)))
def test_fast_and_general_date_parsers_agree(moment: datetime) -> None:
    from email.utils import parsedate_to_datetime

    text = s.format_date(moment.replace(tzinfo=UTC))
    general = parsedate_to_datetime(text.replace(" UTC", " GMT")).astimezone(UTC)
    assert s.parse_date(text) == general
    assert s.parse_date(text.replace(" UTC", " GMT")) == general


@pytest.mark.parametrize(
    "odd",
    [
        "Tue, 31 Feb 2015 12:50:11 UTC",
        "Tue, 24 Foo 2015 12:50:11 UTC",
        "Tue, 24 Nov 2015 25:00:00 UTC",
    ],
)
def test_impossible_documented_dates_are_refused(odd: str) -> None:
    with pytest.raises(LocalProtocolError):
        s.parse_date(odd)
