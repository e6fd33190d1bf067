"""Checks 1-3: is this a function, called with POST, with a request envelope?"""

from __future__ import annotations

from mcapi._envelope import EnvelopeError, parse_request
from mcapi.emulator._pipeline._body import MAX_BODY_BYTES, MAX_REQUEST_ITEMS, BodyError, decode_body
from mcapi.emulator._pipeline._call import Call, Verdict, refuse


def check_route(call: Call) -> Verdict | None:
    spec = call.state.functions.get(call.path)
    if spec is None:
        return refuse("route", f"no function at {call.path}", 404, None, "err_not_found")
    call.spec = spec
    return None


def check_method(call: Call) -> Verdict | None:
    if call.method != "POST":
        return refuse(
            "method", f"{call.method} is not allowed; API 1.0 takes POST", 405, None,
            "err_method_not_allowed",
        )  # fmt: skip
    return None


def check_body(call: Call) -> Verdict | None:
    try:
        document = decode_body(call.body)
    except BodyError as exc:
        return _malformed(str(exc))
    data = document.get("data") if isinstance(document, dict) else None
    if isinstance(data, list) and len(data) > MAX_REQUEST_ITEMS:
        return too_large(
            f"data holds {len(data)} items; the emulator reads at most {MAX_REQUEST_ITEMS}"
        )
    try:
        call.request = parse_request(
            document,
            max_page_size=call.spec.max_page_size if call.spec and call.spec.paginated else None,
        )
    except EnvelopeError as exc:
        return _malformed(str(exc))
    return None


def _malformed(reason: str) -> Verdict:
    verdict = refuse("body", reason, 400, None, "err_request_malformed")
    return Verdict(verdict.entry, verdict.check, reason, message=f"Bad Request: {reason}")


def too_large(reason: str) -> Verdict:
    """413 err_request_too_large; the connection is closed after the answer (a body the emulator
    stopped reading must not be taken for the next request)."""
    verdict = refuse("body", reason, 413, None, "err_request_too_large")
    return Verdict(
        verdict.entry, verdict.check, reason, message=f"Payload Too Large: {reason}",
        headers={"connection": "close"},
    )  # fmt: skip


def body_too_large(declared: int | None) -> Verdict:
    """The verdict on a body the emulator stopped reading at ``MAX_BODY_BYTES``."""
    size = f"of {declared} bytes" if declared is not None else "longer than that"
    return too_large(f"the body is {size}; the emulator reads at most {MAX_BODY_BYTES} bytes")
