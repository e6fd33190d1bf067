"""Checks 4-6: are credentials present, are the developer headers set, is the realm MC?"""

from __future__ import annotations

from mcapi._errors import ProtocolError
from mcapi._signing import parse_authorization
from mcapi.emulator._pipeline._call import Call, Verdict, refuse

DEVELOPER_HEADERS = ("x-mc-date", "x-mc-req-id", "x-mc-app-id")


def check_credentials_present(call: Call) -> Verdict | None:
    if not call.headers.get("authorization", "").strip():
        return refuse("credentials", "no Authorization header", 400, "0001")
    return None


def check_developer_headers(call: Call) -> Verdict | None:
    missing = [h for h in DEVELOPER_HEADERS if not call.headers.get(h, "").strip()]
    if missing:
        return refuse(
            "headers", f"missing header{'s' if len(missing) > 1 else ''}: {', '.join(missing)}",
            400, None, "err_developer_key",
        )  # fmt: skip
    return None


def check_app_id(call: Call) -> Verdict | None:
    """Login and discovery need only ``x-mc-app-id``: the platform exempts them from the signing
    headers (x-mc-date, x-mc-req-id), and integrations call them without."""
    if not call.headers.get("x-mc-app-id", "").strip():
        return refuse("headers", "missing header: x-mc-app-id", 400, None, "err_developer_key")
    return None


def check_realm(call: Call) -> Verdict | None:
    header = call.headers["authorization"].strip()
    realm = header.split(None, 1)[0]
    if realm != "MC":
        # never echo the header: it may be a credential of another scheme
        return refuse("realm", f"Authorization realm is not MC ({len(realm)} characters)", 401,
                      "0005")  # fmt: skip
    try:
        call.signed = parse_authorization(header)
    except ProtocolError:
        return refuse("realm", "Authorization is not 'MC accessKey:signature'", 401, "0005")
    return None
