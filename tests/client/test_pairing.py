"""Pairing ``fail`` entries with the submitted items they answer."""

from __future__ import annotations

from mcapi._envelope import ErrorDetail, FailItem
from mcapi.client._result import pair_failures

ERROR = (ErrorDetail(code="err_validation_blank", message="blank", field="to"),)


def test_an_exact_echo_wins_over_an_earlier_item_the_key_is_part_of() -> None:
    # The key {"a": 1} is part of item 0, but item 1 is exactly it: the exact pass comes first.
    submitted = [{"a": 1, "b": 2}, {"a": 1}]
    (failure,) = pair_failures([FailItem(key={"a": 1}, errors=ERROR)], submitted)
    assert failure.index == 1
    assert failure.key == {"a": 1}


def test_a_partial_echo_pairs_with_the_item_it_is_part_of() -> None:
    submitted = [{"a": 2, "b": 2}, {"a": 1, "b": 3}]
    (failure,) = pair_failures([FailItem(key={"a": 1}, errors=ERROR)], submitted)
    assert failure.index == 1


def test_each_item_pairs_once() -> None:
    submitted = [{"a": 1}, {"a": 1}]
    entries = [FailItem(key={"a": 1}, errors=ERROR), FailItem(key={"a": 1}, errors=ERROR)]
    assert [f.index for f in pair_failures(entries, submitted)] == [0, 1]


def test_a_key_matching_nothing_stays_unpaired() -> None:
    (failure,) = pair_failures([FailItem(key={"z": 9}, errors=ERROR)], [{"a": 1}])
    assert failure.index is None and failure.key == {"z": 9}


def test_one_failure_without_key_for_one_item_is_that_item() -> None:
    (failure,) = pair_failures([FailItem(key=None, errors=ERROR)], [{"a": 1}])
    assert failure.index == 0 and failure.key == {"a": 1}


def test_failures_without_key_for_several_items_stay_unpaired() -> None:
    entries = [FailItem(key=None, errors=ERROR)]
    (failure,) = pair_failures(entries, [{"a": 1}, {"a": 2}])
    assert failure.index is None and failure.key is None


def test_an_empty_key_pairs_only_with_an_empty_item() -> None:
    (failure,) = pair_failures([FailItem(key={}, errors=ERROR)], [{"a": 1}, {}])
    assert failure.index == 1


# ---- what a failure and a result say (the JSON that ``mcapi call`` prints) -------------------


def test_an_item_error_keeps_the_platforms_retryable_flag_and_its_entry() -> None:
    errors = (
        ErrorDetail(code="err_validation_blank", message="blank", field="to", retryable=True),
    )
    (failure,) = pair_failures([FailItem(key={"a": 1}, errors=errors)], [{"a": 1}])
    assert failure.retryable is True and failure.errors[0].retryable is True
    assert failure.to_dict() == {
        "key": {"a": 1},
        "index": 0,
        "errors": [
            {
                "code": "err_validation_blank",
                "message": "blank",
                "field": "to",
                "retryable": True,
                "name": failure.errors[0].entry.name,
                "remedy": failure.errors[0].entry.remedy,
            }
        ],
    }
    assert failure.errors[0].entry.body_code == "err_validation_blank"


def test_an_item_error_with_a_sub_code_resolves_through_it() -> None:
    errors = (ErrorDetail(code="err_new", message="0010 locked"),)
    (failure,) = pair_failures([FailItem(key=None, errors=errors)], [{"a": 1}], status=401)
    assert failure.errors[0].sub_code == "0010"
    assert failure.errors[0].entry.label == "401 0010"


def test_rate_limit_headers_are_read_by_name_and_junk_is_none() -> None:
    from mcapi.client._result import RateLimit

    headers = {"x-ratelimit-limit": "100", "x-ratelimit-remaining": " 7 ", "x-ratelimit-reset": "x"}
    rate = RateLimit.from_headers(headers)
    assert rate == RateLimit(limit=100, remaining=7, reset_ms=None)
    assert rate.to_dict() == {"limit": 100, "remaining": 7, "reset_ms": None}
    assert RateLimit.from_headers({"other": "1"}) is None


def test_a_result_as_json_has_every_field() -> None:
    from mcapi.client._result import RateLimit, Result

    (failure,) = pair_failures([FailItem(key={"a": 2}, errors=ERROR)], [{"a": 1}, {"a": 2}])
    result = Result(
        path="/api/x",
        status=200,
        data=({"a": 1},),
        failures=(failure,),
        meta={"status": 200},
        request_id="R-1",
        rate_limit=RateLimit(10, 9, 1000),
        attempts=2,
        submitted=({"a": 1}, {"a": 2}),
    )
    assert result.to_dict() == {
        "path": "/api/x",
        "status": 200,
        "data": [{"a": 1}],
        "fail": [failure.to_dict()],
        "meta": {"status": 200},
        "request_id": "R-1",
        "rate_limit": {"limit": 10, "remaining": 9, "reset_ms": 1000},
        "attempts": 2,
    }
    assert result.partial and not result.ok
    bare = Result(path="/api/x", status=200, data=(), failures=())
    assert bare.to_dict()["rate_limit"] is None and bare.ok
