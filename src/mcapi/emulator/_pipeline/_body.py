"""Reading a request body the way the platform does: strict JSON, else a Python literal.

The vendor's own API 1.0 sample posts ``requests.post(url, data=str(payload))``: the body is a
Python dict literal (single quotes, ``True``/``False``/``None``), and integrations shipped that form
for years against the platform (docs/emulator.md, "What the emulator accepts"). So a body that is
not JSON gets a second reading by :func:`ast.literal_eval`, which evaluates literals only (never
names, calls or attributes: nothing runs). It is bounded in size and its value must be made of
the JSON types; anything else stays ``400 err_request_malformed``.

The strict reading comes first and decides every body an ordinary client sends, so the literal
parser costs nothing on the hot path. An empty body reads as ``{}``: integrations post nothing to
functions whose fields are all optional. The ``Content-Type`` header is never consulted; the
platform answers bodies sent without one (the emulator's reading of what integrations send).
"""

from __future__ import annotations

import ast
import math
from typing import Any

import orjson

__all__ = ["LITERAL_MAX_BYTES", "MAX_BODY_BYTES", "MAX_REQUEST_ITEMS", "BodyError", "decode_body"]

#: The largest body the emulator reads; a larger one is answered 413 err_request_too_large without
#: reading on (the emulator's own bound: the platform documents none).
MAX_BODY_BYTES = 10 * 1024 * 1024
#: The most items one request's ``data`` may hold, whatever the function (413 beyond; functions
#: with a documented lower limit fail every item instead, as the platform does). The emulator's
#: own bound: it keeps one call from holding a worker for seconds and answering megabytes.
MAX_REQUEST_ITEMS = 1000

#: The largest body the literal parser reads (the emulator's own bound: a literal body is an
#: integration's small request, and parsing Python source costs far more than JSON).
LITERAL_MAX_BYTES = 256 * 1024
#: Deepest nesting of a literal value (JSON bodies of the API are a few levels deep).
_MAX_DEPTH = 32


class BodyError(ValueError):
    """A body that neither reading accepts; the message says why, for the 400's reason."""


def decode_body(body: bytes) -> Any:
    """The body's value: strict JSON, else a Python literal of JSON types; ``{}`` when empty."""
    try:
        return orjson.loads(body)
    except ValueError as exc:  # orjson.JSONDecodeError, invalid UTF-8 included
        if not body.strip():
            return {}
        strict = exc.__class__.__name__
    if len(body) > LITERAL_MAX_BYTES:
        raise BodyError(
            f"the body is not JSON ({strict}) and, at {len(body)} bytes, too large to read as a "
            f"Python literal (at most {LITERAL_MAX_BYTES})"
        )
    try:
        text = body.decode("utf-8")
        value = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        # SyntaxError covers a text that is not Python; ValueError a non-literal node, a NUL
        # byte or invalid UTF-8; RecursionError a deeply nested one.
        raise BodyError(f"the body is neither JSON ({strict}) nor a Python literal") from None
    reason = _not_json_typed(value, 0)
    if reason is not None:
        raise BodyError(f"the body is a Python literal, but {reason}")
    return value


def _not_json_typed(value: Any, depth: int) -> str | None:
    """Why ``value`` is not made of dict/list/str/int/float/bool/None, or ``None`` when it is."""
    if depth > _MAX_DEPTH:
        return f"nested deeper than {_MAX_DEPTH} levels"
    if value is None or isinstance(value, str | bool):
        return None
    if isinstance(value, int):
        # orjson's range: a larger number would overflow the database's integer columns
        return None if -(2**63) <= value < 2**64 else "it holds a number too large"
    if isinstance(value, float):
        return None if math.isfinite(value) else "it holds a number JSON cannot write"
    if isinstance(value, list):
        for element in value:
            reason = _not_json_typed(element, depth + 1)
            if reason is not None:
                return reason
        return None
    if isinstance(value, dict):
        for key, element in value.items():
            if not isinstance(key, str):
                return "a key is not a string"
            reason = _not_json_typed(element, depth + 1)
            if reason is not None:
                return reason
        return None
    return f"it holds a {type(value).__name__}, which JSON has not"
