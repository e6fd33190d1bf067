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
