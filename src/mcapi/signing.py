"""Signing API 1.0 calls by hand: the headers, the login header, and their parsers.

For code that calls the platform (or the emulator) with its own HTTP library::

    from mcapi.signing import format_date, new_request_id, signed_headers

    headers = signed_headers(
        access_key=..., secret_key=..., app_id=..., app_key=...,
        path="/api/account/get-account", date=format_date(time.time()),
        request_id=new_request_id(),
    )

The mcapi client signs every attempt by itself; this module is for everything else. Malformed
input raises :class:`~mcapi.LocalProtocolError` (a ``ValueError``).
"""

from mcapi._signing import (
    LOGIN_AUTH_TYPES,
    LoginCredentials,
    LoginHeaderError,
    MCAuthorization,
    build_authorization,
    build_login_header,
    data_to_sign,
    decode_secret_key,
    format_date,
    new_request_id,
    parse_authorization,
    parse_date,
    parse_login_header,
    sign,
    signed_headers,
    verify,
)

__all__ = [
    "LOGIN_AUTH_TYPES",
    "LoginCredentials",
    "LoginHeaderError",
    "MCAuthorization",
    "build_authorization",
    "build_login_header",
    "data_to_sign",
    "decode_secret_key",
    "format_date",
    "new_request_id",
    "parse_authorization",
    "parse_date",
    "parse_login_header",
    "sign",
    "signed_headers",
    "verify",
]
