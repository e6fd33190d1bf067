"""The envelope: tolerant on responses, strict on requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcapi._codes import lookup
from mcapi._envelope import (
    EnvelopeError,
    ErrorDetail,
    FailItem,
    Pagination,
    lenient_bool,
    lenient_int,
    parse_request,
    parse_response,
    render_error,
    render_request,
    render_response,
)

REAL_PARTIAL = {
    "meta": {"status": 200},
    "data": [{"sender": "ok@x.com", "to": "a@b.com", "type": "block", "id": "1"}],
    "fail": [
        {
            "key": {"sender": "bad", "to": "a@b.com", "action": "block"},
            "errors": [
                {
                    "field": "sender",
                    "code": "err_validation_invalid_email_address",
                    "message": "Email address is not valid",
                    "retryable": False,
                }
            ],
        }
    ],
}


def test_parse_partial_response_keeps_both_sides() -> None:
    env = parse_response(REAL_PARTIAL)
    assert env.status == 200
    assert len(env.data) == 1
    assert env.fail[0].key == {"sender": "bad", "to": "a@b.com", "action": "block"}
    error = env.fail[0].errors[0]
    assert (error.field, error.code, error.retryable) == (
        "sender",
        "err_validation_invalid_email_address",
        False,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"meta": {"status": 200}, "data": None},
        {"data": []},
        {"meta": None, "data": {"single": 1}, "fail": None, "extra": True},
        {"meta": {"status": "200"}, "data": [], "fail": [{"code": "x", "message": "y"}]},
        [],
        None,
        "text",
    ],
)
def test_parse_response_tolerates_variants(body: object) -> None:
    env = parse_response(body)
    assert isinstance(env.data, tuple)
    assert isinstance(env.fail, tuple)


def test_fail_entry_with_inline_error() -> None:
    env = parse_response({"fail": [{"code": "err_x", "message": "0006 boom", "retryable": True}]})
    assert env.fail[0].errors[0].sub_code == "0006"
    assert env.fail[0].errors[0].retryable


def test_pagination_and_last_token() -> None:
    env = parse_response(
        {"meta": {"status": 200, "isLastToken": True, "pagination": {"pageSize": 2, "next": "n"}}}
    )
    assert env.pagination == Pagination(page_size=2, next="n")
    assert env.is_last_token


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_parse_response_never_raises(body: object) -> None:
    parse_response(body)
    parse_response({"meta": body, "data": body, "fail": body})


def test_parse_request_strict() -> None:
    req = parse_request(
        {"data": [{"a": 1}], "meta": {"pagination": {"pageSize": 5, "pageToken": "t"}}}
    )
    assert req.data == ({"a": 1},)
    assert req.pagination is not None
    assert (req.pagination.page_size, req.pagination.page_token) == (5, "t")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "JSON object"),
        ({"data": {}}, "array"),
        ({"data": [1]}, r"data\[0\]"),
        ({"data": [], "meta": []}, "meta"),
        ({"data": [], "meta": {"pagination": {"pageSize": "five"}}}, "pageSize"),
        ({"data": [], "meta": {"pagination": {"pageSize": "5.0"}}}, "pageSize"),
        ({"data": [], "meta": {"pagination": {"pageSize": 0}}}, "between"),
        ({"data": [], "meta": {"pagination": {"pageToken": 5}}}, "pageToken"),
    ],
)
def test_parse_request_reasons(body: object, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        parse_request(body)


def test_page_size_limit() -> None:
    with pytest.raises(EnvelopeError, match="between 1 and 500"):
        parse_request({"data": [], "meta": {"pagination": {"pageSize": 501}}}, max_page_size=500)


def test_render_error_matches_observed_shape() -> None:
    assert render_error(lookup(401, "0004")) == {
        "meta": {"status": 401},
        "data": [],
        "fail": [
            {
                "errors": [
                    {
                        "code": "err_xdk_invalid_signature",
                        "message": "0004 Invalid Signature",
                        "retryable": False,
                    }
                ]
            }
        ],
    }
    custom = render_error(lookup(409, None, "err_domain_exists"), message="x.com exists")
    assert custom["fail"][0]["errors"][0]["message"] == "x.com exists"


def test_render_round_trip() -> None:
    fail = FailItem(
        key={"a": 1}, errors=(ErrorDetail("err_validation_blank", "blank", False, "a"),)
    )
    body = render_response([{"x": 1}], [fail], pagination=Pagination(page_size=1, next="2"))
    env = parse_response(body)
    assert env.fail == (fail,)
    assert env.pagination == Pagination(page_size=1, next="2")


def test_render_request() -> None:
    assert render_request([{"a": 1}]) == {"data": [{"a": 1}]}
    assert render_request([], page_size=10, page_token="t") == {
        "data": [],
        "meta": {"pagination": {"pageSize": 10, "pageToken": "t"}},
    }


@pytest.mark.parametrize("body", [{}, {"data": None}, {"data": []}, {"meta": {}}])
def test_a_request_without_items_reads_as_no_items(body: object) -> None:
    assert parse_request(body).data == ()


@pytest.mark.parametrize(
    ("value", "read"),
    [(True, True), (False, False), ("true", True), ("FALSE", False), (" True ", True),
     ("1", None), ("0", None), ("yes", None), ("", None), (1, None), (0, None), (None, None)],
)  # fmt: skip
def test_lenient_bool(value: object, read: bool | None) -> None:
    assert lenient_bool(value) is read


@pytest.mark.parametrize(
    ("value", "read"),
    [(5, 5), ("100", 100), (" 7 ", 7), ("+3", 3), ("-2", -2), (True, None), ("1.0", None),
     ("1e2", None), ("", None), ("-", None), ("٣", None), ("9" * 19, None), (2.0, None)],
)  # fmt: skip
def test_lenient_int(value: object, read: int | None) -> None:
    assert lenient_int(value) == read


def test_page_size_as_a_string() -> None:
    req = parse_request({"data": [], "meta": {"pagination": {"pageSize": "25"}}})
    assert req.pagination is not None and req.pagination.page_size == 25
