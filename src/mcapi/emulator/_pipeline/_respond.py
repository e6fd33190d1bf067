"""The one renderer: any verdict or function result becomes bytes, status and headers.

It only formats: the quota decision its ``X-RateLimit-*`` headers report was settled on the call
by the access step (``_access.settle_rate``), so rendering never reads or spends a token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from mcapi._envelope import render_error, render_response
from mcapi.emulator._pipeline._call import Call, Verdict
from mcapi.emulator.functions._registry import FunctionResult

_JSON = "application/json"
_JSON_TYPE = (b"content-type", _JSON.encode())
_NAMES: dict[str, bytes] = {}


def _name(header: str) -> bytes:
    encoded = _NAMES.get(header)
    if encoded is None:
        encoded = _NAMES[header] = header.lower().encode("latin-1")
    return encoded


def dumps(document: Any) -> bytes:
    """Compact UTF-8 JSON; orjson for speed (every answer passes here), the standard library for
    the rare value orjson refuses (an integer beyond 64 bits)."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def verdict_body(verdict: Verdict) -> bytes:
    return dumps(render_error(verdict.entry, message=verdict.message, retryable=verdict.retryable))


def result_body(result: FunctionResult) -> bytes:
    return dumps(
        render_response(
            result.data, result.fail, pagination=result.pagination, extra_meta=result.extra_meta
        )
    )


def json_headers(call: Call, body: bytes) -> list[tuple[bytes, bytes]]:
    """The headers of a JSON answer without extra headers: the common case, built directly."""
    limits = call.rate.header_pairs() if call.rate is not None else []
    return [_JSON_TYPE, *limits, (b"content-length", b"%d" % len(body))]


def rate_headers(call: Call) -> dict[str, str]:
    """``X-RateLimit-*`` of the call's settled decision (none only when settling it failed)."""
    return call.rate.headers() if call.rate is not None else {}


def header_list(headers: Mapping[str, str], content_type: str = _JSON) -> list[tuple[bytes, bytes]]:
    first = (
        _JSON_TYPE if content_type == _JSON else (b"content-type", content_type.encode("latin-1"))
    )
    return [
        first,
        *[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
    ]
