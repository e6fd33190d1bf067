"""The second reading of a body (a Python literal): it returns JSON-typed values or refuses, for
any input; nothing it is given is run, and bodies past its size bound are refused."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcapi.emulator._pipeline._body import LITERAL_MAX_BYTES, BodyError, decode_body
from tests.fidelity.conftest import Site, code_of

json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=15,
)  # fmt: skip
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.binary(max_size=4) | st.complex_numbers(),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(
        st.integers() | st.text(max_size=4), inner, max_size=3) | st.frozensets(st.integers()),
    max_leaves=10,
)  # fmt: skip


def is_json_typed(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(map(is_json_typed, value))
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_typed(v) for k, v in value.items())
    return False


@settings(max_examples=300, deadline=None)
@given(json_like)
def test_a_literal_of_json_values_reads_as_that_value(value: Any) -> None:
    assert decode_body(repr(value).encode()) == value


@settings(max_examples=300, deadline=None)
@given(anything)
def test_any_literal_is_read_only_when_it_is_made_of_json_types(value: Any) -> None:
    text = repr(value).encode()
    try:
        read = decode_body(text)
    except BodyError:
        return
    assert is_json_typed(read)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_are_read_or_refused_with_a_reason(body: bytes) -> None:
    try:
        read = decode_body(body)
    except BodyError as exc:
        reason = str(exc)
    else:
        reason = "" if is_json_typed(read) else f"read as {read!r}"
        assert not reason, reason
        return
    assert reason.startswith("the body")


@pytest.mark.parametrize(
    "text",
    ["(" * 500 + ")" * 500, "[" * 100_000, "{'a': " * 5_000, "9" * 5_000, "'" + "\\" * 3,
     "{'data': [x for x in ()]}", "{**{}}", "f'{1}'", "{'a': 1} and 2"],
)  # fmt: skip
def test_hostile_literals_are_refused(text: str) -> None:
    with pytest.raises(BodyError):
        decode_body(text.encode())


def test_the_size_bound() -> None:
    at_bound = "{'a': '" + "x" * (LITERAL_MAX_BYTES - 9) + "'}"
    assert len(at_bound) == LITERAL_MAX_BYTES  # the bound itself is read
    assert decode_body(at_bound.encode()) == {"a": "x" * (LITERAL_MAX_BYTES - 9)}
    with pytest.raises(BodyError, match="too large"):
        decode_body(("{'a': '" + "x" * LITERAL_MAX_BYTES + "'}").encode())


@pytest.mark.parametrize("size", [LITERAL_MAX_BYTES + 1, 4 * 2**20])
def test_served_bodies_past_the_bound_stay_400(shared_site: Site, size: int) -> None:
    body = "{'data': [{'pad': '" + "x" * size + "'}]}"
    response = shared_site.call("/api/ttp/url/get-logs", body)
    assert code_of(response) == "400 err_request_malformed"
