"""Request signing and the login header, as pure functions.

A signed API 1.0 call carries four headers: ``x-mc-date``, ``x-mc-req-id``, ``x-mc-app-id`` and
``Authorization: MC <accessKey>:<signature>``, where the signature is
``base64(HMAC-SHA1(base64decode(secretKey), "<x-mc-date>:<x-mc-req-id>:<path>:<appKey>"))``.
The application key is only ever used inside the data to sign; it is never sent.

Login instead sends ``Authorization: Basic-Cloud base64(user:password)`` (or ``Basic-AD``).

Nothing here reads a clock or a socket: the date is passed in.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

from mcapi._errors import LocalProtocolError

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

#: Login header schemes and the auth type each stands for.
LOGIN_AUTH_TYPES = {"Basic-Cloud": "cloud", "Basic-AD": "domain"}

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(moment: datetime | float) -> str:
    """``Tue, 24 Nov 2015 12:50:11 UTC``, locale-independent."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, tz=UTC)
    elif moment.tzinfo is None:
        raise LocalProtocolError("x-mc-date needs an aware datetime (naive times are ambiguous)")
    moment = moment.astimezone(UTC)
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} UTC"
    )


_MONTH_NUMBERS = {name: number for number, name in enumerate(_MONTHS, start=1)}


@lru_cache(maxsize=256)
def _parse_documented(text: str) -> datetime | None:
    """The documented form ``Tue, 24 Nov 2015 12:50:11 UTC`` (or ``GMT``), parsed without the
    general RFC 2822 machinery: every signed call arrives with one, and the calls of one second
    carry the same text (hence the cache)."""
    parts = text.split(" ")
    if len(parts) != 6 or parts[5] not in ("UTC", "GMT") or len(parts[4]) != 8:
        return None
    month = _MONTH_NUMBERS.get(parts[2])
    clock = parts[4]
    if month is None or clock[2] != ":" or clock[5] != ":":
        return None
    try:
        return datetime(
            int(parts[3]), month, int(parts[1]), int(clock[:2]), int(clock[3:5]), int(clock[6:]),
            tzinfo=UTC,
        )  # fmt: skip
    except (ValueError, OverflowError):  # OverflowError: a number past a C int (a 20-digit year)
        return None


def parse_date(value: str) -> datetime:
    """Parse an ``x-mc-date`` (``... UTC`` as documented; ``GMT`` and RFC 1123 offsets too)."""
    text = value.strip()
    fast = _parse_documented(text)
    if fast is not None:
        return fast
    if text.endswith(" UTC"):
        text = text[:-4] + " GMT"
    try:
        parsed = parsedate_to_datetime(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError) as exc:
        raise LocalProtocolError(
            f"x-mc-date {value!r} is not a date like 'Tue, 24 Nov 2015 12:50:11 UTC'"
        ) from exc
    if parsed.tzinfo is None:
        raise LocalProtocolError(f"x-mc-date {value!r} has no time zone (expected UTC)")
    return parsed


def new_request_id() -> str:
    """A fresh ``x-mc-req-id``: a random (version 4) GUID in upper case, as the documentation
    shows. Spelt out rather than ``str(uuid.uuid4()).upper()``, which costs twice as much on every
    attempt."""
    h = os.urandom(16).hex().upper()
    variant = "89AB"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


@lru_cache(maxsize=4096)
def _decoded(secret_key: str) -> bytes:
    # Every signed call verifies with its binding's key: decode each key once. Bad keys raise and
    # are not cached.
    return base64.b64decode(secret_key.strip(), validate=True)


def decode_secret_key(secret_key: str) -> bytes:
    """The HMAC key: the base64-decoded secret key. Raises :class:`~mcapi.LocalProtocolError` when
    the key is not base64 (the usual cause: the access key pasted in its place, or a truncated
    copy)."""
    try:
        key = _decoded(secret_key)
    except (binascii.Error, ValueError) as exc:
        raise LocalProtocolError(
            "the secret key is not valid base64; copy it again from where the binding was "
            "created (it is not the access key)"
        ) from exc
    if not key:
        raise LocalProtocolError("the secret key is empty")
    return key


def data_to_sign(date: str, request_id: str, path: str, app_key: str) -> str:
    """``x-mc-date:x-mc-req-id:path:appKey``; ``path`` is the bare path, without host or query."""
    return f"{date}:{request_id}:{path}:{app_key}"


def sign(secret_key: str | bytes, date: str, request_id: str, path: str, app_key: str) -> str:
    """The base64 HMAC-SHA1 signature of a call. ``secret_key`` is the base64 text, or the
    already decoded key bytes."""
    key = secret_key if isinstance(secret_key, bytes) else decode_secret_key(secret_key)
    digest = hmac.digest(key, data_to_sign(date, request_id, path, app_key).encode("utf-8"), "sha1")
    return base64.b64encode(digest).decode("ascii")


def verify(
    secret_key: str | bytes, date: str, request_id: str, path: str, app_key: str, signature: str
) -> bool:
    """Whether ``signature`` is right, compared in constant time."""
    expected = sign(secret_key, date, request_id, path, app_key)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace"))


def build_authorization(access_key: str, signature: str) -> str:
    """``MC accessKey:signature``."""
    return f"MC {access_key}:{signature}"


@dataclass(frozen=True, slots=True)
class MCAuthorization:
    """A parsed ``Authorization`` header of a signed call."""

    realm: str
    access_key: str
    signature: str


def parse_authorization(header: str) -> MCAuthorization:
    """Split ``MC accessKey:signature``. Raises :class:`~mcapi.LocalProtocolError` naming what is
    wrong.

    The realm is returned as sent; whether it is ``MC`` is the caller's check (the platform answers
    401 0005 for another realm, which is a different error from a malformed header).
    """
    realm, _, credentials = header.strip().partition(" ")
    if not realm or not credentials:
        raise LocalProtocolError("the Authorization header is not '<realm> accessKey:signature'")
    access_key, sep, signature = credentials.strip().partition(":")
    if not sep or not access_key or not signature:
        raise LocalProtocolError("the Authorization header is not 'MC accessKey:signature'")
    return MCAuthorization(realm=realm, access_key=access_key, signature=signature)


def signed_headers(
    *,
    access_key: str,
    secret_key: str | bytes,
    app_id: str,
    app_key: str,
    path: str,
    date: str,
    request_id: str,
) -> dict[str, str]:
    """All four headers of a signed call."""
    signature = sign(secret_key, date, request_id, path, app_key)
    return {
        "x-mc-date": date,
        "x-mc-req-id": request_id,
        "x-mc-app-id": app_id,
        "Authorization": build_authorization(access_key, signature),
    }


@dataclass(frozen=True, slots=True)
class LoginCredentials:
    """A parsed login header. ``auth_type`` is ``"cloud"`` or ``"domain"``."""

    scheme: str
    auth_type: str
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password
        return f"LoginCredentials(scheme={self.scheme!r}, username={self.username!r})"


def build_login_header(auth_type: str, username: str, password: str) -> str:
    """``Basic-Cloud base64(user:password)`` for ``auth_type`` ``"cloud"`` (or ``"Basic-Cloud"``),
    ``Basic-AD ...`` for ``"domain"``."""
    scheme = _login_scheme(auth_type)
    if not username or not password:
        raise LocalProtocolError("logging in needs both a user name and a password")
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"{scheme} {token}"


def _login_scheme(auth_type: str) -> str:
    for scheme, kind in LOGIN_AUTH_TYPES.items():
        if auth_type.lower() in (scheme.lower(), kind):
            return scheme
    raise LocalProtocolError(f"unknown auth type {auth_type!r}; use 'cloud' or 'domain'")


class LoginHeaderError(LocalProtocolError):
    """A login header that cannot be used. ``missing_parts`` tells a header without user or
    password (401 0001) from one of another scheme."""

    def __init__(self, message: str, *, missing_parts: bool) -> None:
        super().__init__(message)
        self.missing_parts = missing_parts


def parse_login_header(header: str) -> LoginCredentials:
    """Parse ``Basic-Cloud|Basic-AD base64(user:password)``."""
    scheme, _, token = header.strip().partition(" ")
    matched = next((s for s in LOGIN_AUTH_TYPES if s.lower() == scheme.lower()), None)
    if matched is None:
        raise LoginHeaderError(  # the header is not echoed: it holds a credential
            "login needs the scheme Basic-Cloud/Basic-AD", missing_parts=False
        )
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise LoginHeaderError(
            "the login header's credentials are not base64(user:password)", missing_parts=True
        ) from exc
    username, sep, password = decoded.partition(":")
    if not sep or not username.strip() or not password:
        raise LoginHeaderError(
            "the login header lacks a user name or a password", missing_parts=True
        )
    return LoginCredentials(
        scheme=matched,
        auth_type=LOGIN_AUTH_TYPES[matched],
        username=username.strip(),
        password=password,
    )
